using Xunit;

// The tests start several replica processes each and judge lease timings of a few seconds: on a 2-core machine they
// run one at a time, so one test's processes never starve another's lease renewals.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
