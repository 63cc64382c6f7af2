using Microsoft.Extensions.Logging;

namespace Reconciliation.PgBouncer.Telemetry;

/// <summary>The PgBouncer package's log messages (event ids 500–599). Never a connection string or password.</summary>
internal static partial class Log
{
    [LoggerMessage(500, LogLevel.Warning, "PgBouncer {Resource}: RECONNECT issued; server connections of the database close once released and are opened afresh", EventName = "Reconnected")]
    public static partial void Reconnected(this ILogger logger, string resource);

    [LoggerMessage(501, LogLevel.Warning, "PgBouncer {Resource}: KILL issued (every client and server connection of the database dropped), then RESUME", EventName = "Killed")]
    public static partial void Killed(this ILogger logger, string resource);

    [LoggerMessage(502, LogLevel.Warning, "PgBouncer {Resource}: RESUME issued; the database takes connections again", EventName = "Resumed")]
    public static partial void Resumed(this ILogger logger, string resource);

    [LoggerMessage(503, LogLevel.Information, "PgBouncer {Pooler}: migration gate for database {Database} says {Verdict}: {Reasons}", EventName = "MigrationGateChecked")]
    public static partial void MigrationGateChecked(this ILogger logger, string pooler, string database, string verdict, string reasons);

    [LoggerMessage(504, LogLevel.Debug, "PgBouncer {Pooler}: admin console connection dropped after a failure ({Reason}); the next call opens a new one", EventName = "ConsoleConnectionDropped")]
    public static partial void ConsoleConnectionDropped(this ILogger logger, string pooler, string reason);

    [LoggerMessage(505, LogLevel.Information, "PgBouncer {Resource}: SHOW STATS counters went backwards (pooler restarted or stats reset); average times have no reading until the next tick", EventName = "StatsReset")]
    public static partial void StatsReset(this ILogger logger, string resource);
}
