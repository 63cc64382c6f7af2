namespace Reconciliation.Demo;

/// <summary>One way small production services really break, and what the demo expects to catch it.</summary>
internal sealed record Scenario(string Name, string Rule, Func<CancellationToken, Task> Inject, Func<Task> CleanUp);
