using System.Diagnostics.Metrics;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Testing;
using Npgsql;
using Reconciliation.Queue.Notifications;
using Reconciliation.Queue.Tests.Support;
using Reconciliation.Tests;
using Xunit;

namespace Reconciliation.Queue.Tests.Functional;

/// <summary>The queue probe reads on its own connection, so it still answers while the app's pool is saturated.</summary>
public sealed class QueueProbeConnectionTests
{
    [Fact]
    public async Task The_probe_answers_while_every_connection_of_the_apps_pool_is_held()
    {
        var ct = TestContext.Current.CancellationToken;
        var server = await RequireServer.PostgresAsync();
        var database = await server.CreateDatabaseAsync(nameof(QueueProbeConnectionTests), ct);
        await using var app = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(database) { MaxPoolSize = 2, Timeout = 2 }.ConnectionString);
        var queue = TestQueue.Create(app, "saturated_q");
        await queue.EnqueueAsync(new WorkItem(1, "s"), cancellationToken: ct);
        await using var engine = new EngineHost(app, "saturated_q");
        await engine.TickAsync(ct); // migrations done, probe pool warm

        await using var held1 = await app.OpenConnectionAsync(ct);
        await using var held2 = await app.OpenConnectionAsync(ct);
        var report = await engine.TickAsync(ct);

        Assert.Equal(0, report.ValueOf(SignalNames.ProbeFailed, "saturated_q"));
        Assert.Equal(1, report.ValueOf(QueueSignalNames.Depth, "saturated_q"));

        // The password is in the app's connection string, which Npgsql keeps inside the data source: the probe's pool is
        // still its own named one.
        Assert.True(engine.Services.GetServices<IProbe>().OfType<QueueProbe>().Single().Connector.IsNamed);

        // The probe's session carries its own application_name and is idle outside any transaction between ticks.
        await using var admin = new NpgsqlConnection(server.AdminConnectionString);
        await admin.OpenAsync(ct);
        await using var sessions = new NpgsqlCommand(
            "SELECT count(*) FILTER (WHERE state = 'idle'), count(*) FROM pg_stat_activity WHERE application_name = $1 AND datname = $2", admin);
        sessions.Parameters.Add(new NpgsqlParameter { Value = QueueProbeConnector.ApplicationName });
        sessions.Parameters.Add(new NpgsqlParameter { Value = new NpgsqlConnectionStringBuilder(database).Database });
        await using var reader = await sessions.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        Assert.Equal(1, reader.GetInt64(1));
        Assert.Equal(1, reader.GetInt64(0));
    }

    /// <summary>
    /// The probe's pool is a data source of its own NAMED after the queue, derived from the app's: with the app's password in
    /// a passfile (outside the data source) it authenticates, and no series of Npgsql's meter for the probe's pool carries
    /// a connection string.
    /// </summary>
    [Fact]
    public async Task The_probe_pool_is_named_after_the_queue_and_no_metric_series_of_it_carries_a_connection_string()
    {
        var ct = TestContext.Current.CancellationToken;
        var server = await RequireServer.PostgresAsync();
        var database = await server.CreateDatabaseAsync("qprobe_named", ct);
        var settings = new NpgsqlConnectionStringBuilder(database);
        var password = settings.Password!;
        var passfile = Path.Combine(Path.GetTempPath(), $"pgpass-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(passfile, $"*:*:*:{settings.Username}:{password}\n", ct);
        try
        {
            settings.Password = null;
            settings.Passfile = passfile;
            await using var app = new NpgsqlDataSourceBuilder(settings.ConnectionString) { Name = "orders-db" }.Build();
            var queue = TestQueue.Create(app, "named_q");
            await queue.EnqueueAsync(new WorkItem(1, "s"), cancellationToken: ct);

            using var meter = new NpgsqlSeries();
            await using (var engine = new EngineHost(app, "named_q"))
            {
                for (var i = 0; i < 3; i++)
                {
                    var report = await engine.TickAsync(ct);
                    Assert.Equal(0, report.ValueOf(SignalNames.ProbeFailed, "named_q"));
                }

                meter.RecordObservables();
                var probe = engine.Services.GetServices<IProbe>().OfType<QueueProbe>().Single();
                Assert.True(probe.Connector.IsNamed);
                Assert.Equal("reconciliation-queue-probe:named_q", probe.Connector.DataSourceName);
                Assert.DoesNotContain(engine.Services.GetFakeLogCollector().GetSnapshot(), r => r.Id.Id == 323);
            }

            var series = meter.Series;
            Assert.Contains(series, s => s.Contains("db.client.connection.pool.name=reconciliation-queue-probe:named_q", StringComparison.Ordinal));

            // Other tests of this process run unnamed pools of their own databases; none of this database's series is unnamed.
            var database_ = settings.Database!;
            Assert.True(!series.Any(s => s.Contains(database_, StringComparison.Ordinal)), string.Join("\n", series.Where(s => s.Contains(database_, StringComparison.Ordinal)).Distinct()));
            Assert.DoesNotContain(series, s => s.Contains(password, StringComparison.Ordinal));
        }
        finally
        {
            File.Delete(passfile);
        }
    }

    /// <summary>
    /// The password lives only inside the app's data source (set on its builder, or handed out by a password provider): the
    /// queue probe's pool is named <c>reconciliation-queue-probe:&lt;queue&gt;</c> and the LISTEN connection's
    /// <c>reconciliation-queue-listener</c>, both logging in with the app's password of the moment; a job is enqueued, woken
    /// and run; the probe answers while the app's pool is saturated; no warning 323; and no series of Npgsql's meter carries
    /// this database, a password, or a connection string. (Before, the probe and the listener cloned the app's data source
    /// here, and those unnamed pools' series carried <c>Host=…;Port=…;Username=…;Database=…</c>.)
    /// </summary>
    [Theory]
    [InlineData("static")]
    [InlineData("provider")]
    public async Task A_password_held_only_by_the_app_data_source_still_gives_the_probe_and_the_listener_named_pools(string kind)
    {
        var ct = TestContext.Current.CancellationToken;
        var server = await RequireServer.PostgresAsync();
        var database = await server.CreateDatabaseAsync("qprobe_pw_" + kind, ct);
        var settings = new NpgsqlConnectionStringBuilder(database) { MaxPoolSize = 2, Timeout = 2 };
        var password = settings.Password!;
        settings.Password = null;
        var builder = new NpgsqlDataSourceBuilder(settings.ConnectionString) { Name = "orders-db" };
        var asked = 0;
        if (kind == "static")
        {
            builder.ConnectionStringBuilder.Password = password;
        }
        else
        {
            builder.UsePasswordProvider(_ => password, (_, _) =>
            {
                Interlocked.Increment(ref asked);
                return ValueTask.FromResult(password);
            });
        }

        await using var app = builder.Build();
        Assert.DoesNotContain(password, app.ConnectionString, StringComparison.Ordinal);
        using var meter = new NpgsqlSeries();

        await using var engine = new EngineHost(app, "pw_q");
        Assert.Equal(0, (await engine.TickAsync(ct)).ValueOf(SignalNames.ProbeFailed, "pw_q")); // migrations done, probe pool warm

        await using (var workers = WorkerHost.Create(app, "pw_q"))
        {
            var ran = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            workers.Script.Run = (job, _) =>
            {
                ran.TrySetResult(job.Id);
                return Task.CompletedTask;
            };
            await workers.StartAsync();
            var listener = workers.Services.GetRequiredService<QueueListenerHub>().For(app);
            await listener.Listening.WaitAsync(TimeSpan.FromSeconds(30), ct);
            Assert.True(listener.IsNamed);
            Assert.Equal(QueueListener.ApplicationName, listener.DataSourceName);

            var id = (await workers.Queue("pw_q").EnqueueAsync(new WorkItem(1, "s"), cancellationToken: ct)).JobId;
            Assert.Equal(id, await ran.Task.WaitAsync(TimeSpan.FromSeconds(30), ct));
            meter.RecordObservables(); // the listener's connection is open
        }

        await using (var held1 = await app.OpenConnectionAsync(ct))
        await using (var held2 = await app.OpenConnectionAsync(ct))
        {
            var report = await engine.TickAsync(ct);
            Assert.Equal(0, report.ValueOf(SignalNames.ProbeFailed, "pw_q"));
            Assert.Equal(0, report.ValueOf(QueueSignalNames.Depth, "pw_q"));
        }

        meter.RecordObservables();
        var probe = engine.Services.GetServices<IProbe>().OfType<QueueProbe>().Single();
        Assert.True(probe.Connector.IsNamed);
        Assert.Equal("reconciliation-queue-probe:pw_q", probe.Connector.DataSourceName);
        var logs = engine.Services.GetFakeLogCollector().GetSnapshot();
        Assert.DoesNotContain(logs, r => r.Id.Id == 323);
        Assert.DoesNotContain(logs, r => r.Message.Contains(password, StringComparison.Ordinal));
        if (kind == "provider")
        {
            Assert.True(Volatile.Read(ref asked) > 0);
        }

        var series = meter.Series;
        Assert.Contains(series, s => s.Contains("db.client.connection.pool.name=reconciliation-queue-probe:pw_q ", StringComparison.Ordinal));
        Assert.Contains(series, s => s.Contains("db.client.connection.pool.name=reconciliation-queue-listener ", StringComparison.Ordinal));

        // Other tests of this process run unnamed pools of their own databases; none of this database's series is unnamed.
        var name = new NpgsqlConnectionStringBuilder(database).Database!;
        Assert.True(!series.Any(s => s.Contains(name, StringComparison.Ordinal)), string.Join("\n", series.Where(s => s.Contains(name, StringComparison.Ordinal)).Distinct()));
        Assert.DoesNotContain(series, s => s.Contains(password, StringComparison.Ordinal));

        // The library's pools, tag by tag: the server's address and port only as OpenTelemetry's server.address/server.port
        // on db.client.operation.duration (as for every data source, the app's included), nothing else of the server.
        string[] forbidden = [settings.Host!, settings.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), name, password, "Host=", "Username=", "Database="];
        var ours = meter.Measurements.Where(m => m.Tags.Any(t => t.Key == "db.client.connection.pool.name"
            && t.Value is "reconciliation-queue-probe:pw_q" or QueueListener.ApplicationName)).ToArray();
        Assert.NotEmpty(ours);
        foreach (var (instrument, tags) in ours)
        {
            foreach (var (key, value) in tags)
            {
                if (key is "server.address" or "server.port")
                {
                    Assert.Equal("db.client.operation.duration", instrument);
                    continue;
                }

                Assert.True(!forbidden.Any(f => value?.ToString()?.Contains(f, StringComparison.Ordinal) == true), $"{instrument} {key}={value}");
            }
        }
    }

    /// <summary>
    /// A rotated password is followed by the LISTEN connection: after <c>ALTER ROLE … PASSWORD</c> the app's password
    /// provider hands out the new one, the listener's connection is killed, and it logs in again with the new password.
    /// </summary>
    [Fact]
    public async Task The_listener_follows_a_rotated_password_when_it_reconnects()
    {
        var ct = TestContext.Current.CancellationToken;
        var server = await RequireServer.PostgresAsync();
        var database = new NpgsqlConnectionStringBuilder(await server.CreateDatabaseAsync("qlisten_rotated", ct));
        var role = "r_" + database.Database;
        await using (var admin = new NpgsqlConnection(database.ConnectionString))
        {
            await admin.OpenAsync(ct);
            await using var create = new NpgsqlCommand($"CREATE ROLE \"{role}\" LOGIN PASSWORD 'first-Listen-pw'; ALTER DATABASE \"{database.Database}\" OWNER TO \"{role}\"", admin);
            await create.ExecuteNonQueryAsync(ct);
        }

        var current = "first-Listen-pw";
        var builder = new NpgsqlDataSourceBuilder(new NpgsqlConnectionStringBuilder(database.ConnectionString) { Username = role, Password = null }.ConnectionString) { Name = "orders-db" };
        builder.UsePasswordProvider(_ => Volatile.Read(ref current), (_, _) => ValueTask.FromResult(Volatile.Read(ref current)));
        await using var app = builder.Build();
        await using var workers = WorkerHost.Create(app, "rot_q");
        await workers.Queue("rot_q").MigrateAsync(ct);
        await workers.StartAsync();
        var listener = workers.Services.GetRequiredService<QueueListenerHub>().For(app);
        await listener.Listening.WaitAsync(TimeSpan.FromSeconds(30), ct);
        var before = listener.ProcessId;

        await using (var admin = new NpgsqlConnection(database.ConnectionString))
        {
            await admin.OpenAsync(ct);
            await using var rotate = new NpgsqlCommand($"ALTER ROLE \"{role}\" PASSWORD 'second-Listen-pw'", admin);
            await rotate.ExecuteNonQueryAsync(ct);
            Volatile.Write(ref current, "second-Listen-pw");
            await using var kill = new NpgsqlCommand($"SELECT pg_terminate_backend({before})", admin);
            await kill.ExecuteNonQueryAsync(ct);
        }

        Assert.True(await TestDatabase.EventuallyAsync(() => Task.FromResult(listener.ProcessId != 0 && listener.ProcessId != before), TimeSpan.FromSeconds(30)),
            "the listener logged in again with the rotated password");
        Assert.True(listener.IsNamed);
    }

    /// <summary>
    /// The fallback kept for an Npgsql that no longer hands a clone its data source's password (forced here): the derived
    /// pool cannot log in, the probe clones the app's data source, says so once (warning 323), and reads on; the password
    /// appears nowhere.
    /// </summary>
    [Fact]
    public async Task Without_the_password_handed_over_the_probe_falls_back_to_a_clone_and_says_so_once()
    {
        var ct = TestContext.Current.CancellationToken;
        var server = await RequireServer.PostgresAsync();
        var database = await server.CreateDatabaseAsync("qprobe_fallback", ct);
        var password = new NpgsqlConnectionStringBuilder(database).Password!;
        await using var app = new NpgsqlDataSourceBuilder(database) { Name = "orders-db" }.Build();
        var logs = new Microsoft.Extensions.Logging.Testing.FakeLogger();

        using var meter = new NpgsqlSeries();
        await using (var connector = new QueueProbeConnector(app, "fallback_q", logs, askAppForPassword: false))
        {
            for (var i = 0; i < 3; i++)
            {
                await using var connection = await connector.OpenAsync(ct);
                await using var command = new NpgsqlCommand("SELECT 1", connection);
                Assert.Equal(1, await command.ExecuteScalarAsync(ct));
            }

            meter.RecordObservables();
            Assert.False(connector.IsNamed);
        }

        Assert.Single(logs.Collector.GetSnapshot(), r => r.Id.Id == 323);
        Assert.DoesNotContain(logs.Collector.GetSnapshot(), r => r.Message.Contains(password, StringComparison.Ordinal));
        Assert.Contains(meter.Series, s => s.Contains("Application Name=reconciliation-queue-probe", StringComparison.Ordinal));
        Assert.DoesNotContain(meter.Series, s => s.Contains(password, StringComparison.Ordinal));
    }

    /// <summary>Every measurement of Npgsql's meter (observable instruments included, on demand) as "name tag=value ...".</summary>
    private sealed class NpgsqlSeries : IDisposable
    {
        private readonly List<string> _series = [];
        private readonly List<(string Instrument, KeyValuePair<string, object?>[] Tags)> _measurements = [];
        private readonly MeterListener _listener;

        public NpgsqlSeries()
        {
            _listener = new MeterListener
            {
                InstrumentPublished = static (instrument, l) =>
                {
                    if (instrument.Meter.Name == "Npgsql")
                    {
                        l.EnableMeasurementEvents(instrument);
                    }
                },
            };
            _listener.SetMeasurementEventCallback<int>(Capture);
            _listener.SetMeasurementEventCallback<long>(Capture);
            _listener.SetMeasurementEventCallback<double>(Capture);
            _listener.Start();
        }

        public string[] Series
        {
            get
            {
                lock (_series)
                {
                    return [.. _series];
                }
            }
        }

        public (string Instrument, KeyValuePair<string, object?>[] Tags)[] Measurements
        {
            get
            {
                lock (_series)
                {
                    return [.. _measurements];
                }
            }
        }

        public void RecordObservables() => _listener.RecordObservableInstruments();

        public void Dispose() => _listener.Dispose();

        private void Capture<T>(Instrument instrument, T value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
        {
            var line = new StringBuilder(instrument.Name);
            foreach (var tag in tags)
            {
                line.Append(' ').Append(tag.Key).Append('=').Append(tag.Value);
            }

            lock (_series)
            {
                _series.Add(line.ToString());
                _measurements.Add((instrument.Name, tags.ToArray()));
            }
        }
    }
}
