using Microsoft.Extensions.Logging;

namespace Reconciliation.Redis;

/// <summary>The Redis adapter's log messages (event ids 200–299). Never a connection string, password or key value.</summary>
internal static partial class Log
{
    [LoggerMessage(200, LogLevel.Information, "Redis resource {Resource}: admin connection built ({Source})", EventName = "AdminConnectionBuilt")]
    public static partial void AdminConnectionBuilt(this ILogger logger, string resource, string source);

    [LoggerMessage(201, LogLevel.Warning, "Redis resource {Resource} refused the admin command {Command}: {Reason}. The probe reports it unavailable (probe.failed = 1); this says nothing about the cache's health. Allow the command (rename-command, ACL) or give the adapter an admin connection that may run it", EventName = "AdminCommandRefused")]
    public static partial void AdminCommandRefused(this ILogger logger, string resource, string command, string reason);

    [LoggerMessage(202, LogLevel.Information, "Redis resource {Resource}: counters reset ({Cause}); rates and the hit ratio restart from this reading", EventName = "CountersReset")]
    public static partial void CountersReset(this ILogger logger, string resource, string cause);

    [LoggerMessage(203, LogLevel.Information, "Redis resource {Resource}: CONFIG SET {Parameter} from {Old} to {New}", EventName = "ConfigSet")]
    public static partial void ConfigSet(this ILogger logger, string resource, string parameter, string old, string @new);

    [LoggerMessage(204, LogLevel.Warning, "Redis resource {Resource}: redis.set-policy cannot act: {Reason}", EventName = "SetPolicyRefused")]
    public static partial void SetPolicyRefused(this ILogger logger, string resource, string reason);

    [LoggerMessage(205, LogLevel.Information, "Redis resource {Resource}: rebuilt the {Connection} connection", EventName = "ConnectionRebuilt")]
    public static partial void ConnectionRebuilt(this ILogger logger, string resource, string connection);

    [LoggerMessage(206, LogLevel.Warning, "Redis resource {Resource}: rebuilding the {Connection} connection failed: {Reason}", EventName = "ConnectionRebuildFailed")]
    public static partial void ConnectionRebuildFailed(this ILogger logger, string resource, string connection, string reason);

    [LoggerMessage(207, LogLevel.Warning, "Redis resource {Resource}: unlinked {Count} keys under prefix {Prefix} in {Batches} batches (complete: {Complete})", EventName = "PrefixEvicted")]
    public static partial void PrefixEvicted(this ILogger logger, string resource, long count, string prefix, int batches, bool complete);

    [LoggerMessage(208, LogLevel.Information, "Redis resource {Resource}: the admin command {Command} is allowed again", EventName = "AdminCommandAllowed")]
    public static partial void AdminCommandAllowed(this ILogger logger, string resource, string command);

    [LoggerMessage(209, LogLevel.Warning, "Redis resource {Resource}: redis.set-policy stops: {Reason}", EventName = "SetPolicyConflict")]
    public static partial void SetPolicyConflict(this ILogger logger, string resource, string reason);

    [LoggerMessage(210, LogLevel.Warning, "Redis resource {Resource}: redis.evict-prefix refuses to sweep the cluster: {Reason}", EventName = "EvictPrefixClusterRefused")]
    public static partial void EvictPrefixClusterRefused(this ILogger logger, string resource, string reason);

    [LoggerMessage(211, LogLevel.Information, "Redis coordination: connected as client {ClientName}", EventName = "CoordinationConnected")]
    public static partial void CoordinationConnected(this ILogger logger, string clientName);
}
