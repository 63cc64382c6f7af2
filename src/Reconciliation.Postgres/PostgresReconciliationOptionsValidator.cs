using System.Globalization;
using System.Text;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Reconciliation.Postgres;

/// <summary>
/// Checks <see cref="PostgresReconciliationOptions"/> at start. Messages name the full key
/// (<c>Reconciliation:Postgres:main-db:TerminateIdleInTransactionAfter</c>) and never echo a connection string.
/// </summary>
internal sealed class PostgresReconciliationOptionsValidator : IValidateOptions<PostgresReconciliationOptions>
{
    /// <summary>PostgreSQL truncates identifiers and <c>application_name</c> to NAMEDATALEN - 1 bytes.</summary>
    internal const int MaxNameBytes = 63;

    internal const string SectionPrefix = "Reconciliation:Postgres";

    public ValidateOptionsResult Validate(string? name, PostgresReconciliationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var key = $"{SectionPrefix}:{(string.IsNullOrEmpty(name) ? options.Resource : name)}";
        var errors = new List<string>();

        if (string.IsNullOrWhiteSpace(options.Resource))
        {
            errors.Add($"{key}:Resource must not be empty.");
        }
        else if (!string.IsNullOrEmpty(name) && !string.Equals(name, options.Resource, StringComparison.Ordinal))
        {
            errors.Add($"{key}:Resource is '{options.Resource}' but the registration is named '{name}'; register each resource under its own name.");
        }

        if (options.PoolName is { Length: 0 })
        {
            errors.Add($"{key}:PoolName must not be empty when set.");
        }

        if (options.ProbeConnectionString is not null)
        {
            try
            {
                _ = new NpgsqlConnectionStringBuilder(options.ProbeConnectionString);
            }
            catch (ArgumentException)
            {
                // Never echo the value or Npgsql's message: either may carry the password.
                errors.Add($"{key}:ProbeConnectionString is not a valid Npgsql connection string.");
            }
        }

        CheckApplicationName(errors, $"{key}:ProbeApplicationName", options.ProbeApplicationName);
        for (var i = 0; i < options.ApplicationNames.Count; i++)
        {
            var application = options.ApplicationNames[i];
            CheckApplicationName(errors, $"{key}:ApplicationNames:{i}", application);
            if (string.Equals(application, options.ProbeApplicationName, StringComparison.Ordinal))
            {
                errors.Add($"{key}:ApplicationNames:{i} is the probe's own application name '{application}'; the healers never act on the probe's sessions.");
            }
        }

        for (var i = 0; i < options.Roles.Count; i++)
        {
            CheckApplicationName(errors, $"{key}:Roles:{i}", options.Roles[i]);
        }

        CheckPositive(errors, $"{key}:ProbeConnectionIdleLifetime", options.ProbeConnectionIdleLifetime);
        if (options.TerminateIdleInTransactionAfter is { } terminateAfter)
        {
            CheckPositive(errors, $"{key}:TerminateIdleInTransactionAfter", terminateAfter);
        }
        CheckPositive(errors, $"{key}:CancelBlockersAfter", options.CancelBlockersAfter);

        if (options.Replicas < 1)
        {
            errors.Add($"{key}:Replicas must be at least 1 (got {options.Replicas.ToString(CultureInfo.InvariantCulture)}).");
        }

        if (options.OtherClients < 0)
        {
            errors.Add($"{key}:OtherClients must not be negative (got {options.OtherClients.ToString(CultureInfo.InvariantCulture)}).");
        }

        if (options.MigrationGate is null)
        {
            errors.Add($"{key}:MigrationGate must not be null.");
        }
        else
        {
            CheckPositive(errors, $"{key}:MigrationGate:MaxTransactionAge", options.MigrationGate.MaxTransactionAge);
            var usage = options.MigrationGate.MaxConnectionsUsage;
            if (!(usage > 0 && usage <= 1))
            {
                errors.Add($"{key}:MigrationGate:MaxConnectionsUsage must be above 0 and at most 1 (got {usage.ToString(CultureInfo.InvariantCulture)}).");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void CheckApplicationName(List<string> errors, string key, string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            errors.Add($"{key} must not be empty.");
            return;
        }

        // PostgreSQL replaces non-printable-ASCII characters of application_name with '?' and truncates it, so a name
        // outside these bounds would never match pg_stat_activity and the healer would silently do nothing.
        foreach (var c in value)
        {
            if (c < 32 || c > 126)
            {
                errors.Add($"{key} must be printable ASCII ('{value}' is not).");
                return;
            }
        }

        if (Encoding.ASCII.GetByteCount(value) > MaxNameBytes)
        {
            errors.Add($"{key} must be at most {MaxNameBytes} characters ('{value}' is longer).");
        }
    }

    private static void CheckPositive(List<string> errors, string key, TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            errors.Add($"{key} must be positive (got {value.ToString("c", CultureInfo.InvariantCulture)}).");
        }
    }
}
