using Microsoft.Extensions.Configuration;
using Npgsql;
using StackExchange.Redis;

namespace Reconciliation.Tool.Configuration;

/// <summary>
/// Loads <c>reconcile.json</c>: the <c>Reconciliation</c> section exactly as an app's appsettings has it (rules, healers,
/// interval, ...) plus the resources to watch in the adapters' own sections under it (<c>Reconciliation:Postgres:&lt;name&gt;</c>,
/// <c>Reconciliation:PgBouncer:&lt;name&gt;</c>, <c>Reconciliation:Redis:&lt;name&gt;</c>, <c>Reconciliation:Queues:&lt;name&gt;</c>,
/// <c>Reconciliation:HttpEndpoints:&lt;name&gt;</c>, <c>Reconciliation:Webhooks:&lt;name&gt;</c>), so every validation message
/// names a key that exists in the file. Secrets are references, resolved here: <c>env:NAME</c> (an environment variable) or
/// <c>file:/path</c> (a file's content, relative paths from the configuration file's folder). A connection string written
/// into the file itself is accepted only without a password.
/// </summary>
internal static class ToolConfiguration
{
    public const string Root = "Reconciliation";
    public const string Postgres = "Postgres";
    public const string PgBouncer = "PgBouncer";
    public const string Redis = "Redis";
    public const string Queues = "Queues";
    public const string HttpEndpoints = "HttpEndpoints";
    public const string Webhooks = "Webhooks";

    /// <summary>The Postgres resource a queue lives in (instead of a connection string of its own).</summary>
    public const string QueuePostgresKey = "Postgres";

    private enum SecretKind
    {
        Npgsql,
        Redis,
        Opaque,
    }

    /// <summary>Reads the file and resolves its secret references.</summary>
    /// <exception cref="ToolConfigurationException">The file is missing or unreadable, or a reference does not resolve (each message names the key).</exception>
    public static IConfigurationRoot Load(string path, bool reloadOnChange)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            throw new ToolConfigurationException([$"--config: the file '{path}' does not exist."]);
        }

        IConfigurationRoot file;
        try
        {
            file = new ConfigurationBuilder()
                .SetBasePath(Path.GetDirectoryName(full)!)
                .AddJsonFile(Path.GetFileName(full), optional: false, reloadOnChange: reloadOnChange)
                .Build();
        }
        catch (InvalidDataException e)
        {
            // The JSON provider names the file and the line; the text of the file is not echoed.
            throw new ToolConfigurationException([$"--config: {e.Message}"]);
        }
        catch (FormatException e)
        {
            throw new ToolConfigurationException([$"--config: {e.Message}"]);
        }

        var errors = new List<string>();
        var resolved = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        var root = file.GetSection(Root);
        if (!root.Exists())
        {
            errors.Add($"{Root}: the section is missing; it holds the rules and the resources to watch (see docs/tool.md).");
        }

        var baseDirectory = Path.GetDirectoryName(full)!;
        foreach (var resource in root.GetSection(Postgres).GetChildren())
        {
            Resolve(resource.GetSection("ConnectionString"), SecretKind.Npgsql, required: true, baseDirectory, resolved, errors);
            Resolve(resource.GetSection("ProbeConnectionString"), SecretKind.Npgsql, required: false, baseDirectory, resolved, errors);
        }

        foreach (var pooler in root.GetSection(PgBouncer).GetChildren())
        {
            Resolve(pooler.GetSection("AdminConnectionString"), SecretKind.Npgsql, required: true, baseDirectory, resolved, errors);
        }

        foreach (var server in root.GetSection(Redis).GetChildren())
        {
            Resolve(server.GetSection("Configuration"), SecretKind.Redis, required: true, baseDirectory, resolved, errors);
        }

        foreach (var queue in root.GetSection(Queues).GetChildren())
        {
            var connection = queue.GetSection("ConnectionString");
            var postgres = queue[QueuePostgresKey];
            if (connection.Value is null && postgres is null)
            {
                errors.Add($"{queue.Path}: set {QueuePostgresKey} (the name of a resource under {Root}:{Postgres}) or ConnectionString.");
            }
            else if (postgres is not null && !root.GetSection(Postgres).GetSection(postgres).Exists())
            {
                errors.Add($"{queue.Path}:{QueuePostgresKey} names '{postgres}', which is not a resource under {Root}:{Postgres}.");
            }

            Resolve(connection, SecretKind.Npgsql, required: false, baseDirectory, resolved, errors);
        }

        foreach (var webhook in root.GetSection(Webhooks).GetChildren())
        {
            Resolve(webhook.GetSection("Secret"), SecretKind.Opaque, required: false, baseDirectory, resolved, errors);
            foreach (var secret in webhook.GetSection("Secrets").GetChildren())
            {
                Resolve(secret, SecretKind.Opaque, required: true, baseDirectory, resolved, errors);
            }

            foreach (var header in webhook.GetSection("Headers").GetChildren())
            {
                if (IsReference(header.Value))
                {
                    Resolve(header, SecretKind.Opaque, required: true, baseDirectory, resolved, errors);
                }
            }
        }

        if (errors.Count > 0)
        {
            throw new ToolConfigurationException(errors);
        }

        // The resolved secrets live only in this in-memory layer, on top of the file; nothing prints configuration values.
        return new ConfigurationBuilder().AddConfiguration(file).AddInMemoryCollection(resolved).Build();
    }

    private static bool IsReference(string? value) =>
        value is not null && (value.StartsWith("env:", StringComparison.Ordinal) || value.StartsWith("file:", StringComparison.Ordinal));

    private static void Resolve(IConfigurationSection section, SecretKind kind, bool required, string baseDirectory,
        Dictionary<string, string?> resolved, List<string> errors)
    {
        var value = section.Value;
        if (string.IsNullOrWhiteSpace(value))
        {
            if (required)
            {
                errors.Add($"{section.Path} is required: \"env:NAME\" (an environment variable holds it) or \"file:/path\" (a file holds it).");
            }

            return;
        }

        if (value.StartsWith("env:", StringComparison.Ordinal))
        {
            var name = value[4..];
            var secret = name.Length == 0 ? null : Environment.GetEnvironmentVariable(name);
            if (string.IsNullOrEmpty(secret))
            {
                errors.Add($"{section.Path} refers to the environment variable '{name}', which is not set.");
                return;
            }

            resolved[section.Path] = secret;
            return;
        }

        if (value.StartsWith("file:", StringComparison.Ordinal))
        {
            var file = Path.Combine(baseDirectory, value[5..]);
            try
            {
                var secret = File.ReadAllText(file).TrimEnd('\r', '\n');
                if (secret.Length == 0)
                {
                    errors.Add($"{section.Path} refers to the file '{value[5..]}', which is empty.");
                    return;
                }

                resolved[section.Path] = secret;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                errors.Add($"{section.Path} refers to the file '{value[5..]}', which cannot be read ({e.GetType().Name}).");
            }

            return;
        }

        // Written into the file itself: fine for "Host=db;Username=monitor" (peer, pgpass or PGPASSWORD), never with a password.
        if (kind == SecretKind.Opaque || HasPassword(kind, value))
        {
            errors.Add($"{section.Path} holds a secret in the configuration file itself: reference it instead, \"env:NAME\" or \"file:/path\".");
        }
    }

    private static bool HasPassword(SecretKind kind, string value)
    {
        try
        {
            return kind switch
            {
                SecretKind.Npgsql => !string.IsNullOrEmpty(new NpgsqlConnectionStringBuilder(value).Password),
                _ => !string.IsNullOrEmpty(ConfigurationOptions.Parse(value).Password),
            };
        }
        catch (ArgumentException)
        {
            // Unparseable: the adapter reports it when connecting; treat it as possibly secret so it is never echoed.
            return false;
        }
    }
}

/// <summary>The configuration is wrong: exit 2 with every message (each names its full key, never a secret).</summary>
internal sealed class ToolConfigurationException(IReadOnlyList<string> errors) : Exception(string.Join(Environment.NewLine, errors))
{
    public IReadOnlyList<string> Errors { get; } = errors;
}
