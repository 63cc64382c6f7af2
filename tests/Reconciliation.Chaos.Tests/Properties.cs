using Xunit;

// Each test runs a whole service, its servers and worker processes under a storm: one at a time on a 2-core machine.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
