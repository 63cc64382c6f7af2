using System.Globalization;
using Microsoft.Extensions.Options;

namespace Reconciliation.Queue;

/// <summary>
/// Validates a queue's options at start (<c>ValidateOnStart</c>) and whenever they are read. Every message names the
/// full configuration key (<c>Reconciliation:Queues:emails:TableName</c>) so a bad value is found without guessing.
/// </summary>
internal sealed class PostgresQueueOptionsValidator(string queueName) : IValidateOptions<PostgresQueueOptions>
{
    public ValidateOptionsResult Validate(string? name, PostgresQueueOptions options)
    {
        if (!string.Equals(name, queueName, StringComparison.Ordinal))
        {
            return ValidateOptionsResult.Skip;
        }

        var root = options.ConfigurationPath ?? $"{PostgresQueueOptions.SectionPrefix}:{queueName}";
        var errors = new List<string>();
        if (options.TableName is null)
        {
            if (!QueueIdentifier.IsValid(queueName))
            {
                errors.Add($"{root}:TableName is not set, so the queue name '{queueName}' would be the table name, and it is not a valid identifier "
                    + $"(it must match {QueueIdentifier.Pattern}). Use a plain lower-case name, or set {root}:TableName.");
            }
        }
        else if (!QueueIdentifier.IsValid(options.TableName))
        {
            errors.Add($"{root}:TableName '{options.TableName}' is not a valid identifier (it must match {QueueIdentifier.Pattern}).");
        }

        if (!QueueIdentifier.IsValid(options.Schema))
        {
            errors.Add($"{root}:Schema '{options.Schema}' is not a valid identifier (it must match {QueueIdentifier.Pattern}).");
        }

        Positive(errors, $"{root}:VisibilityTimeout", options.VisibilityTimeout);
        if (options.HeartbeatTimeout is { } heartbeat)
        {
            Positive(errors, $"{root}:HeartbeatTimeout", heartbeat);
        }

        if (options.MaxAttempts < 1)
        {
            errors.Add($"{root}:MaxAttempts must be at least 1 (was {options.MaxAttempts.ToString(CultureInfo.InvariantCulture)}).");
        }

        Positive(errors, $"{root}:RetryBackoff", options.RetryBackoff);
        Positive(errors, $"{root}:MaxRetryBackoff", options.MaxRetryBackoff);
        if (options.MaxRetryBackoff < options.RetryBackoff)
        {
            errors.Add($"{root}:MaxRetryBackoff ({options.MaxRetryBackoff}) must be at least {root}:RetryBackoff ({options.RetryBackoff}).");
        }

        if (options.Retention is { } retention)
        {
            Positive(errors, $"{root}:Retention", retention);
        }

        Positive(errors, $"{root}:RetentionInterval", options.RetentionInterval);
        if (options.BatchSize < 1)
        {
            errors.Add($"{root}:BatchSize must be at least 1 (was {options.BatchSize.ToString(CultureInfo.InvariantCulture)}).");
        }

        if (options.RetryJitter is < 0 or > 1 || double.IsNaN(options.RetryJitter))
        {
            errors.Add($"{root}:RetryJitter must be between 0 and 1 (was {options.RetryJitter.ToString(CultureInfo.InvariantCulture)}).");
        }

        if (options.FreeReleases < 0)
        {
            errors.Add($"{root}:FreeReleases must be at least 0 (was {options.FreeReleases.ToString(CultureInfo.InvariantCulture)}).");
        }

        if (options.ErrorHistory is < 1 or > 100)
        {
            errors.Add($"{root}:ErrorHistory must be between 1 and 100 (was {options.ErrorHistory.ToString(CultureInfo.InvariantCulture)}).");
        }

        Positive(errors, $"{root}:RescueInterval", options.RescueInterval);
        if (options.GlobalConcurrency is < 1)
        {
            errors.Add($"{root}:GlobalConcurrency must be at least 1 when set (was {options.GlobalConcurrency.Value.ToString(CultureInfo.InvariantCulture)}).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void Positive(List<string> errors, string key, TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            errors.Add($"{key} must be positive (was {value}).");
        }
    }
}
