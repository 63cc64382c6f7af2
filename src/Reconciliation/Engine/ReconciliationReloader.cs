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
}
