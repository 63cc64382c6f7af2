namespace Reconciliation.AspNetCore.Tests.TestSupport;

/// <summary>
/// One control document shared by two apps in this process, with the compare-and-swap contract of
/// <see cref="IControlStore"/> (what PostgreSQL and Redis coordination give a fleet).
/// </summary>
internal sealed class SharedControlStore : IControlStore
{
    private readonly Lock _gate = new();
    private ControlDocument? _document;

    public Task<ControlDocument?> ReadAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_document);
        }
    }

    public Task<bool> TryWriteAsync(string json, long expectedVersion, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if ((_document?.Version ?? 0) != expectedVersion)
            {
                return Task.FromResult(false);
            }

            _document = new ControlDocument(json, expectedVersion + 1);
            return Task.FromResult(true);
        }
    }
}
