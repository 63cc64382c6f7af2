using System.Diagnostics;
using System.Globalization;
using Reconciliation.Queue.Tests.Support;
using Xunit;

namespace Reconciliation.Queue.Tests.Functional;

/// <summary>
/// Workers in two OS processes (tests/Reconciliation.Queue.WorkerHost); one is killed with SIGKILL again and again and
/// restarted. Every job's side effect is a row under a unique constraint, written in the same transaction as the job's
/// completion. In the end: every job completed once, every effect written once, none lost, no duplicate attempted. No
/// rule is configured: the built-in rescue brings back the killed process's jobs. 5,000 jobs by default;
/// <c>RECONCILIATION_QUEUE_CHAOS_JOBS=100000</c> for the long run (docs/queue.md records its result).
/// </summary>
public sealed class QueueMultiProcessChaosTests
{
    private const string Queue = "chaos_mp";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Every_side_effect_happens_once_and_no_job_is_lost_while_a_worker_process_is_killed_repeatedly()
    {
        var jobs = int.TryParse(Environment.GetEnvironmentVariable("RECONCILIATION_QUEUE_CHAOS_JOBS"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : 5_000;
        var kills = Math.Max(5, jobs / 10_000); // 10 for the long run
        var dataSource = await TestDatabase.GetAsync(nameof(QueueMultiProcessChaosTests));
        var connectionString = await TestDatabase.ConnectionStringAsync(nameof(QueueMultiProcessChaosTests));
        await dataSource.ExecuteAsync("""
            DROP TABLE IF EXISTS chaos_effects, chaos_duplicates, chaos_mp;
            CREATE TABLE chaos_effects (job_id bigint PRIMARY KEY);
            CREATE TABLE chaos_duplicates (job_id bigint NOT NULL);
            """);
        var queue = TestQueue.Create(dataSource, Queue, o => o.MaxAttempts = 1000);
        for (var offset = 0; offset < jobs; offset += 20_000)
        {
            await queue.EnqueueManyAsync(Enumerable.Range(offset, Math.Min(20_000, jobs - offset)).Select(i => new { Number = i }),
                new JobOptions { Kind = "chaos" }, Ct);
        }

        // The victim starts first and holds leases before the stable worker competes, so the first kill always hits
        // leased jobs: started together, the stable worker could finish the first slice before the victim leased any.
        var victim = StartWorker(connectionString);
        var leased = await TestDatabase.EventuallyAsync(
            async () => await dataSource.ScalarAsync("SELECT count(*) FROM chaos_mp WHERE state = 'running'") > 0, TimeSpan.FromMinutes(2));
        var stable = StartWorker(connectionString);
        var killed = 0;
        var stopwatch = Stopwatch.StartNew();
        try
        {
            Assert.True(leased, "the victim never leased a job");
            // Kill the victim each time another slice of the jobs is done, then start it again.
            for (var k = 1; k <= kills; k++)
            {
                var target = (long)jobs * k / (kills + 1);
                Assert.True(await TestDatabase.EventuallyAsync(async () => await Completed(dataSource) >= target, TimeSpan.FromMinutes(10)),
                    $"stalled before {target} completions");
                victim.Kill(entireProcessTree: true); // SIGKILL: no shutdown, leases left running
                await victim.WaitForExitAsync(Ct);
                victim.Dispose();
                killed++;
                victim = StartWorker(connectionString);
            }

            Assert.True(await TestDatabase.EventuallyAsync(async () => await Completed(dataSource) == jobs, TimeSpan.FromMinutes(10)),
                $"only {await Completed(dataSource)} of {jobs} completed");
        }
        finally
        {
            foreach (var process in new[] { stable, victim })
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync(CancellationToken.None);
                process.Dispose();
            }
        }

        Assert.Equal(kills, killed);
        Assert.Equal(jobs, await dataSource.ScalarAsync("SELECT count(*) FROM chaos_mp"));
        Assert.Equal(jobs, await dataSource.ScalarAsync("SELECT count(*) FROM chaos_mp WHERE state = 'completed' AND completions = 1"));
        Assert.Equal(jobs, await dataSource.ScalarAsync("SELECT count(*) FROM chaos_effects"));
        Assert.Equal(0, await dataSource.ScalarAsync("SELECT count(*) FROM chaos_effects e LEFT JOIN chaos_mp j ON j.id = e.job_id WHERE j.id IS NULL"));
        Assert.Equal(0, await dataSource.ScalarAsync("SELECT count(*) FROM chaos_duplicates"));
        var rescued = await dataSource.ScalarAsync("SELECT count(*) FROM chaos_mp WHERE attempts > 0");
        Assert.True(rescued > 0, "no job was ever rescued: the kills hit nothing");
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"jobs={jobs} kills={killed} completed={await Completed(dataSource)} effects={await dataSource.ScalarAsync("SELECT count(*) FROM chaos_effects")} "
            + $"rescued(attempts>0)={rescued} max_attempts_used={await dataSource.ScalarAsync("SELECT max(attempts) FROM chaos_mp")} "
            + $"duplicates={await dataSource.ScalarAsync("SELECT count(*) FROM chaos_duplicates")} elapsed={stopwatch.Elapsed.TotalSeconds:0.0}s");
    }

    private static Task<long> Completed(Npgsql.NpgsqlDataSource dataSource) =>
        dataSource.ScalarAsync("SELECT count(*) FROM chaos_mp WHERE state = 'completed'");

    private static Process StartWorker(string connectionString)
    {
        // tests/Reconciliation.Queue.Tests/bin/<Configuration>/<tfm>/ -> tests/Reconciliation.Queue.WorkerHost/bin/<Configuration>/<tfm>/
        var baseDirectory = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var tfm = baseDirectory.Name;
        var configuration = baseDirectory.Parent!.Name;
        var testsRoot = baseDirectory.Parent!.Parent!.Parent!.Parent!.FullName;
        var dll = Path.Combine(testsRoot, "Reconciliation.Queue.WorkerHost", "bin", configuration, tfm, "Reconciliation.Queue.WorkerHost.dll");
        Assert.True(File.Exists(dll), $"the worker host is not built: {dll}");
        var start = new ProcessStartInfo("dotnet", [dll])
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["QUEUE_CHAOS_CONNECTION"] = connectionString;
        start.Environment["QUEUE_CHAOS_QUEUE"] = Queue;
        var process = Process.Start(start)!;
        process.OutputDataReceived += static (_, _) => { };
        process.ErrorDataReceived += static (_, e) =>
        {
            if (e.Data is not null)
            {
                TestContext.Current.TestOutputHelper?.WriteLine("worker: " + e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }
}
