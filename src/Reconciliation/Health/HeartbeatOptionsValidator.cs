using System.Globalization;
using Microsoft.Extensions.Options;

namespace Reconciliation;

/// <summary>Checks <see cref="HeartbeatOptions"/> at start, naming the full key (<c>Reconciliation:Heartbeat:LivenessPort</c>).</summary>
internal sealed class HeartbeatOptionsValidator : IValidateOptions<ReconciliationOptions>
{
    public ValidateOptionsResult Validate(string? name, ReconciliationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var heartbeat = options.Heartbeat;
        if (heartbeat is null)
        {
            return ValidateOptionsResult.Success;
        }

        var key = options.ConfigurationPath + ":Heartbeat";
        var errors = new List<string>();
        if (heartbeat.File is { } file && (string.IsNullOrWhiteSpace(file) || file.IndexOfAny(Path.GetInvalidPathChars()) >= 0))
        {
            errors.Add($"{key}:File must be a file path (got '{file}').");
        }

        CheckPort(errors, $"{key}:LivenessPort", heartbeat.LivenessPort);
        CheckPort(errors, $"{key}:ReadinessPort", heartbeat.ReadinessPort);
        if (heartbeat.LivenessPort is { } live && live == heartbeat.ReadinessPort)
        {
            errors.Add($"{key}:ReadinessPort must differ from {key}:LivenessPort (both {live.ToString(CultureInfo.InvariantCulture)}).");
        }

        if (!(heartbeat.StaleAfterIntervals >= 1 && heartbeat.StaleAfterIntervals <= 1000))
        {
            errors.Add($"{key}:StaleAfterIntervals must be between 1 and 1000 (got {heartbeat.StaleAfterIntervals.ToString(CultureInfo.InvariantCulture)}).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void CheckPort(List<string> errors, string key, int? port)
    {
        if (port is { } value && (value < 1 || value > HeartbeatOptions.MaxPort))
        {
            errors.Add($"{key} must be between 1 and {HeartbeatOptions.MaxPort.ToString(CultureInfo.InvariantCulture)} (got {value.ToString(CultureInfo.InvariantCulture)}).");
        }
    }
}
