using Xunit;

namespace Reconciliation.PgBouncer.Tests;

public sealed class PgBouncerReconciliationOptionsValidatorTests
{
    private static IReadOnlyList<string> Errors(Action<PgBouncerReconciliationOptions> configure)
    {
        var options = new PgBouncerReconciliationOptions { AdminConnectionString = "Host=pooler;Port=6432;Username=admin;Password=pw-secret" };
        options.Databases.Add("orders");
        configure(options);
        var result = new PgBouncerReconciliationOptionsValidator().Validate("pooler", options);
        return result.Failed ? [.. result.Failures] : [];
    }

    [Fact]
    public void Valid_options_pass() => Assert.Empty(Errors(_ => { }));

    public static TheoryData<string, string> Bad => new()
    {
        { "no-admin", "Reconciliation:PgBouncer:pooler:AdminConnectionString is required" },
        { "garbage-admin", "Reconciliation:PgBouncer:pooler:AdminConnectionString is not usable: The admin connection string is not a valid connection string." },
        { "socket-admin", "Reconciliation:PgBouncer:pooler:AdminConnectionString is not usable: The admin connection string names a Unix socket" },
        { "no-user", "Reconciliation:PgBouncer:pooler:AdminConnectionString is not usable: The admin connection string names no Username" },
        { "no-databases", "Reconciliation:PgBouncer:pooler:Databases must name at least one pooler database" },
        { "empty-database", "Reconciliation:PgBouncer:pooler:Databases:1 must not be empty." },
        { "long-database", "Reconciliation:PgBouncer:pooler:Databases:1 must be at most 63 characters" },
        { "control-database", "Reconciliation:PgBouncer:pooler:Databases:1 must be printable ASCII" },
        { "timeout-too-long", "Reconciliation:PgBouncer:pooler:CommandTimeout must be above zero and at most 00:05:00" },
        { "application-name", "Reconciliation:PgBouncer:pooler:ApplicationName must be 1 to 63 printable ASCII characters." },
    };

    [Theory]
    [MemberData(nameof(Bad))]
    public void Each_bad_value_is_reported_with_its_full_key_and_without_the_password(string fault, string expected)
    {
        var errors = Errors(o =>
        {
            switch (fault)
            {
                case "no-admin": o.AdminConnectionString = null; break;
                case "garbage-admin": o.AdminConnectionString = "Host=pooler;Password=pw-secret;Bogus Key=1"; break;
                case "socket-admin": o.AdminConnectionString = "Host=/var/run/postgresql;Username=admin;Password=pw-secret"; break;
                case "no-user": o.AdminConnectionString = "Host=pooler;Password=pw-secret"; break;
                case "no-databases": o.Databases.Clear(); break;
                case "empty-database": o.Databases.Add(" "); break;
                case "long-database": o.Databases.Add(new string('d', 64)); break;
                case "control-database": o.Databases.Add("a\nb"); break;
                case "timeout-too-long": o.CommandTimeout = TimeSpan.FromMinutes(6); break;
                case "application-name": o.ApplicationName = ""; break;
            }
        });

        Assert.Contains(errors, e => e.StartsWith(expected, StringComparison.Ordinal));
        Assert.All(errors, e => Assert.DoesNotContain("pw-secret", e, StringComparison.Ordinal));
    }
}
