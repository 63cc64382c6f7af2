using Xunit;

namespace Reconciliation.Postgres.Tests;

public sealed class PostgresReconciliationOptionsValidatorTests
{
    private static string[] Errors(Action<PostgresReconciliationOptions> configure, string name = "main-db")
    {
        var options = new PostgresReconciliationOptions { Resource = name };
        configure(options);
        var result = new PostgresReconciliationOptionsValidator().Validate(name, options);
        return result.Failed ? [.. result.Failures!] : [];
    }

    [Fact]
    public void Defaults_are_valid() => Assert.Empty(Errors(_ => { }));

    [Theory]
    [InlineData("bad\u00e9name", "Reconciliation:Postgres:main-db:ApplicationNames:0 must be printable ASCII")]
    [InlineData(" ", "Reconciliation:Postgres:main-db:ApplicationNames:0 must not be empty")]
    [InlineData("a-name-that-is-far-too-long-for-postgres-to-keep-as-an-application-name", "Reconciliation:Postgres:main-db:ApplicationNames:0 must be at most 63 characters")]
    public void Application_names_postgres_would_mangle_are_rejected(string application, string expected) =>
        Assert.Contains(Errors(o => o.ApplicationNames.Add(application)), e => e.StartsWith(expected, StringComparison.Ordinal));

    [Fact]
    public void Every_bound_names_its_key()
    {
        var errors = Errors(o =>
        {
            o.CancelBlockersAfter = TimeSpan.FromSeconds(-1);
            o.ProbeConnectionIdleLifetime = TimeSpan.Zero;
            o.Replicas = 0;
            o.OtherClients = -1;
            o.PoolName = string.Empty;
            o.ProbeApplicationName = string.Empty;
            o.MigrationGate.MaxTransactionAge = TimeSpan.Zero;
            o.MigrationGate.MaxConnectionsUsage = 1.5;
        });

        Assert.Equal(
        [
            "Reconciliation:Postgres:main-db:PoolName",
            "Reconciliation:Postgres:main-db:ProbeApplicationName",
            "Reconciliation:Postgres:main-db:ProbeConnectionIdleLifetime",
            "Reconciliation:Postgres:main-db:CancelBlockersAfter",
            "Reconciliation:Postgres:main-db:Replicas",
            "Reconciliation:Postgres:main-db:OtherClients",
            "Reconciliation:Postgres:main-db:MigrationGate:MaxTransactionAge",
            "Reconciliation:Postgres:main-db:MigrationGate:MaxConnectionsUsage",
        ], errors.Select(e => e[..e.IndexOf(' ', StringComparison.Ordinal)]));
    }

    [Fact]
    public void A_resource_that_differs_from_the_registration_name_is_rejected() =>
        Assert.Contains(Errors(o => o.Resource = "other"), e => e.StartsWith("Reconciliation:Postgres:main-db:Resource is 'other'", StringComparison.Ordinal));
}
