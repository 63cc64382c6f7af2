using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Reconciliation.Queue.Tests.Support;

internal static class TestQueue
{
    public static PostgresJobQueue Create(NpgsqlDataSource dataSource, string name, Action<PostgresQueueOptions>? configure = null)
    {
        var options = new PostgresQueueOptions();
        configure?.Invoke(options);
        return new PostgresJobQueue(name, dataSource, options, NullLogger<PostgresJobQueue>.Instance);
    }
}

/// <summary>A test payload.</summary>
public sealed record WorkItem(int Number, string Text);
