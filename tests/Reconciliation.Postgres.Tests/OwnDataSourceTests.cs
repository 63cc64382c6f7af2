using System.Diagnostics.Metrics;
using System.Net.Security;
using Npgsql;
using Reconciliation.DataSources;
using Xunit;

namespace Reconciliation.Postgres.Tests;

/// <summary>
/// Pins the Npgsql behaviours the library's own named data sources rely on (<see cref="OwnDataSource"/>), so an Npgsql
/// upgrade that changes them fails here, loudly, instead of silently sending the probes back to unnamed clones: a clone made
/// with <c>CloneWith(Async)</c> from a connection string without a password carries its data source's password (static,
/// set later, or a provider's value of the moment) and SSL callback, and reads it back until it is opened. No server is
/// needed: nothing is opened (the hosts do not resolve).
/// </summary>
public sealed class OwnDataSourceTests
{
    private const string Server = "Host=db.example.invalid;Username=orders;Database=orders";

    [Fact]
    public void This_npgsql_hands_a_never_opened_clone_its_data_sources_password()
    {
        Assert.True(OwnDataSource.CarrierWorks);
    }

    [Fact]
    public async Task A_static_password_set_on_the_builder_or_later_is_read_back_without_opening_anything()
    {
        var ct = TestContext.Current.CancellationToken;
        var builder = new NpgsqlDataSourceBuilder(Server) { Name = "pin-static" };
        builder.ConnectionStringBuilder.Password = "static-Secret-1";
        await using var app = builder.Build();
        Assert.DoesNotContain("static-Secret-1", app.ConnectionString, StringComparison.Ordinal);

        Assert.Equal("static-Secret-1", await OwnDataSource.PasswordOfAsync(app, ct));
        Assert.Equal("static-Secret-1", OwnDataSource.PasswordOf(app));
        app.Password = "static-Secret-2";
        Assert.Equal("static-Secret-2", await OwnDataSource.PasswordOfAsync(app, ct));

        await using var none = new NpgsqlDataSourceBuilder(Server) { Name = "pin-none" }.Build();
        Assert.Null(await OwnDataSource.PasswordOfAsync(none, ct));
    }

    [Fact]
    public async Task A_password_provider_is_asked_each_time_and_a_periodic_one_gives_its_current_value()
    {
        var ct = TestContext.Current.CancellationToken;
        var calls = 0;
        var builder = new NpgsqlDataSourceBuilder(Server) { Name = "pin-provider" };
        builder.UsePasswordProvider(_ => $"token-{Interlocked.Increment(ref calls)}", (_, _) => ValueTask.FromResult($"token-{Interlocked.Increment(ref calls)}"));
        await using var app = builder.Build();
        Assert.Equal("token-1", await OwnDataSource.PasswordOfAsync(app, ct));
        Assert.Equal("token-2", await OwnDataSource.PasswordOfAsync(app, ct));
        Assert.Equal("token-3", OwnDataSource.PasswordOf(app));

        var periodic = new NpgsqlDataSourceBuilder(Server) { Name = "pin-periodic" };
        periodic.UsePeriodicPasswordProvider((_, _) => ValueTask.FromResult("periodic-token"), TimeSpan.FromHours(1), TimeSpan.FromSeconds(10));
        await using var rotating = periodic.Build();
        Assert.Equal("periodic-token", await OwnDataSource.PasswordOfAsync(rotating, ct));

        // Reading the SSL callback never asks the provider.
        var before = Volatile.Read(ref calls);
        OwnDataSource.SslCallbackOf(app);
        Assert.Equal(before, Volatile.Read(ref calls));
    }

    [Fact]
    public async Task The_apps_ssl_callback_is_carried_and_the_own_data_source_is_named_without_a_password_in_its_string()
    {
        Action<SslClientAuthenticationOptions> pinning = o => o.TargetHost = "pinned";
        var builder = new NpgsqlDataSourceBuilder(Server + ";SSL Mode=Require") { Name = "pin-ssl" };
        builder.UseSslClientAuthenticationOptionsCallback(pinning);
        builder.ConnectionStringBuilder.Password = "static-Secret-3";
        await using var app = builder.Build();
        Assert.Same(pinning, OwnDataSource.SslCallbackOf(app));

        await using var own = OwnDataSource.TryBuild(app, new NpgsqlConnectionStringBuilder(app.ConnectionString) { ApplicationName = "probe" }, "reconciliation-probe:pin");
        Assert.NotNull(own);
        Assert.DoesNotContain("static-Secret-3", own.ConnectionString, StringComparison.Ordinal);
        Assert.Contains("Application Name=probe", own.ConnectionString, StringComparison.Ordinal);
        Assert.Same(pinning, OwnDataSource.SslCallbackOf(own)); // installed on the own data source, as a clone would carry it
        Assert.Equal("static-Secret-3", await OwnDataSource.PasswordOfAsync(own, TestContext.Current.CancellationToken)); // through its provider

        await using var plain = new NpgsqlDataSourceBuilder(Server) { Name = "pin-plain" }.Build();
        Assert.Null(OwnDataSource.SslCallbackOf(plain));
    }

    /// <summary>
    /// Npgsql refuses a password provider next to a Passfile: with a passfile and no password in the app's data source the
    /// own data source keeps the passfile (it logs in as the app does); with a static password as well, the password wins
    /// for the app (Npgsql asks the data source first), so the own data source drops the passfile and asks for the password.
    /// </summary>
    [Fact]
    public async Task A_passfile_is_kept_unless_the_app_data_source_also_holds_a_password()
    {
        var ct = TestContext.Current.CancellationToken;
        var withPassfile = Server + ";Passfile=/nonexistent/pgpass";
        await using var passfileOnly = new NpgsqlDataSourceBuilder(withPassfile) { Name = "pin-passfile" }.Build();
        await using (var own = OwnDataSource.TryBuild(passfileOnly, new NpgsqlConnectionStringBuilder(passfileOnly.ConnectionString), "pin-own-1"))
        {
            Assert.NotNull(own);
            Assert.Contains("Passfile=/nonexistent/pgpass", own.ConnectionString, StringComparison.Ordinal);
            Assert.Null(await OwnDataSource.PasswordOfAsync(own, ct));
        }

        var builder = new NpgsqlDataSourceBuilder(withPassfile) { Name = "pin-passfile-and-password" };
        builder.ConnectionStringBuilder.Password = "static-Secret-5";
        await using var both = builder.Build();
        await using (var own = OwnDataSource.TryBuild(both, new NpgsqlConnectionStringBuilder(both.ConnectionString), "pin-own-2"))
        {
            Assert.NotNull(own);
            Assert.DoesNotContain("Passfile", own.ConnectionString, StringComparison.Ordinal);
            Assert.Equal("static-Secret-5", await OwnDataSource.PasswordOfAsync(own, ct));
        }
    }

    /// <summary>
    /// The carrier registers an unnamed, unpooled entry in Npgsql's process-wide registry (per distinct password, never
    /// evicted): its series carry the carrier's harmless name, none carries the app's server or any password.
    /// </summary>
    [Fact]
    public async Task The_carriers_registry_entry_reports_only_its_own_harmless_name()
    {
        var ct = TestContext.Current.CancellationToken;
        var builder = new NpgsqlDataSourceBuilder(Server) { Name = "pin-metrics" };
        builder.ConnectionStringBuilder.Password = "static-Secret-4";
        await using var app = builder.Build();
        Assert.Equal("static-Secret-4", await OwnDataSource.PasswordOfAsync(app, ct));

        var series = new List<string>();
        using var listener = new MeterListener
        {
            InstrumentPublished = static (instrument, l) =>
            {
                if (instrument.Meter.Name == "Npgsql")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<int>((instrument, _, tags, _) =>
        {
            lock (series)
            {
                series.Add(instrument.Name + " " + string.Join(' ', tags.ToArray().Select(t => $"{t.Key}={t.Value}")));
            }
        });
        listener.Start();
        listener.RecordObservableInstruments();

        string[] seen;
        lock (series)
        {
            seen = [.. series];
        }

        Assert.Contains(seen, s => s.Contains("db.client.connection.pool.name=" + OwnDataSource.CarrierPoolName + " ", StringComparison.Ordinal));
        Assert.DoesNotContain(seen, s => s.Contains("db.example.invalid", StringComparison.Ordinal));
        Assert.DoesNotContain(seen, s => s.Contains("static-Secret-", StringComparison.Ordinal));
    }
}
