using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Reconciliation.Postgres.Telemetry;

namespace Reconciliation.Postgres;

/// <summary>
/// A start-time check that never fails start: for each enabled rule on <c>postgres.idle_in_transaction.max_age</c> that
/// calls <c>postgres.terminate-idle-in-transaction</c> on this resource with an <c>Above</c> other than an explicitly set
/// <see cref="PostgresReconciliationOptions.TerminateIdleInTransactionAfter"/>, it logs a warning naming both keys. It runs
/// as a validator of the reconciler's options, so it sees the rules as bound (and again after a reload).
/// </summary>
internal sealed class PostgresTerminateThresholdCheck : IValidateOptions<ReconciliationOptions>
{
    private readonly string _resource;
    private readonly IOptionsMonitor<PostgresReconciliationOptions> _postgres;
    private readonly ILogger _logger;

    public PostgresTerminateThresholdCheck(string resource, IOptionsMonitor<PostgresReconciliationOptions> postgres, ILoggerFactory? loggerFactory)
    {
        _resource = resource;
        _postgres = postgres;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Reconciliation.Postgres");
    }

    public ValidateOptionsResult Validate(string? name, ReconciliationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        PostgresReconciliationOptions postgres;
        try
        {
            postgres = _postgres.Get(_resource);
        }
        catch (OptionsValidationException)
        {
            return ValidateOptionsResult.Skip; // its own validation fails start, naming its key
        }

        if (postgres.TerminateIdleInTransactionAfter is not { } set)
        {
            return ValidateOptionsResult.Skip;
        }

        foreach (var (rule, ruleOptions) in options.Rules)
        {
            if (!ruleOptions.Enabled || ruleOptions.Above is not { } above || !double.IsFinite(above)
                || !string.Equals(ruleOptions.Signal, PostgresSignalNames.IdleInTransactionMaxAge, StringComparison.Ordinal)
                || (ruleOptions.Resource is not null && !string.Equals(ruleOptions.Resource, _resource, StringComparison.Ordinal))
                || !ruleOptions.Heal.Contains(PostgresHealerNames.TerminateIdleInTransaction, StringComparer.OrdinalIgnoreCase)
                || Math.Abs(above - set.TotalSeconds) < 0.0005)
            {
                continue;
            }

            var consequence = set.TotalSeconds > above
                ? "the healer skips the sessions between the two ages while the violation stays open"
                : "the healer also terminates sessions younger than the rule's limit";
            _logger.TerminateThresholdMismatch(_resource, PostgresTerminateIdleInTransactionHealer.Seconds(set), rule,
                PostgresTerminateIdleInTransactionHealer.Seconds(TimeSpan.FromSeconds(above)), consequence);
        }

        return ValidateOptionsResult.Skip;
    }
}
