using Npgsql;
using Reconciliation.Queue.Tests.Support;
using Xunit;

namespace Reconciliation.Queue.Tests.Functional;

/// <summary>Schema checks that never block the app: a version read first, DDL only when missing, and no adopting a stranger's table.</summary>
public sealed class QueueMigrationTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_process_starting_while_an_enqueue_transaction_is_open_does_not_block_on_it()
    {
        var dataSource = await TestDatabase.GetAsync(nameof(QueueMigrationTests));
        var first = TestQueue.Create(dataSource, "m_open");
        await first.MigrateAsync(Ct);

        // The app holds an enqueue open (RowExclusiveLock on the table until it commits).
        await using var connection = await dataSource.OpenConnectionAsync(Ct);
        await using var transaction = await connection.BeginTransactionAsync(Ct);
        await first.EnqueueAsync(transaction, new WorkItem(1, "open"), cancellationToken: Ct);

        // A new process starts: its queue checks the schema. Before, CREATE INDEX IF NOT EXISTS took a ShareLock and
        // waited here for the app's transaction to end.
        await using var otherProcess = await TestDatabase.CreateOtherAsync(nameof(QueueMigrationTests), b => b.ApplicationName = "m_open_starter");
        var starting = TestQueue.Create(otherProcess, "m_open").MigrateAsync(Ct);

        // Either it finishes, or it is seen waiting on a lock (which would be the failure).
        var settled = await TestDatabase.EventuallyAsync(async () => starting.IsCompleted
            || await dataSource.ScalarAsync("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'm_open_starter' AND wait_event_type = 'Lock'") > 0,
            TimeSpan.FromSeconds(30));
        Assert.True(settled);
        Assert.True(starting.IsCompletedSuccessfully, "the starting process waited on the open enqueue transaction");
        await transaction.CommitAsync(Ct);
        await starting;
    }

    [Fact]
    public async Task An_unrelated_table_with_the_queue_name_is_refused_with_its_missing_columns_and_left_alone()
    {
        var dataSource = await TestDatabase.GetAsync(nameof(QueueMigrationTests));
        await dataSource.ExecuteAsync("CREATE TABLE IF NOT EXISTS m_orders (id bigint PRIMARY KEY, state text, payload jsonb)");
        await dataSource.ExecuteAsync("INSERT INTO m_orders VALUES (1, 'paid', '{}') ON CONFLICT DO NOTHING");
        var queue = TestQueue.Create(dataSource, "m_orders");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => queue.EnqueueAsync(new WorkItem(1, "x"), cancellationToken: Ct));

        Assert.Contains("public.m_orders already exists and is not a queue table", error.Message, StringComparison.Ordinal);
        Assert.Contains("kind, ", error.Message, StringComparison.Ordinal);
        Assert.Contains("Nothing was changed", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, await dataSource.ScalarAsync("SELECT count(*) FROM m_orders"));
        Assert.Equal(1, await dataSource.ScalarAsync("SELECT count(*) FROM pg_indexes WHERE tablename = 'm_orders'")); // only its own primary key
    }

    [Fact]
    public async Task A_current_table_is_checked_without_DDL_and_a_missing_one_is_created_once_with_its_version()
    {
        var dataSource = await TestDatabase.GetAsync(nameof(QueueMigrationTests));
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => TestQueue.Create(dataSource, "m_version").MigrateAsync(Ct)));
        Assert.Equal(1, await dataSource.ScalarAsync("SELECT count(*) FROM pg_description WHERE objoid = 'm_version'::regclass AND description = 'reconciliation-queue:2'"));
        var created = await dataSource.ScalarAsync("SELECT count(*) FROM pg_indexes WHERE tablename = 'm_version'");
        Assert.Equal(6, created);

        // A later start reads the version and changes nothing (an index dropped by hand stays dropped: no DDL ran).
        await dataSource.ExecuteAsync("DROP INDEX m_version_dead");
        await TestQueue.Create(dataSource, "m_version").MigrateAsync(Ct);
        Assert.Equal(created - 1, await dataSource.ScalarAsync("SELECT count(*) FROM pg_indexes WHERE tablename = 'm_version'"));
    }
}
