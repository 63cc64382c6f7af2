namespace Reconciliation;

/// <summary>
/// Marks the library's own in-memory journal and lease: they answer synchronously and never block, so the engine calls
/// them inline instead of isolating each call on the thread pool (<see cref="OutboundCall"/>).
/// </summary>
internal interface INeverBlocks;
