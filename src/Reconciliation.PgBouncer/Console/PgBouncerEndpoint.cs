using System.Globalization;
using Npgsql;

namespace Reconciliation.PgBouncer;

/// <summary>
/// Where and how to reach the admin console, read once from a connection string in Npgsql's format
/// (<c>Host=…;Port=6432;Username=admin;Password=…;SSL Mode=Prefer</c>). The database is always <c>pgbouncer</c>.
/// <see cref="ToString"/> never shows the password.
/// </summary>
internal sealed class PgBouncerEndpoint
{
    public const string ConsoleDatabase = "pgbouncer";

    private PgBouncerEndpoint(string host, int port, string user, string? password, SslMode sslMode, string applicationName)
    {
        Host = host;
        Port = port;
        User = user;
        Password = password;
        SslMode = sslMode;
        ApplicationName = applicationName;
    }

    public string Host { get; }

    public int Port { get; }

    public string User { get; }

    public string? Password { get; }

    public SslMode SslMode { get; }

    public string ApplicationName { get; }

    /// <summary>Parses <paramref name="connectionString"/>. Errors never echo it (it holds the password).</summary>
    /// <exception cref="ArgumentException">Not a valid connection string, no host or user, several hosts, or a database other than <c>pgbouncer</c>.</exception>
    public static PgBouncerEndpoint Parse(string connectionString, string applicationName)
    {
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException)
        {
            throw new ArgumentException("The admin connection string is not a valid connection string.");
        }

        var host = builder.Host;
        if (string.IsNullOrWhiteSpace(host))
        {
            throw new ArgumentException("The admin connection string names no Host.");
        }

        if (host.Contains(',', StringComparison.Ordinal))
        {
            throw new ArgumentException("The admin connection string names several hosts; give the one pooler to watch.");
        }

        if (host.StartsWith('/'))
        {
            throw new ArgumentException("The admin connection string names a Unix socket; give the pooler's TCP host and port.");
        }

        if (string.IsNullOrWhiteSpace(builder.Username))
        {
            throw new ArgumentException("The admin connection string names no Username (an admin_users or stats_users entry of the pooler).");
        }

        if (builder.Database is { Length: > 0 } database && !string.Equals(database, ConsoleDatabase, StringComparison.Ordinal))
        {
            throw new ArgumentException($"The admin connection string names the database '{database}'; the admin console is the database '{ConsoleDatabase}'.");
        }

        return new PgBouncerEndpoint(host, builder.Port, builder.Username, builder.Password, builder.SslMode, applicationName);
    }

    /// <summary>Host and port, for messages.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Host}:{Port}");
}
