namespace Reconciliation;

/// <summary>The default <see cref="IControlStore"/>: the document lives in this process (lost at exit, seen by no other replica).</summary>
internal sealed class ProcessControlStore : IControlStore, INeverBlocks
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
