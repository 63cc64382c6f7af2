using System.Globalization;
using System.Text.RegularExpressions;

namespace Reconciliation.ReplicaHost;

/// <summary>
/// The command line. It never carries a secret: connection strings are passed as the NAME of an environment variable
/// (<c>--connection FLEET_COORDINATION</c>), and a value that looks like a connection string is refused.
/// </summary>
internal sealed partial record HostArguments
{
    public const string Usage = """
        Reconciliation.ReplicaHost: one replica of a reconciled service (for the fleet tests; never packed).
          --replica <id>                  this replica's id (Reconciliation:ReplicaId); required
          --coordination none|postgres|redis
                                          the fleet's coordination store (default none: in memory, this process only)
          --connection <ENV_VAR>          the environment variable holding the store's connection string
                                          (default RECONCILIATION_COORDINATION); never the connection string itself
          --rules <file.json | section>   a JSON file with a Reconciliation section (and Postgres:main-db / Redis:cache
                                          options), or the name of the configuration section to bind (default Reconciliation)
          --lease-ttl <seconds>           the coordination lease's time to live (default: the store's)
          --schema <name>                 PostgreSQL coordination schema (default: the store's)
          --key-prefix <prefix>           Redis coordination key prefix (default: the store's)
          --app-postgres <ENV_VAR>        watch that database as resource main-db (postgres.* probes and healers)
          --app-redis <ENV_VAR>           watch that Redis as resource cache (redis.* probes and healers)
          --fault-file <path>             resources 'shared' and 'local' read fleet.fault from this file; registers the
                                          test healers fleet.hang (shared resource) and fleet.local (process)
        Output: one JSON object per line on stdout. Secrets: environment variables only; none is printed.
        """;

    public required string Replica { get; init; }

    public string Coordination { get; init; } = "none";

    public string ConnectionVariable { get; init; } = "RECONCILIATION_COORDINATION";

    public string? Rules { get; init; }

    public TimeSpan? LeaseTimeToLive { get; init; }

    public string? Schema { get; init; }

    public string? KeyPrefix { get; init; }

    public string? AppPostgresVariable { get; init; }

    public string? AppRedisVariable { get; init; }

    public string? FaultFile { get; init; }

    /// <summary>Parses the command line; throws <see cref="ArgumentException"/> naming the bad switch (never echoing its value).</summary>
    public static HostArguments Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            if (!name.StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                throw new ArgumentException($"expected '--switch value' pairs; argument {i + 1} has no value or is not a switch");
            }

            values[name] = args[++i];
        }

        string? Take(string name) => values.Remove(name, out var value) ? value : null;

        var parsed = new HostArguments
        {
            Replica = Take("--replica") ?? throw new ArgumentException("--replica is required"),
            Coordination = (Take("--coordination") ?? "none").ToLowerInvariant(),
            ConnectionVariable = Variable("--connection", Take("--connection")) ?? "RECONCILIATION_COORDINATION",
            Rules = Take("--rules"),
            LeaseTimeToLive = Take("--lease-ttl") is { } ttl ? TimeSpan.FromSeconds(double.Parse(ttl, CultureInfo.InvariantCulture)) : null,
            Schema = Take("--schema"),
            KeyPrefix = Take("--key-prefix"),
            AppPostgresVariable = Variable("--app-postgres", Take("--app-postgres")),
            AppRedisVariable = Variable("--app-redis", Take("--app-redis")),
            FaultFile = Take("--fault-file"),
        };
        if (values.Count > 0)
        {
            throw new ArgumentException($"unknown switch {values.Keys.First()}");
        }

        if (parsed.Coordination is not ("none" or "postgres" or "redis"))
        {
            throw new ArgumentException("--coordination must be none, postgres or redis");
        }

        return parsed;
    }

    /// <summary>The value of the environment variable <paramref name="variable"/>; throws naming the variable (never its value) when unset.</summary>
    public static string Secret(string variable, string @switch) =>
        Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value
            ? value
            : throw new ArgumentException($"{@switch}: the environment variable {variable} is not set");

    private static string? Variable(string @switch, string? value)
    {
        if (value is null)
        {
            return null;
        }

        // A connection string on the command line would show in every process listing: refuse it, and do not echo it.
        return VariableName().IsMatch(value)
            ? value
            : throw new ArgumentException($"{@switch} takes the NAME of an environment variable holding the connection string, not the connection string itself");
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex VariableName();
}
