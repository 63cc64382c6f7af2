using Microsoft.Extensions.Logging;

namespace Reconciliation.Postgres.Telemetry;

/// <summary>The coordination store's log messages (event ids 150–159 of the package's 100–199).</summary>
internal static partial class Log
{
    [LoggerMessage(150, LogLevel.Information, "PostgreSQL coordination: the tables of schema {Schema} are ready", EventName = "CoordinationSchemaReady")]
    public static partial void CoordinationSchemaReady(this ILogger logger, string schema);

    [LoggerMessage(151, LogLevel.Debug, "PostgreSQL coordination: deleted {Deleted} heal records older than {Retention}", EventName = "CoordinationJournalPruned")]
    public static partial void JournalPruned(this ILogger logger, int deleted, TimeSpan retention);

    [LoggerMessage(152, LogLevel.Warning, "PostgreSQL coordination: old heal records could not be deleted (tried again in an hour): {Error}", EventName = "CoordinationJournalPruneFailed")]
    public static partial void JournalPruneFailed(this ILogger logger, string error);

    [LoggerMessage(153, LogLevel.Warning, "PostgreSQL coordination: the lease of {Resource} (token {Token}) could not be released; it expires on its own after its time to live: {Error}", EventName = "CoordinationLeaseReleaseFailed")]
    public static partial void LeaseReleaseFailed(this ILogger logger, string resource, long token, string error);
}
