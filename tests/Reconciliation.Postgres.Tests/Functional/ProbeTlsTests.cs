using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Reconciliation.Tests;
using Reconciliation.TestServers;
using Xunit;

namespace Reconciliation.Postgres.Tests.Functional;

/// <summary>
/// Under <c>SSL Mode=Require</c> the app's SSL callback (here: a certificate pin) may be the only thing that validates the
/// server, so the probe's own data source must run it: TLS is required by a PgBouncer (self-signed certificate) in front of
/// the real PostgreSQL, and the app's password lives only inside its data source.
/// </summary>
public sealed class ProbeTlsTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task The_probes_own_data_source_runs_the_apps_ssl_callback_under_SSL_Mode_Require(bool pinMatches)
    {
        var backend = await RequireServer.PostgresAsync();
        var database = new NpgsqlConnectionStringBuilder(await backend.CreateDatabaseAsync("probe_tls")).Database!;
        PgBouncerServer pooler;
        try
        {
            pooler = await PgBouncerServer.StartAsync(backend, new PgBouncerServerOptions { RequireTls = true, Databases = [new PgBouncerDatabase("app", database)] },
                TestContext.Current.CancellationToken);
        }
        catch (TestServerUnavailableException e) when (!TestServerUnavailableException.IsCi)
        {
            Assert.Skip(e.Message);
            throw;
        }

        await using var _ = pooler;
        var settings = new NpgsqlConnectionStringBuilder(pooler.ConnectionStringFor("app", pooling: true, applicationName: "orders")) { Password = null };
        Assert.Equal(SslMode.Require, settings.SslMode);
        var builder = new NpgsqlDataSourceBuilder(settings.ConnectionString) { Name = "orders-db" };
        builder.ConnectionStringBuilder.Password = pooler.PasswordOf(PgBouncerServer.ScramUser);
        var checks = 0;
        builder.UseSslClientAuthenticationOptionsCallback(o => o.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
        {
            Interlocked.Increment(ref checks);
            return pinMatches && certificate?.Subject == "CN=127.0.0.1";
        });
        await using var app = builder.Build();

        await using var harness = EngineHarness.Create(b => b.AddPostgres("main-db", app));
        var report = await harness.TickAsync();
        var connector = harness.Services.GetRequiredKeyedService<PostgresResource>("main-db").Connector;
        Assert.True(connector.IsNamed); // no clone: the callback rides on the probe's own named data source
        Assert.True(Volatile.Read(ref checks) > 0, "the probe's login ran the app's certificate check"); // the app itself opened nothing
        if (pinMatches)
        {
            Assert.Empty(report.ProbeFailures);
        }
        else
        {
            Assert.NotEmpty(report.ProbeFailures); // the pin refused the server: the probe does not log in around it
            Assert.NotEmpty((await harness.TickAsync()).ProbeFailures);
        }

        Assert.DoesNotContain(harness.Logs.GetSnapshot(), r => r.Id.Id == 111);
    }
}
