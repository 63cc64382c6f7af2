using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Filters;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Reconciliation.Benchmarks.Support;

// Switches of our own, taken out before BenchmarkDotNet parses the rest (docs/benchmarks.md):
//   --short    one in-process ShortRun job (1 launch, 3 warm-ups, 3 iterations): the default set in a few minutes on 2 cores.
//   --servers  also run the opt-in [Servers] category (real PostgreSQL/Redis started by Reconciliation.TestServers).
// Without --filter every benchmark of the selected categories runs (no interactive prompt).
// Everything else is BenchmarkDotNet's own command line (--filter, --job, --inProcess, --artifacts, --list flat, ...).
if (args is ["queue-load", ..])
{
    // The queue's load command (docs/benchmarks.md, section 5): not a BenchmarkDotNet run.
    await Reconciliation.Benchmarks.Queue.QueueLoad.RunAsync(args[1..]);
    return;
}

var arguments = args.ToList();
var shortMode = arguments.Remove("--short");
var servers = arguments.Remove("--servers");
if (!arguments.Any(a => a is "--filter" or "-f" or "--list" || a.StartsWith("--filter=", StringComparison.Ordinal)))
{
    arguments.AddRange(["--filter", "*"]);
}

var config = ManualConfig.Create(DefaultConfig.Instance);
if (!servers)
{
    config.AddFilter(new SimpleFilter(b => !b.Descriptor.Categories.Contains(Categories.Servers)));
}

if (shortMode)
{
    // In process: no per-benchmark project build, which alone takes minutes on 2 shared cores.
    config.AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance).WithId("Short"));
}
else
{
    // The default (out-of-process) toolchain builds a copy of every project first: BenchmarkDotNet's 2-minute limit is too
    // short for that on a 2-core machine.
    config.WithBuildTimeout(TimeSpan.FromMinutes(10));
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run([.. arguments], config);
