using Reconciliation.Sample.DeployGate;

// A deploy step for CI: "is the environment actually healthy?" — exit 0 or 1 with the reasons.
//   POSTGRES="Host=...;Username=...;Password=...;Database=..." REDIS="host:6379,password=..." \
//     dotnet run --project samples/Reconciliation.Sample.DeployGate -- --ticks 3 [--redis-policy allkeys-lru] [--allow-degraded]
// Run it before a deploy (is it safe to migrate?) and after it (did the new version leave the environment healthy?),
// instead of a fixed sleep. Nothing is healed: the gate only looks.
return await DeployGate.RunAsync(args, Console.Out, CancellationToken.None);
