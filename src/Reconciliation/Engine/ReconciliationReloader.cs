using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace Reconciliation;

/// <summary>
/// Listens for configuration reloads, validates each candidate, and keeps the last valid one for the next tick.
/// An invalid reload is logged and ignored (the previous configuration keeps running); nothing escapes into the
/// host's <c>IConfigurationRoot.Reload()</c>.
/// </summary>
internal sealed class ReconciliationReloader : IDisposable
{
    private readonly IOptionsFactory<ReconciliationOptions> _factory;
    private readonly ReconciliationOptionsValidator _validator;
    private readonly SignalTable _table;
    private readonly ILogger _logger;
    private readonly List<IDisposable> _subscriptions = [];
    private readonly Lock _gate = new();
    private ReconciliationOptions? _pending;

    public ReconciliationReloader(IOptionsFactory<ReconciliationOptions> factory, ReconciliationOptionsValidator validator,
        IEnumerable<IOptionsChangeTokenSource<ReconciliationOptions>> sources, SignalTable table, ILogger logger)
    {
        _factory = factory;
        _validator = validator;
        _table = table;
        _logger = logger;
        validator.EngineValidatesReloads = true;
        foreach (var source in sources)
        {
            if (string.Equals(source.Name ?? Options.DefaultName, Options.DefaultName, StringComparison.Ordinal))
            {
                _subscriptions.Add(ChangeToken.OnChange(source.GetChangeToken, Reload));
            }
        }
    }

    /// <summary>The last valid reloaded options not yet applied (without taking them), or null.</summary>
    public ReconciliationOptions? Pending
    {
        get
        {
            lock (_gate)
            {
                return _pending;
            }
        }
    }

    /// <summary>The last valid reloaded options not yet applied, or null.</summary>
    public ReconciliationOptions? TakePending()
    {
        lock (_gate)
        {
            var pending = _pending;
            _pending = null;
            return pending;
        }
    }

    public void Dispose()
    {
        foreach (var subscription in _subscriptions)
        {
            subscription.Dispose();
        }
    }

    private void Reload()
    {
        ReconciliationOptions candidate;
        try
        {
            candidate = _factory.Create(Options.DefaultName);
            var errors = _validator.Collect(candidate);
            if (errors.Count > 0)
            {
                _logger.ReloadRejected(string.Join(" ", errors));
                return;
            }

            // Compiled once here so a rule that cannot compile is rejected now, not at the next tick.
            _ = EngineSettings.Compile(candidate, _table, previous: null);
        }
        catch (OptionsValidationException e)
        {
            _logger.ReloadRejected(string.Join(" ", e.Failures));
            return;
        }
        catch (Exception e)
        {
            // A value that does not even bind (e.g. "abc" for a TimeSpan; the binder names the key in its message), or a
            // Configure delegate that threw.
            _logger.ReloadRejected(SecretScrubber.Scrub(e.Message));
            return;
        }

        lock (_gate)
        {
            _pending = candidate;
        }
    }

    /// <summary>
    /// Compiles the pending reload against <paramref name="current"/>, carrying over the instances of rules that stay.
    /// A removed or disabled rule's open violation closes with an event (its pending verdict recorded as not judged);
    /// a changed healer list continues with the same healer where it is still listed. Null when nothing is pending.
    /// </summary>
    public async Task<(EngineSettings Settings, List<Violation>? Dropped)?> ApplyPendingAsync(
        EngineSettings current, HealingController healing, ReconciliationDiagnostics diagnostics, DateTimeOffset now)
    {
        if (TakePending() is not { } options)
        {
            return null;
        }

        var previous = current.Evaluator.Instances;
        var healLists = new Dictionary<RuleInstance, (string[] Heal, string? Current)>(ReferenceEqualityComparer.Instance);
        foreach (var instance in previous)
        {
            if (instance.Violation is { } open)
            {
                healLists[instance] = (instance.Rule.Heal, open.CurrentHealer);
            }
        }

        var settings = EngineSettings.Compile(options, _table, previous);
        var kept = new HashSet<RuleInstance>(settings.Evaluator.Instances, ReferenceEqualityComparer.Instance);
        List<Violation>? dropped = null;
        foreach (var (instance, (heal, healer)) in healLists)
        {
            var violation = instance.Violation!;
            if (!kept.Contains(instance))
            {
                const string Reason = "its rule was removed or disabled by a configuration reload";
                instance.Violation = null;
                await healing.OnDroppedAsync(violation, Reason).ConfigureAwait(false);
                diagnostics.ViolationClosed(violation, now, Reason);
                (dropped ??= []).Add(violation.Snapshot(now));
            }
            else if (!heal.AsSpan().SequenceEqual(instance.Rule.Heal))
            {
                HealingController.OnHealListChanged(violation, healer);
            }
        }

        _logger.Reloaded(settings.Evaluator.Instances.Length);
        return (settings, dropped);
    }
}
