// Shared source: compiled into Reconciliation.Postgres and Reconciliation.Queue (neither references the other), each as
// its own internal type.
using System.Net.Security;
using Npgsql;

namespace Reconciliation.DataSources;

/// <summary>
/// Builds the library's own NAMED data sources (the probes' pools, the queue's LISTEN connection) from the app's data
/// source, so that they log in exactly as the app's does without this library holding its password, and Npgsql tags their
/// pool metrics with the given name instead of <c>Host=…;Port=…;Username=…;Database=…</c>.
/// </summary>
/// <remarks>
/// <para>Npgsql 10 has no public getter for a data source's password, but <see cref="NpgsqlConnection.CloneWithAsync"/> fills
/// a connection string without a password with the data source's current one (its static password, or its password
/// provider's current value) and returns a new, unopened connection whose <see cref="NpgsqlConnection.ConnectionString"/>
/// still reads as set, password included (it is replaced by the sanitized one only when the connection is opened). The
/// data source built here asks for the password that way, through a <em>carrier</em> connection that is never opened, on
/// every physical login (<see cref="NpgsqlDataSourceBuilder.UsePasswordProvider"/>), so a rotated password or token is
/// followed and none is kept in a field.</para>
/// <para>The carrier's connection string names no real server: <see cref="CarrierConnectionString"/>. Constructing a
/// connection from a string registers an unnamed data source in Npgsql's process-wide pool registry under that string,
/// password included, which Npgsql never evicts; its metric series carry <see cref="CarrierPoolName"/> and nothing else
/// (no connection is ever opened on it). So each DISTINCT password the app's data source hands out adds one such idle,
/// unpooled entry for the life of the process: one in all for a static password, one per rotation seen at a login of the
/// library's own connections for a rotating one. (The clone this replaces registered one per distinct password as well,
/// named after the real server.)</para>
/// <para>The app's <c>SslClientAuthenticationOptionsCallback</c> (which Npgsql also builds from the obsolete client
/// certificate and certificate validation callbacks) is carried over the same way, exactly as a clone carries it. Root
/// certificates configured on the app's builder (<c>UseRootCertificate…</c>) are carried by neither.</para>
/// <para>All this relies on two Npgsql behaviours checked once per process (<see cref="CarrierWorks"/>); when a future
/// Npgsql drops either, callers fall back to what they did before (a clone, with a warning).</para>
/// </remarks>
internal static class OwnDataSource
{
    /// <summary>The carrier's host: a reserved name (RFC 2606) that never resolves; nothing connects to it.</summary>
    public const string CarrierHost = "reconciliation-credentials.invalid";

    /// <summary>The carrier's connection string: no server, user or database; unpooled, so its registry entry holds no pool.</summary>
    public const string CarrierConnectionString = "Host=" + CarrierHost + ";Pooling=false";

    /// <summary>The name Npgsql gives the carrier's registry entry (its connection string without the password), as metrics show it.</summary>
    public const string CarrierPoolName = "Host=" + CarrierHost + ";Pooling=False";

    // A constant, not a secret: marks the carrier that only fetches the SSL callback, so no password provider is called for it.
    private const string Placeholder = "reconciliation-placeholder";

    private static readonly Lazy<bool> Check = new(CarrierBehaves);

    /// <summary>
    /// True when this Npgsql fills a clone's connection string with its data source's password AND leaves it readable until
    /// the clone is opened: checked once per process on a throwaway data source with a placeholder password.
    /// </summary>
    public static bool CarrierWorks => Check.Value;

    /// <summary>
    /// Builds a data source NAMED <paramref name="name"/> from <paramref name="settings"/> (derived from the app's connection
    /// string, which Npgsql gives without its password) that logs in with the app's data source's password of the moment and
    /// its SSL callback. Returns null when <see cref="CarrierWorks"/> is false.
    /// </summary>
    public static NpgsqlDataSource? TryBuild(NpgsqlDataSource app, NpgsqlConnectionStringBuilder settings, string name)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(settings);
        if (!CarrierWorks)
        {
            return null;
        }

        // Npgsql refuses a password provider next to a Passfile. An app whose connection string names a Passfile has no
        // password provider either (same rule), so its data source's password is the static one, or none: with none, the
        // passfile is what logs the app in, and it logs this data source in the same way.
        var own = new NpgsqlConnectionStringBuilder(settings.ConnectionString);
        var askTheApp = own.Passfile is null || PasswordOf(app) is not null;
        if (askTheApp)
        {
            own.Passfile = null;
            own.Password = null; // a persisted password: the provider hands out the data source's current one instead
        }

        var builder = new NpgsqlDataSourceBuilder(own.ConnectionString) { Name = name };
        if (askTheApp)
        {
            // Null (the app's data source holds no password) is what Npgsql expects from a provider with nothing to give:
            // it goes on to PGPASSWORD and the passfiles, as it does for the app.
            builder.UsePasswordProvider(_ => PasswordOf(app)!, async (_, ct) => (await PasswordOfAsync(app, ct).ConfigureAwait(false))!);
        }

        if (SslCallbackOf(app) is { } ssl)
        {
            builder.UseSslClientAuthenticationOptionsCallback(ssl);
        }

        return builder.Build();
    }

    /// <summary>
    /// The password the app's data source would log in with now (its static one or its provider's current value), or null
    /// when it holds none (then Npgsql goes on to <c>PGPASSWORD</c> and the passfiles, for the app and for us alike).
    /// </summary>
    public static async ValueTask<string?> PasswordOfAsync(NpgsqlDataSource app, CancellationToken cancellationToken)
    {
        var template = app.CreateConnection(); // never opened: takes nothing from the app's pool
        await using (template.ConfigureAwait(false))
        {
            var carrier = await template.CloneWithAsync(CarrierConnectionString, cancellationToken).ConfigureAwait(false);
            await using (carrier.ConfigureAwait(false))
            {
                return new NpgsqlConnectionStringBuilder(carrier.ConnectionString).Password;
            }
        }
    }

    /// <inheritdoc cref="PasswordOfAsync"/>
    public static string? PasswordOf(NpgsqlDataSource app)
    {
        using var template = app.CreateConnection();
        using var carrier = template.CloneWith(CarrierConnectionString);
        return new NpgsqlConnectionStringBuilder(carrier.ConnectionString).Password;
    }

    /// <summary>The app's data source's SSL callback, as <see cref="NpgsqlConnection.CloneWith"/> carries it (no password provider is called).</summary>
    public static Action<SslClientAuthenticationOptions>? SslCallbackOf(NpgsqlDataSource app)
    {
        using var template = app.CreateConnection();
        using var carrier = template.CloneWith(CarrierConnectionString + ";Password=" + Placeholder);
        return carrier.SslClientAuthenticationOptionsCallback;
    }

    private static bool CarrierBehaves()
    {
        try
        {
            using var source = new NpgsqlDataSourceBuilder(CarrierConnectionString) { Name = "reconciliation-credentials-check" }.Build();
            source.Password = Placeholder;
            return PasswordOf(source) == Placeholder;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or NotSupportedException or NpgsqlException)
        {
            return false;
        }
    }
}
