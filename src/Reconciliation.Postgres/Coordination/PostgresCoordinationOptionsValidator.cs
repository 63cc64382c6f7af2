using Microsoft.Extensions.Options;
using Npgsql;

namespace Reconciliation.Postgres;

/// <summary>
/// Checks <see cref="PostgresCoordinationOptions"/> at start. Every message names the full key
/// (<c>Reconciliation:Coordination:Postgres:Schema</c>) and none echoes the connection string.
/// </summary>
internal sealed class PostgresCoordinationOptionsValidator : IValidateOptions<PostgresCoordinationOptions>
{
    public ValidateOptionsResult Validate(string? name, PostgresCoordinationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var key = options.ConfigurationPath ?? PostgresCoordinationOptions.SectionName;
        var errors = new List<string>();
        if (!CoordinationIdentifier.IsValid(options.Schema))
        {
            // The schema name is no secret; showing it helps find the typo.
            errors.Add($"{key}:Schema '{options.Schema}' is not a valid identifier (it must match {CoordinationIdentifier.Pattern}).");
        }

        if (options.LeaseTimeToLive < PostgresCoordinationOptions.MinLeaseTimeToLive || options.LeaseTimeToLive > PostgresCoordinationOptions.MaxLeaseTimeToLive)
        {
            errors.Add($"{key}:LeaseTimeToLive must be between {PostgresCoordinationOptions.MinLeaseTimeToLive} and {PostgresCoordinationOptions.MaxLeaseTimeToLive} (was {options.LeaseTimeToLive}).");
        }

        if (options.JournalRetention < PostgresCoordinationOptions.MinJournalRetention || options.JournalRetention > PostgresCoordinationOptions.MaxJournalRetention)
        {
            errors.Add($"{key}:JournalRetention must be between {PostgresCoordinationOptions.MinJournalRetention} (the longest window a heal policy counts) "
                + $"and {PostgresCoordinationOptions.MaxJournalRetention} (was {options.JournalRetention}).");
        }

        if (options.ConnectionString is { } connectionString)
        {
            try
            {
                var builder = new NpgsqlConnectionStringBuilder(connectionString);
                if (string.IsNullOrEmpty(builder.Host))
                {
                    errors.Add($"{key}:ConnectionString names no Host.");
                }
            }
            catch (ArgumentException)
            {
                // Neither the value nor Npgsql's message: either may carry the password.
                errors.Add($"{key}:ConnectionString is not a valid Npgsql connection string.");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
