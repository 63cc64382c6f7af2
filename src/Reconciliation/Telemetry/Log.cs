using Microsoft.Extensions.Logging;

namespace Reconciliation;

/// <summary>The core package's log messages (event ids 1–99): one line per state change, none per healthy tick.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Warning, "Violation opened: rule {Rule} on {Resource}: {Signal} = {Observed} (limit {Limit}, severity {Severity})", EventName = "ViolationOpened")]
    public static partial void ViolationOpened(this ILogger logger, string rule, string resource, string signal, double observed, double limit, RuleSeverity severity);

    [LoggerMessage(2, LogLevel.Information, "Violation closed: rule {Rule} on {Resource}: {Signal} = {Observed} after {Duration}", EventName = "ViolationClosed")]
    public static partial void ViolationClosed(this ILogger logger, string rule, string resource, string signal, double observed, TimeSpan duration);

    [LoggerMessage(3, LogLevel.Information, "Healing rule {Rule} on {Resource} with {Healer} (attempt {Attempt})", EventName = "HealStarted")]
    public static partial void HealStarted(this ILogger logger, string rule, string resource, string healer, int attempt);

    [LoggerMessage(4, LogLevel.Information, "Heal succeeded: {Healer} on {Resource} for rule {Rule}; the violation closed", EventName = "HealSucceeded")]
    public static partial void HealSucceeded(this ILogger logger, string healer, string resource, string rule);

    [LoggerMessage(5, LogLevel.Warning, "Heal failed: {Healer} on {Resource} for rule {Rule} (attempt {Attempt}): {Reason}", EventName = "HealFailed")]
    public static partial void HealFailed(this ILogger logger, string healer, string resource, string rule, int attempt, string? reason);

    [LoggerMessage(6, LogLevel.Information, "Heal skipped: {Healer} on {Resource} for rule {Rule}: {Reason}", EventName = "HealSkipped")]
    public static partial void HealSkipped(this ILogger logger, string healer, string resource, string rule, string? reason);

    [LoggerMessage(7, LogLevel.Warning, "Dry run: would {Plan} for rule {Rule} (healer {Healer}, attempt {Attempt})", EventName = "HealDryRun")]
    public static partial void HealDryRun(this ILogger logger, string plan, string rule, string healer, int attempt);

    [LoggerMessage(8, LogLevel.Error, "Violation exhausted: rule {Rule} on {Resource}: {Reason}; it stays open until {Signal} clears", EventName = "ViolationExhausted")]
    public static partial void ViolationExhausted(this ILogger logger, string rule, string resource, string signal, string reason);

    [LoggerMessage(9, LogLevel.Error, "Heal budget spent: {Count} heals within {Window}; healing paused until {Until}", EventName = "HealingPaused")]
    public static partial void HealingPaused(this ILogger logger, int count, TimeSpan window, DateTimeOffset until);

    [LoggerMessage(10, LogLevel.Warning, "Probe {Probe} for {Resource} failed: {Reason}", EventName = "ProbeFailed")]
    public static partial void ProbeFailed(this ILogger logger, string probe, string resource, string reason);

    [LoggerMessage(11, LogLevel.Information, "Probe {Probe} for {Resource} answers again", EventName = "ProbeRecovered")]
    public static partial void ProbeRecovered(this ILogger logger, string probe, string resource);

    [LoggerMessage(26, LogLevel.Warning, "Probe {Probe} for {Resource} is declared Inline but its call took {Took}; it runs on the thread pool from now on, so it can no longer hold up the tick", EventName = "InlineProbeTooSlow")]
    public static partial void InlineProbeTooSlow(this ILogger logger, string probe, string resource, TimeSpan took);

    [LoggerMessage(12, LogLevel.Error, "Reconciliation tick failed unexpectedly; the loop goes on", EventName = "TickFailed")]
    public static partial void TickFailed(this ILogger logger, Exception exception);

    [LoggerMessage(13, LogLevel.Error, "Configuration reload rejected; the previous configuration keeps running: {Errors}", EventName = "ReloadRejected")]
    public static partial void ReloadRejected(this ILogger logger, string errors);

    [LoggerMessage(14, LogLevel.Information, "Configuration reloaded: {RuleCount} rules active", EventName = "Reloaded")]
    public static partial void Reloaded(this ILogger logger, int ruleCount);

    [LoggerMessage(15, LogLevel.Information, "Reconciliation started: {ProbeCount} probes, {SignalCount} signals, {RuleCount} rules, every {Interval}", EventName = "Started")]
    public static partial void Started(this ILogger logger, int probeCount, int signalCount, int ruleCount, TimeSpan interval);

    [LoggerMessage(16, LogLevel.Warning, "Heal of {Resource} by {Healer} not started: the shared-resource lease is held elsewhere", EventName = "LeaseHeld")]
    public static partial void LeaseHeld(this ILogger logger, string resource, string healer);

    [LoggerMessage(17, LogLevel.Information, "Healing resumed after the heal budget pause", EventName = "HealingResumed")]
    public static partial void HealingResumed(this ILogger logger);

    [LoggerMessage(18, LogLevel.Warning, "Event subscriber threw; ignored", EventName = "SubscriberFailed")]
    public static partial void SubscriberFailed(this ILogger logger, Exception exception);

    [LoggerMessage(20, LogLevel.Information, "Violation of rule {Rule} on {Resource} dropped: {Reason}", EventName = "ViolationDropped")]
    public static partial void ViolationDropped(this ILogger logger, string rule, string resource, string reason);

    [LoggerMessage(21, LogLevel.Error, "The heal journal or lease failed to {Operation}: {Reason}", EventName = "JournalFailed")]
    public static partial void JournalFailed(this ILogger logger, string operation, string reason);

    [LoggerMessage(22, LogLevel.Warning, "Healing stopped for this tick at its deadline: the heal journal or lease answered too slowly", EventName = "HealDeadlineReached")]
    public static partial void HealDeadlineReached(this ILogger logger);

    [LoggerMessage(23, LogLevel.Warning, "A late record of {Healer} on {Resource} (lease token {Token}) was refused: a later lease holder superseded it ({Reason})", EventName = "HealRecordFenced")]
    public static partial void HealRecordFenced(this ILogger logger, string healer, string resource, long token, string reason);

    [LoggerMessage(24, LogLevel.Error, "The rule-state store failed to {Operation}: {Reason}", EventName = "RuleStateFailed")]
    public static partial void RuleStateFailed(this ILogger logger, string operation, string reason);

    [LoggerMessage(25, LogLevel.Information, "Resumed {Open} open violations and {Pending} breaching rules saved by replica {Replica} before its restart", EventName = "RuleStateResumed")]
    public static partial void RuleStateResumed(this ILogger logger, int open, int pending, string replica);

    [LoggerMessage(60, LogLevel.Warning, "Heartbeat file {Path} could not be written: {Reason}; an exec probe reading its age will fail", EventName = "HeartbeatFileFailed")]
    public static partial void HeartbeatFileFailed(this ILogger logger, string path, string reason);

    [LoggerMessage(61, LogLevel.Information, "Heartbeat file {Path} is written again", EventName = "HeartbeatFileRecovered")]
    public static partial void HeartbeatFileRecovered(this ILogger logger, string path);

    [LoggerMessage(62, LogLevel.Information, "The {Probe} port {Port} accepts connections", EventName = "ProbePortOpened")]
    public static partial void ProbePortOpened(this ILogger logger, string probe, int port);

    [LoggerMessage(63, LogLevel.Warning, "The {Probe} port {Port} is closed: the process is not {Probe} now", EventName = "ProbePortClosed")]
    public static partial void ProbePortClosed(this ILogger logger, string probe, int port);

    [LoggerMessage(64, LogLevel.Warning, "The {Probe} port {Port} could not be opened: {Reason}", EventName = "ProbePortFailed")]
    public static partial void ProbePortFailed(this ILogger logger, string probe, int port, string reason);
}
