using System.Globalization;
using Microsoft.Extensions.Options;

namespace Reconciliation.PgBouncer;

/// <summary>
/// Checks <see cref="PgBouncerReconciliationOptions"/> at start. Messages name the full key
/// (<c>Reconciliation:PgBouncer:pooler:Databases:0</c>) and never echo the connection string.
/// </summary>
internal sealed class PgBouncerReconciliationOptionsValidator : IValidateOptions<PgBouncerReconciliationOptions>
{
    internal const string SectionPrefix = "Reconciliation:PgBouncer";

    /// <summary>PgBouncer's database names are bounded like PostgreSQL's identifiers.</summary>
    internal const int MaxDatabaseNameLength = 63;

    public ValidateOptionsResult Validate(string? name, PgBouncerReconciliationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var key = $"{SectionPrefix}:{(string.IsNullOrEmpty(name) ? "(unnamed)" : name)}";
        var errors = new List<string>();

        if (string.IsNullOrWhiteSpace(options.AdminConnectionString))
        {
            errors.Add($"{key}:AdminConnectionString is required (Host, Port, Username and Password of an admin_users or stats_users entry).");
        }
        else
        {
            try
            {
                _ = PgBouncerEndpoint.Parse(options.AdminConnectionString, options.ApplicationName ?? PgBouncerReconciliationOptions.DefaultApplicationName);
            }
            catch (ArgumentException e)
            {
                // Our own messages: they never contain the value or the password.
                errors.Add($"{key}:AdminConnectionString is not usable: {e.Message}");
            }
        }

        if (options.Databases.Count == 0)
        {
            errors.Add($"{key}:Databases must name at least one pooler database this app uses (the healers act only on these).");
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < options.Databases.Count; i++)
        {
            var database = options.Databases[i];
            var itemKey = $"{key}:Databases:{i.ToString(CultureInfo.InvariantCulture)}";
            if (CheckDatabaseName(database) is { } problem)
            {
                errors.Add($"{itemKey} {problem}");
            }
            else if (!seen.Add(database))
            {
                errors.Add($"{itemKey} names '{database}' twice.");
            }
        }

        if (string.IsNullOrWhiteSpace(options.ApplicationName) || options.ApplicationName.Any(c => c < 32 || c > 126) || options.ApplicationName.Length > MaxDatabaseNameLength)
        {
            errors.Add($"{key}:ApplicationName must be 1 to {MaxDatabaseNameLength} printable ASCII characters.");
        }

        if (options.CommandTimeout <= TimeSpan.Zero || options.CommandTimeout > PgBouncerReconciliationOptions.MaxCommandTimeout)
        {
            errors.Add($"{key}:CommandTimeout must be above zero and at most {PgBouncerReconciliationOptions.MaxCommandTimeout.ToString("c", CultureInfo.InvariantCulture)} (got {options.CommandTimeout.ToString("c", CultureInfo.InvariantCulture)}).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>Null when <paramref name="database"/> can be a declared pooler database, else why not.</summary>
    internal static string? CheckDatabaseName(string? database)
    {
        if (string.IsNullOrWhiteSpace(database))
        {
            return "must not be empty.";
        }

        if (database.Length > MaxDatabaseNameLength)
        {
            return $"must be at most {MaxDatabaseNameLength} characters ('{database}' is longer).";
        }

        if (database.Any(c => c < 32 || c > 126))
        {
            return $"must be printable ASCII ('{database}' is not).";
        }

        if (string.Equals(database, PgBouncerEndpoint.ConsoleDatabase, StringComparison.OrdinalIgnoreCase))
        {
            return "must not be the admin console database 'pgbouncer'.";
        }

        return null;
    }
}
