using Microsoft.Extensions.Time.Testing;

namespace Reconciliation.Tests.Coordination;

/// <summary>The renewal half every fleet lease shares: renew every third of the TTL, give the lease up before the store could.</summary>
public sealed class RenewingLeaseHandleTests
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_held_lease_is_renewed_every_third_of_its_time_to_live_and_released_on_dispose()
    {
        var time = new FakeTimeProvider();
        var store = new ScriptedStore();
        var handle = new TestHandle(store, time);

        for (var i = 1; i <= 4; i++)
        {
            time.Advance(Ttl / 3);
            await store.WhenRenewedAsync(i);
        }

        Assert.False(handle.Lost.IsCancellationRequested);
        await handle.DisposeAsync();
        Assert.Equal(1, store.Releases);

        time.Advance(Ttl);
        Assert.Equal(4, store.Renewals); // the timer is gone with the handle
    }

    [Fact]
    public async Task A_renewal_that_finds_another_holder_fires_Lost_at_once_and_the_lease_is_not_released()
    {
        var time = new FakeTimeProvider();
        var store = new ScriptedStore { Answer = () => false };
        var handle = new TestHandle(store, time);

        time.Advance(Ttl / 3);
        await store.WhenRenewedAsync(1);

        Assert.True(handle.Lost.IsCancellationRequested);
        Assert.Equal("the lease was lost: another holder has it", handle.LostReason);
        await handle.DisposeAsync();
        Assert.Equal(0, store.Releases); // it is not ours any more
    }

    [Fact]
    public async Task An_unreachable_store_keeps_the_lease_while_surely_valid_and_gives_it_up_before_the_store_could()
    {
        var time = new FakeTimeProvider();
        var store = new ScriptedStore { Answer = () => throw new TimeoutException("store unreachable") };
        var handle = new TestHandle(store, time);

        time.Advance(Ttl / 3);
        await store.WhenRenewedAsync(1);
        Assert.False(handle.Lost.IsCancellationRequested); // 20 s of 30 left: still surely valid

        time.Advance(Ttl / 3);
        await store.WhenRenewedAsync(2);

        // 10 s left, less than one renewal period: lost now, while the store still holds it for this holder.
        Assert.True(handle.Lost.IsCancellationRequested);
        Assert.StartsWith("the lease was lost: the store could not renew it within its time to live", handle.LostReason, StringComparison.Ordinal);
        await handle.DisposeAsync();
    }

    [Fact]
    public async Task A_successful_renewal_after_a_failed_one_extends_the_lease_from_when_it_was_sent()
    {
        var time = new FakeTimeProvider();
        var fail = true;
        var store = new ScriptedStore { Answer = () => fail ? throw new TimeoutException("blip") : true };
        var handle = new TestHandle(store, time);

        time.Advance(Ttl / 3);
        await store.WhenRenewedAsync(1);
        fail = false;
        time.Advance(Ttl / 3);
        await store.WhenRenewedAsync(2);
        time.Advance(Ttl / 3);
        await store.WhenRenewedAsync(3);

        Assert.False(handle.Lost.IsCancellationRequested);
        await handle.DisposeAsync();
    }

    private sealed class ScriptedStore
    {
        private readonly Lock _gate = new();
        private readonly List<(int Count, TaskCompletionSource Done)> _waiters = [];

        public Func<bool> Answer { get; set; } = () => true;

        public int Renewals { get; private set; }

        public int Releases { get; set; }

        public bool Renew()
        {
            try
            {
                return Answer();
            }
            finally
            {
                lock (_gate)
                {
                    Renewals++;
                    foreach (var waiter in _waiters.Where(w => w.Count <= Renewals))
                    {
                        waiter.Done.TrySetResult();
                    }
                }
            }
        }

        public Task WhenRenewedAsync(int count)
        {
            lock (_gate)
            {
                if (Renewals >= count)
                {
                    return Task.CompletedTask;
                }

                var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _waiters.Add((count, done));
                return done.Task.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
            }
        }
    }

    private sealed class TestHandle(ScriptedStore store, FakeTimeProvider time)
        : RenewingLeaseHandle(7, Ttl, time.GetTimestamp(), time)
    {
        protected override ValueTask<bool> RenewAsync(TimeSpan timeToLive, CancellationToken cancellationToken) => ValueTask.FromResult(store.Renew());

        protected override ValueTask ReleaseAsync(CancellationToken cancellationToken)
        {
            store.Releases++;
            return ValueTask.CompletedTask;
        }
    }
}
