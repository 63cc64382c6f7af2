using Microsoft.Extensions.Logging;

namespace Reconciliation;

/// <summary>The operator controls' log messages (event ids 40–49).</summary>
internal static partial class ControlLog
{
    [LoggerMessage(40, LogLevel.Warning, "Silence {Id} added by {Owner} until {EndsAt}: rule {Rule}, resource {Resource}, healer {Healer} ({Reason})", EventName = "SilenceAdded")]
    public static partial void SilenceAdded(this ILogger logger, string id, string owner, string endsAt, string rule, string resource, string healer, string reason);

    [LoggerMessage(41, LogLevel.Information, "Silence {Id} ({Owner}: {Reason}) ends at {EndsAt}", EventName = "SilenceExpiring")]
    public static partial void SilenceExpiring(this ILogger logger, string id, string owner, string reason, string endsAt);

    [LoggerMessage(42, LogLevel.Warning, "Silence {Id} ({Owner}: {Reason}) ended; its violations may be healed again", EventName = "SilenceExpired")]
    public static partial void SilenceExpired(this ILogger logger, string id, string owner, string reason);

    [LoggerMessage(43, LogLevel.Warning, "Proposed: {Healer} on {Resource} for rule {Rule} (proposal {Id}, expires {ExpiresAt}); it runs only after approval", EventName = "HealProposed")]
    public static partial void HealProposed(this ILogger logger, string healer, string resource, string rule, string id, string expiresAt);

    [LoggerMessage(44, LogLevel.Warning, "Proposal {Id} ({Healer} on {Resource}) {Decision}", EventName = "ProposalDecided")]
    public static partial void ProposalDecided(this ILogger logger, string id, string healer, string resource, string decision);

    [LoggerMessage(45, LogLevel.Warning, "Rule {Rule} on {Resource} is flapping ({Detail}): its heals are muted until {Until}", EventName = "RuleFlapping")]
    public static partial void RuleFlapping(this ILogger logger, string rule, string resource, string detail, string until);

    [LoggerMessage(46, LogLevel.Warning, "Healing {Change} by {By}: {Reason}", EventName = "OperatorPause")]
    public static partial void OperatorPause(this ILogger logger, string change, string by, string reason);

    [LoggerMessage(47, LogLevel.Error, "The control store failed to {Operation}: {Reason}; the last known silences, proposals and pause stay in force", EventName = "ControlStoreFailed")]
    public static partial void ControlStoreFailed(this ILogger logger, string operation, string reason);
}
