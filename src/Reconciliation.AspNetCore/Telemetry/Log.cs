using Microsoft.Extensions.Logging;

namespace Reconciliation.AspNetCore.Telemetry;

/// <summary>The ASP.NET Core package's log messages (event ids 600–699). Never a secret: errors go through <see cref="SecretScrubber"/>.</summary>
internal static partial class Log
{
    [LoggerMessage(600, LogLevel.Warning, "The status page could not re-read the controls; it shows what this replica read last: {Reason}", EventName = "ControlRefreshFailed")]
    public static partial void ControlRefreshFailed(this ILogger logger, string reason);

    [LoggerMessage(601, LogLevel.Information, "The status page re-reads the controls again", EventName = "ControlRefreshRecovered")]
    public static partial void ControlRefreshRecovered(this ILogger logger);
}
