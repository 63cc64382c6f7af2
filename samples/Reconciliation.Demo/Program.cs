using Reconciliation.Demo;

// The demo a newcomer runs first: a real orders service on real PostgreSQL and Redis, broken on purpose the way small
// production services break, and healed live. Ends by itself with a summary; Ctrl-C stops everything cleanly.
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true; // let the demo stop the service and remove its servers
    cancel.Cancel();
};

return await DemoRun.RunAsync(args, cancel.Token);
