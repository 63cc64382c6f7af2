using Microsoft.Extensions.DependencyInjection;

namespace Reconciliation;

/// <summary>
/// The DI scope of one tick, created on first use (a tick whose probes never ask for it allocates nothing) and
/// disposed when the tick ends, so a probe can use a scoped service such as a <c>DbContext</c>.
/// </summary>
internal sealed class TickScope
{
    private readonly IServiceScopeFactory _factory;
    private readonly Lock _gate = new();
    private AsyncServiceScope? _scope;

    public TickScope(IServiceScopeFactory factory) => _factory = factory;

    public IServiceProvider Services
    {
        get
        {
            lock (_gate)
            {
                _scope ??= _factory.CreateAsyncScope();
                return _scope.Value.ServiceProvider;
            }
        }
    }

    /// <summary>Ends the tick's scope (if one was created) so the next tick gets a fresh one; the object itself is reused.</summary>
    public async ValueTask EndAsync()
    {
        AsyncServiceScope? scope;
        lock (_gate)
        {
            scope = _scope;
            _scope = null;
        }

        if (scope is { } s)
        {
            await s.DisposeAsync().ConfigureAwait(false);
        }
    }
}
