using Microsoft.Extensions.Logging;

namespace Reconciliation.Postgres.Telemetry;

/// <summary>The PostgreSQL package's log messages (event ids 100–199). Never a connection string or password.</summary>
internal static partial class Log
{
    [LoggerMessage(100, LogLevel.Information, "PostgreSQL {Resource}: connection budget {Budget} of {Available} usable connections (max pool size {MaxPoolSize} x {Replicas} replicas + {ProbeConnections} probe connections + {OtherClients} other clients)", EventName = "CapacityWithinBudget")]
    public static partial void CapacityWithinBudget(this ILogger logger, string resource, long budget, int available, int maxPoolSize, int replicas, int probeConnections, int otherClients);

    [LoggerMessage(101, LogLevel.Warning, "PostgreSQL {Resource}: connection budget {Budget} exceeds the {Available} usable connections (max pool size {MaxPoolSize} x {Replicas} replicas + {ProbeConnections} probe connections + {OtherClients} other clients): under full load the server will answer 'sorry, too many clients already'. To fix: {Advice}", EventName = "CapacityOverBudget")]
    public static partial void CapacityOverBudget(this ILogger logger, string resource, long budget, int available, int maxPoolSize, int replicas, int probeConnections, int otherClients, string advice);

    [LoggerMessage(102, LogLevel.Warning, "Terminated PostgreSQL session {Pid} of application {Application} (role {Role}) on {Resource}: idle in transaction for {IdleSeconds:F1} s", EventName = "SessionTerminated")]
    public static partial void SessionTerminated(this ILogger logger, int pid, string application, string role, string resource, double idleSeconds);

    [LoggerMessage(103, LogLevel.Warning, "Cancelled the statement of PostgreSQL session {Pid} (application {Application}, role {Role}, state {State}) on {Resource}: it blocked a session waiting on a lock for {WaitSeconds:F1} s", EventName = "BlockerCancelled")]
    public static partial void BlockerCancelled(this ILogger logger, int pid, string application, string role, string? state, string resource, double waitSeconds);

    [LoggerMessage(104, LogLevel.Warning, "Cleared the Npgsql connection pool of {Resource}: idle connections closed, busy ones close when returned", EventName = "PoolCleared")]
    public static partial void PoolCleared(this ILogger logger, string resource);

    [LoggerMessage(105, LogLevel.Warning, "PostgreSQL {Resource}: the data source sets no Application Name and ApplicationNames is empty; postgres.terminate-idle-in-transaction will not act and postgres.idle_in_transaction.* cover every session of the database", EventName = "NoApplicationNames")]
    public static partial void NoApplicationNames(this ILogger logger, string resource);

    [LoggerMessage(106, LogLevel.Warning, "PostgreSQL {Resource}: no Npgsql pool metrics match the data source; postgres.pool.* have no reading. Name the data source like the resource (NpgsqlDataSourceBuilder.Name) or set PoolName to its Name", EventName = "PoolMetricsMissing")]
    public static partial void PoolMetricsMissing(this ILogger logger, string resource);

    [LoggerMessage(107, LogLevel.Information, "PostgreSQL {Resource}: migration gate says {Verdict}: {Reasons}", EventName = "MigrationGateChecked")]
    public static partial void MigrationGateChecked(this ILogger logger, string resource, string verdict, string reasons);

    [LoggerMessage(109, LogLevel.Information, "PostgreSQL {Resource}: {Healer} left alone: {LeftAlone}", EventName = "SessionsLeftAlone")]
    public static partial void SessionsLeftAlone(this ILogger logger, string resource, string healer, string leftAlone);

    [LoggerMessage(110, LogLevel.Warning, "PostgreSQL {Resource}: {Healer} may not signal session {Pid} (application {Application}, role {Role}): {ServerMessage}; skipped", EventName = "SessionNotPermitted")]
    public static partial void SessionNotPermitted(this ILogger logger, string resource, string healer, int pid, string application, string role, string serverMessage);

    [LoggerMessage(111, LogLevel.Warning, "PostgreSQL {Resource}: the probe's data source {ProbeDataSource}, derived from the app's data source, cannot authenticate (its password lives only inside the app's data source, and this Npgsql version does not hand it over to the library's own data source); the probe uses a clone of the app's data source instead, whose Npgsql pool metrics are named after its connection string without the password (host, port, user, database). Set ProbeConnectionString to keep them out", EventName = "ProbeDataSourceUnnamed")]
    public static partial void ProbeDataSourceUnnamed(this ILogger logger, string resource, string probeDataSource);

    [LoggerMessage(108, LogLevel.Warning, "PostgreSQL {Resource}: blocker session {Pid} (application {Application}) is idle in transaction; cancelling has no statement to stop, terminate it instead (postgres.terminate-idle-in-transaction)", EventName = "BlockerIdleInTransaction")]
    public static partial void BlockerIdleInTransaction(this ILogger logger, string resource, int pid, string application);

    [LoggerMessage(113, LogLevel.Warning, "PostgreSQL {Resource}: Reconciliation:Postgres:{Resource}:TerminateIdleInTransactionAfter is {ThresholdSeconds} s but rule {Rule} (Reconciliation:Rules:{Rule}:Above) calls postgres.terminate-idle-in-transaction at {AboveSeconds} s: {Consequence}. Remove TerminateIdleInTransactionAfter to follow the rule, or make the two equal", EventName = "TerminateThresholdMismatch")]
    public static partial void TerminateThresholdMismatch(this ILogger logger, string resource, string thresholdSeconds, string rule, string aboveSeconds, string consequence);

    [LoggerMessage(112, LogLevel.Information, "PostgreSQL {Resource}: the app's pool runs at Npgsql's default Max Pool Size {MaxPoolSize}, more than the {Available} usable connections hold with the probe's; no budget was declared, so this is not checked. To have it checked, declare the pool: {Advice}", EventName = "CapacityNotDeclared")]
    public static partial void CapacityNotDeclared(this ILogger logger, string resource, int maxPoolSize, int available, string advice);
}
