using System.Net.Http.Json;
using Npgsql;
using StackExchange.Redis;

namespace Reconciliation.Chaos.Tests.Support;

/// <summary>The faults: each injects, waits for what must happen (bounded, on the host's lines), undoes, and says what happened.</summary>
internal sealed partial class ChaosStorm
{
    private static DateTimeOffset Now => TimeProvider.System.GetUtcNow();

    /// <summary>A probe failure is observable at the next tick: detected within 2 intervals and one probe timeout (the tick's own probing).</summary>
    private static readonly TimeSpan ProbeBound = I + I + PT;

    private async Task<(string, string, bool)> PostgresStopAsync()
    {
        var from = Log.Count;
        var t0 = Now;
        await _postgres!.StopAsync(Ct);
        var (_, detect) = await ExpectAsync(l => l.IsEvent("ProbeFailed", "orders-db"), from, ProbeBound, t0);
        await WaitTicksAsync(2);
        await _postgres.StartAgainAsync(Ct);
        var t1 = Now;
        var (_, recover) = await ExpectAsync(l => l.IsEvent("ProbeRecovered", "orders-db"), from, ProbeBound + I, t1);
        var (orders, leak) = await AfterAsync(t1);
        return ("probe.failed on orders-db within 2 intervals + probe timeout; after the restart it answers again within 3 intervals + probe timeout; orders resume; sessions back to baseline",
            $"detected in {Seconds(detect)}, answering {Seconds(recover)} after the restart, orders resumed {orders}, sessions {leak}",
            detect <= ProbeBound && recover <= ProbeBound + I && orders != "never" && leak == "at baseline");
    }

    private async Task<(string, string, bool)> PostgresTerminateAsync()
    {
        var from = Log.Count;
        var t0 = Now;
        await using var command = Admin.CreateCommand("""
            SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
            WHERE pid <> pg_backend_pid() AND application_name IN ('orders-api', 'reconciliation-probe', 'reconciliation-queue-probe', 'reconciliation-queue-listener')
            """);
        var killed = Convert.ToInt64(await command.ExecuteScalarAsync(Ct), System.Globalization.CultureInfo.InvariantCulture);
        await WaitTicksAsync(3);
        var failed = Log.Since(from).Where(l => l.Source == "host" && l.IsEvent("ProbeFailed")).Select(l => l.String("resource")).Distinct().ToList();
        var recoveredAll = true;
        foreach (var resource in failed)
        {
            var (_, took) = await ExpectAsync(l => l.IsEvent("ProbeRecovered", resource), from, ProbeBound + I, t0);
            recoveredAll &= took <= ProbeBound + I;
        }

        var (orders, leak) = await AfterAsync(t0);
        return ("the app's pool and the probes reconnect on their own (a failed probe answers again within 3 intervals + probe timeout); orders resume; sessions back to baseline",
            $"{killed} sessions terminated; probes that failed: {(failed.Count == 0 ? "none" : string.Join(", ", failed))}{(recoveredAll ? string.Empty : " (not all recovered in time)")}; orders resumed {orders}; sessions {leak}",
            recoveredAll && orders != "never" && leak == "at baseline");
    }

    private async Task<(string, string, bool)> RedisStopAsync()
    {
        var from = Log.Count;
        var t0 = Now;
        await _redis!.StopAsync(Ct);
        var (_, detect) = await ExpectAsync(l => l.IsEvent("ProbeFailed", "cache"), from, ProbeBound, t0);
        await WaitTicksAsync(2);
        await _redis.StartAgainAsync(Ct);
        await _redisAdmin!.GetServers()[0].ConfigSetAsync("maxmemory-policy", "allkeys-lru");
        var t1 = Now;
        // (ProbeRecovered may come before t1 is taken: the times below are clamped at 0.)
        // The multiplexer reconnects on its own backoff (a heartbeat each second, then a reconnect): 5 s are allowed on top.
        var recoverBound = ProbeBound + TimeSpan.FromSeconds(5);
        var (_, recover) = await ExpectAsync(l => l.IsEvent("ProbeRecovered", "cache"), from, recoverBound, t1);
        return ($"probe.failed on cache within 2 intervals + probe timeout; after the restart it answers again within that + 5 s (the client's reconnect)",
            $"detected in {Seconds(detect)}, answering {Seconds(recover)} after the restart",
            detect <= ProbeBound && recover <= recoverBound);
    }

    private async Task<(string, string, bool)> RedisClientKillAsync()
    {
        var from = Log.Count;
        var t0 = Now;
        var server = _redisAdmin!.GetServers()[0];
        var killed = await server.ClientKillAsync(null, ClientType.Normal, null, skipMe: true);
        await WaitTicksAsync(3);
        var failedCache = Log.Since(from).Any(l => l.Source == "host" && l.IsEvent("ProbeFailed", "cache"));
        var recoverBound = ProbeBound + TimeSpan.FromSeconds(5);
        var recover = TimeSpan.Zero;
        if (failedCache)
        {
            (_, recover) = await ExpectAsync(l => l.IsEvent("ProbeRecovered", "cache"), from, recoverBound, t0);
        }

        var back = await Eventually.HoldsAsync(async () => await RedisClientsAsync() >= _redisClientsBaseline, recoverBound);
        return ("the clients reconnect: the cache probe answers (again within 2 intervals + probe timeout + 5 s if it failed) and the app's connections are back",
            $"{killed} clients killed; cache probe {(failedCache ? "failed, answering after " + Seconds(recover) : "never failed")}; connections back: {back}",
            recover <= recoverBound && back);
    }

    private async Task<(string, string, bool)> RedisMaxMemoryAsync()
    {
        var from = Log.Count;
        var server = _redisAdmin!.GetServers()[0];
        var db = _redisAdmin.GetDatabase();
        var used = long.Parse((await server.InfoAsync("memory")).SelectMany(g => g).First(kv => kv.Key == "used_memory").Value, System.Globalization.CultureInfo.InvariantCulture);
        await server.ConfigSetAsync("maxmemory-policy", "noeviction");
        await server.ConfigSetAsync("maxmemory", (used + (512 * 1024)).ToString(System.Globalization.CultureInfo.InvariantCulture));
        var t0 = Now;
        var filler = new string('x', 16 * 1024);
        var oom = false;
        for (var i = 0; i < 200 && !oom; i++)
        {
            try
            {
                await db.StringSetAsync($"chaos:fill:{i}", filler);
            }
            catch (RedisServerException e) when (e.Message.StartsWith("OOM", StringComparison.Ordinal))
            {
                oom = true;
            }
        }

        // redis-policy (For 1 s) opens and redis.set-policy puts allkeys-lru back; redis-memory (detect only) opens.
        var detectBound = TimeSpan.FromSeconds(1) + I + I + PT;
        var (_, drift) = await ExpectAsync(l => l.IsEvent("ViolationOpened", "cache", "redis-policy"), from, detectBound, t0);
        var (_, memory) = await ExpectAsync(l => l.IsEvent("ViolationOpened", "cache", "redis-memory"), from, detectBound, t0);
        var healBound = detectBound + I + I + I;
        // redis.set-policy heals the first drift. A drift by another client after its own heal is, by design, a fight it
        // refuses (HealSkipped "conflict ... not fighting over it", docs/redis.md) until the values match again: the
        // harness then settles it as an operator would.
        var healedBefore = Log.All.Take(from).Any(l => l.Source == "host" && l.IsEvent("HealSucceeded", "cache", "redis-policy"));
        var (verdict, healed) = await ExpectAsync(
            l => l.IsEvent("HealSucceeded", "cache", "redis-policy")
                || (l.IsEvent("HealSkipped", "cache", "redis-policy") && (l.String("reason") ?? string.Empty).Contains("conflict", StringComparison.Ordinal)),
            from, healBound, t0);
        var refused = verdict?.String("kind") == "HealSkipped";
        await server.ConfigSetAsync("maxmemory-policy", "allkeys-lru");
        await server.ConfigSetAsync("maxmemory", (64 * 1024 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture));
        var keys = Enumerable.Range(0, 200).Select(i => (RedisKey)$"chaos:fill:{i}").ToArray();
        await db.KeyDeleteAsync(keys);
        var t1 = Now;
        var (_, closed) = await ExpectAsync(l => l.IsEvent("ViolationClosed", "cache", "redis-memory"), from, detectBound, t1);
        var (_, driftClosed) = await ExpectAsync(l => l.IsEvent("ViolationClosed", "cache", "redis-policy"), from, detectBound, t1);
        return ("writes hit OOM; redis-policy and redis-memory open within For + 2 intervals + probe timeout; redis.set-policy heals the drift within 3 more intervals (or, when it healed this drift before, refuses to fight another client: Skipped 'conflict'); both close once settled",
            $"OOM reached: {oom}; drift detected {Seconds(drift)}, memory {Seconds(memory)}; {(refused ? "set-policy refused to fight (conflict after its earlier heal)" : "healed")} {Seconds(healed)}; closed {Seconds(closed)} / {Seconds(driftClosed)} after settling",
            oom && drift <= detectBound && memory <= detectBound && healed <= healBound && (!refused || healedBefore) && closed <= detectBound && driftClosed <= detectBound);
    }

    private async Task<(string, string, bool)> ProbeFaultAsync(int mode, string what)
    {
        var from = Log.Count;
        var t0 = Now;
        SetFault("probe", mode);
        var (failed, detect) = await ExpectAsync(l => l.IsEvent("ProbeFailed", "chaos-probe"), from, ProbeBound, t0);
        await WaitTicksAsync(2);
        SetFault("probe", null);
        var t1 = Now;
        // A blocked call must first return (3 s) before the probe is started again.
        var recoverBound = ProbeBound + (mode == 3 ? TimeSpan.FromSeconds(3) : TimeSpan.Zero);
        var (_, recover) = await ExpectAsync(l => l.IsEvent("ProbeRecovered", "chaos-probe"), from, recoverBound, t1);
        var reason = failed?.String("reason") ?? "-";
        return ($"the probe {what}: probe.failed within 2 intervals + probe timeout, the loop keeps ticking; answers again once fixed",
            $"detected in {Seconds(detect)} ({reason}); answering {Seconds(recover)} after the fix",
            detect <= ProbeBound && recover <= recoverBound);
    }

    private async Task<(string, string, bool)> HealerFaultAsync(string resource)
    {
        var from = Log.Count;
        var t0 = Now;
        SetFault(resource, 1);
        var detectBound = TimeSpan.FromSeconds(1) + I + I + PT;
        var (_, opened) = await ExpectAsync(l => l.IsEvent("ViolationOpened", resource, "chaos-healer"), from, detectBound, t0);
        // Two attempts (MaxAttempts 2 per minute, cooldown 1 s, backoff ×2, timeout 2 s), then the violation is exhausted.
        var exhaustBound = detectBound + TimeSpan.FromSeconds(12);
        var (_, exhausted) = await ExpectAsync(l => l.IsEvent("ViolationExhausted", resource, "chaos-healer"), from, exhaustBound, t0);
        var attempts = Log.Since(from).Count(l => l.Source == "host" && l.IsEvent("HealStarted", resource, "chaos-healer"));
        // The soak may inject the same healer fault again within its Window: its attempts may then be used up already.
        var usedUp = Log.All.Take(from).Any(l => l.Source == "host" && l.IsEvent("HealStarted", resource, "chaos-healer") && l.At > t0 - StormConfig.Limits["chaos.heal"].Window);
        var failures = Log.Since(from).Where(l => l.Source == "host" && l.IsEvent("HealFailed", resource, "chaos-healer")).Select(l => l.String("reason")).ToList();
        SetFault(resource, null);
        var t1 = Now;
        var (_, closed) = await ExpectAsync(l => l.IsEvent("ViolationClosed", resource, "chaos-healer"), from, detectBound, t1);
        return ("detected within For + 2 intervals + probe timeout; each attempt fails (timeout / exception / not verified); at most MaxAttempts (2) attempts, then the violation is reported exhausted; closes once the fault is gone",
            $"detected {Seconds(opened)}; {attempts} attempts, {failures.Count} failed ({string.Join(" | ", failures.Distinct().Take(2))}); exhausted {Seconds(exhausted)}; closed {Seconds(closed)} after the fix",
            opened <= detectBound && exhausted <= exhaustBound && (attempts >= 1 || usedUp) && attempts <= 2 && failures.Count == attempts && closed <= detectBound);
    }

    private async Task<(string, string, bool)> WorkerKillAsync()
    {
        var before = await ScalarAsync("SELECT count(*) FROM chaos_effects");
        var rescuedBefore = await ScalarAsync("SELECT count(*) FROM chaos_mp WHERE attempts > 0");
        await EnqueueChaosJobsAsync(1000);
        // Killed as soon as the workers are busy with the new jobs, so the victim most likely dies holding leases.
        var running = await Eventually.HoldsAsync(async () => await ScalarAsync("SELECT count(*) FROM chaos_effects") > before, TimeSpan.FromSeconds(20));
        var victim = _workers.Where(w => !w.HasExited).OrderBy(_ => Random.Next()).First();
        var t0 = Now;
        await victim.KillAsync();
        var leased = await ScalarAsync("SELECT count(*) FROM chaos_mp WHERE state = 'running'");
        StartWorker();
        var from = Log.Count;
        var target = _chaosJobs;
        var bound = TimeSpan.FromSeconds(30);
        var all = await Eventually.HoldsAsync(async () => await ScalarAsync("SELECT count(*) FROM chaos_mp WHERE state = 'completed'") >= target, bound);
        var took = Now - t0;
        var rescued = await ScalarAsync("SELECT count(*) FROM chaos_mp WHERE attempts > 0") - rescuedBefore;
        var stuckSeen = Log.Since(from).Any(l => l.Source == "host" && l.IsEvent("ViolationOpened", "chaos_mp", "workers-stuck"));
        return ("kill -9 of a worker process mid-batch: its leased jobs are rescued (built-in rescue or queue.requeue-stuck) and every job completes exactly once (checked at the end)",
            $"killed {victim.Name}; {leased} jobs running just after; {rescued} jobs ran again after a lost lease; all {target} jobs completed {(all ? $"{took.TotalSeconds:0.0} s later" : "NOT within 30 s")}; workers-stuck opened: {stuckSeen}",
            running && all);
    }

    private async Task<(string, string, bool)> PoolSaturationAsync()
    {
        var from = Log.Count;
        var t0 = Now;
        using var hold = await _http!.PostAsync($"demo/faults/hold-connections/{StormConfig.MaxPoolSize}", null, Ct);
        var detectBound = TimeSpan.FromSeconds(2) + I + I + PT;
        var (_, opened) = await ExpectAsync(l => l.IsEvent("ViolationOpened", "orders-db", "pool-saturation"), from, detectBound, t0);
        // clear-pool cannot free checked-out connections (verify fails, 1 interval); then terminate-idle-in-transaction
        // ends the held sessions once idle 3 s: For + 2 intervals + the healers' turn (clear-pool, its verification, terminate).
        var healBound = detectBound + TimeSpan.FromSeconds(8);
        var (healedLine, healed) = await ExpectAsync(l => l.IsEvent("HealSucceeded", "orders-db") && l.String("rule") is "pool-saturation" or "idle-transactions", from, healBound, t0);
        var released = await Eventually.HoldsAsync(async () => (await _http.GetFromJsonAsync<System.Text.Json.JsonElement>("demo/faults/held", Ct)).GetProperty("held").GetInt32() == 0, TimeSpan.FromSeconds(10));
        var (_, closed) = await ExpectAsync(l => l.IsEvent("ViolationClosed", "orders-db", "pool-saturation"), from, healBound, t0);
        var (orders, leak) = await AfterAsync(Now);
        return ("pool-saturation opens within For + 2 intervals + probe timeout; a healer (clear-pool, then terminate-idle-in-transaction) frees the pool within 8 s more; orders resume; sessions back to baseline",
            $"hold {(int)hold.StatusCode}; detected {Seconds(opened)}; healed by {healedLine?.String("healer") ?? "none"} ({healedLine?.String("rule")}) {Seconds(healed)}; held connections released: {released}; closed {Seconds(closed)}; orders {orders}; sessions {leak}",
            opened <= detectBound && healed <= healBound && released && closed <= healBound && orders != "never" && leak == "at baseline");
    }

    private async Task<(string, string, bool)> InvalidReloadAsync()
    {
        var from = Log.Count;
        var t0 = Now;
        await File.WriteAllTextAsync(RulesFile, StormConfig.InvalidJson(), Ct);
        // The file watcher's notice plus the reload's own debounce: 5 s.
        var bound = TimeSpan.FromSeconds(5);
        var (rejected, took) = await ExpectAsync(l => l.IsLog("ReloadRejected") || l.IsLog("Reloaded"), from, bound, t0);
        await WaitTicksAsync(3);
        var ticking = !Host.HasExited;
        await File.WriteAllTextAsync(RulesFile, StormConfig.Json(), Ct);
        var (valid, _) = await ExpectAsync(l => l.IsLog("Reloaded") || l.IsLog("ReloadRejected"), Log.Count, bound, Now);
        var isRejected = rejected?.String("event") == "ReloadRejected";
        return ("an invalid reload (Interval negative) is rejected (ReloadRejected, naming the key) within 5 s; the previous configuration keeps ticking; the valid file reloads",
            $"{(isRejected ? "rejected" : rejected is null ? "no reload seen" : "ACCEPTED")} in {Seconds(took)}: {Trim(rejected?.String("message"))}; ticking: {ticking}; valid reload: {valid?.String("event") ?? "none"}",
            isRejected && took <= bound && ticking && valid?.String("event") == "Reloaded");
    }

    private async Task<(string, string, bool)> CoordinationDownAsync()
    {
        var from = Log.Count;
        var t0 = Now;
        await _coordination!.StopAsync(Ct);
        // A process-scoped heal must go on meanwhile: the nofix healer's rule is made to open during the outage.
        SetFault("coordination-heal", 1);
        var detectBound = TimeSpan.FromSeconds(1) + I + I + PT;
        var (_, opened) = await ExpectAsync(l => l.IsEvent("ViolationOpened", "coordination-heal", "chaos-healer"), from, detectBound + TimeSpan.FromSeconds(5), t0);
        var (_, started) = await ExpectAsync(l => l.IsEvent("HealStarted", "coordination-heal", "chaos-healer") || l.IsEvent("ViolationExhausted", "coordination-heal", "chaos-healer"), from, detectBound + TimeSpan.FromSeconds(8), t0);
        await WaitTicksAsync(3);
        SetFault("coordination-heal", null);
        var journalFailed = Log.Since(from).Count(l => l.Source == "host" && (l.IsLog("JournalFailed") || l.IsLog("RuleStateFailed")));
        await _coordination.StartAgainAsync(Ct);
        var (_, closed) = await ExpectAsync(l => l.IsEvent("ViolationClosed", "coordination-heal", "chaos-healer"), from, detectBound + TimeSpan.FromSeconds(10), t0);
        var (_, leak) = await AfterAsync(Now);
        return ("the loop keeps ticking with the store down; a process-scoped heal still starts (or is refused by its limits, counted from this process's records); failures are logged (JournalFailed / RuleStateFailed), nothing crashes; sessions back to baseline after the store returns",
            $"store stopped; rule opened {Seconds(opened)}, heal started {Seconds(started)} after the stop; {journalFailed} store-failure logs; closed {Seconds(closed)}; sessions {leak}",
            opened != TimeSpan.MaxValue && started != TimeSpan.MaxValue && closed != TimeSpan.MaxValue && leak == "at baseline");
    }

    private async Task<(string, string, bool)> HttpLatencyAsync()
    {
        var from = Log.Count;
        var t0 = Now;
        // Other faults (a stopped database) make requests slow too, and the webhook's attempts then go to those
        // violations: when its MaxAttempts within its Window are spent, refusing to call it again is the policy at work.
        var (limit, window) = StormConfig.Limits["http.webhook"];
        var spent = Log.All.Count(l => l.Source == "host" && l.IsEvent("HealStarted", "orders", "orders-latency") && l.At > t0 - window) >= limit;
        using var slow = await _http!.PostAsync("demo/faults/latency/400", null, Ct);
        // p99 over the 10 s window passes 0.2 s at the first slow reads: For 3 s + 2 intervals + probe timeout.
        var detectBound = TimeSpan.FromSeconds(3) + I + I + PT + TimeSpan.FromSeconds(1);
        var (_, opened) = await ExpectAsync(l => l.IsEvent("ViolationOpened", "orders", "orders-latency"), from, detectBound, t0);
        // The webhook "rolls back" at once; the 10 s window must then forget the slow reads: VerifyWithin 15 s.
        var healBound = detectBound + I + TimeSpan.FromSeconds(15);
        // The flap breaker (Reconciliation:Flapping, default: more than 10 opens within an hour mutes the rule's heals for
        // an hour) counts every open of orders-latency, those other faults cause included: in a soak it trips, and then
        // no heal is the policy at work too — accepted only when the host's own events count more than MaxOpens opens.
        var (verdict, healed) = await ExpectAsync(l => l.IsEvent("HealSucceeded", "orders", "orders-latency") || l.IsEvent("HealFailed", "orders", "orders-latency")
            || (spent && l.IsEvent("ViolationExhausted", "orders", "orders-latency"))
            || (l.Is("tick") && l.Violations().Any(v => v.Rule == "orders-latency" && v.IsOpen && v.HeldBack.StartsWith("flapping", StringComparison.Ordinal))), from, healBound, t0);
        var rolledBack = Log.Since(from).Any(l => l.Source == "host" && l.Is("rollback"));
        if (!rolledBack)
        {
            using var undo = await _http.PostAsync("demo/faults/latency/0", null, Ct);
        }

        // This fault's own open included.
        var opensWithinHour = Log.All.Count(l => l.Source == "host" && l.IsEvent("ViolationOpened", "orders", "orders-latency") && l.At > Now - TimeSpan.FromHours(1));
        var refused = verdict?.String("kind") == "ViolationExhausted";
        var muted = verdict?.Is("tick") == true;
        var mutedRightly = muted && opensWithinHour > StormConfig.FlappingMaxOpens;
        return ("orders-latency (p99 > 0.2 s for 3 s) opens within For + 2 intervals + probe timeout + 1 s; http.webhook calls the rollback endpoint and the violation closes within VerifyWithin (15 s) — or, when other faults' latency already spent the webhook's attempts in its window, the violation is exhausted without a call; or, when the rule opened more than Flapping:MaxOpens (10) times within the hour, its heals are muted as flapping and no call is made",
            $"detected {Seconds(opened)}; webhook called: {rolledBack}; {(refused ? "exhausted: the webhook's attempts were spent" : muted ? $"heals muted as flapping (opened {opensWithinHour} times within the hour)" : verdict?.String("kind") ?? "no verdict")} {Seconds(healed)}",
            opened <= detectBound && healed <= healBound
            && (refused ? spent && !rolledBack : muted ? mutedRightly && !rolledBack : rolledBack && verdict?.String("kind") == "HealSucceeded"));
    }

    /// <summary>After a fault is undone: how soon an order succeeds again, and whether the sessions are back to baseline.</summary>
    private async Task<(string Orders, string Sessions)> AfterAsync(DateTimeOffset since)
    {
        var created = OrdersCreated;
        var start = Now;
        var resumed = await Eventually.HoldsAsync(() => Task.FromResult(OrdersCreated > created), TimeSpan.FromSeconds(15));
        var orders = resumed ? Seconds(Now - since) + " after" : "never";
        string? over = null;
        var back = await Eventually.HoldsAsync(async () => (over = SessionsWithinBaseline(await SessionsAsync())) is null, TimeSpan.FromSeconds(20));
        _ = start;
        return (orders, back ? "at baseline" : "over baseline: " + over);
    }

    private static string Trim(string? text) => text is null ? "-" : text.Length > 140 ? text[..140] + "…" : text;
}
