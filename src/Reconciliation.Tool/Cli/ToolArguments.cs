using System.Globalization;

namespace Reconciliation.Tool.Cli;

/// <summary>The parsed command line of <c>reconcile</c>. Secrets are never accepted here: see <see cref="Parse"/>.</summary>
internal sealed partial class ToolArguments
{
    /// <summary>The default of <c>--wait</c>: 60 seconds.</summary>
    public static readonly TimeSpan DefaultWait = TimeSpan.FromSeconds(60);

    /// <summary>The default port of <c>reconcile watch</c>: 9464.</summary>
    public const int DefaultPort = 9464;

    public const string Usage = """
        usage:
          reconcile watch --config reconcile.json [--urls http://*:9464 | --port 9464]
          reconcile gate  --config reconcile.json [--wait 60s] [--json report.json] [--format text|github] [--allow-degraded]

        Connection strings and passwords never go on the command line: the configuration file references them
        ("env:NAME" for an environment variable, "file:/path" for a file). Exit codes of gate: 0 every rule is clear,
        1 something is not clear when the wait ends, 2 the configuration (or the command line) is wrong.
        """;

    public required string Command { get; init; }

    public required string ConfigPath { get; init; }

    public TimeSpan Wait { get; init; } = DefaultWait;

    public string? JsonPath { get; init; }

    public bool GitHubFormat { get; init; }

    public bool AllowDegraded { get; init; }

    public string? Urls { get; init; }

    /// <summary>
    /// Parses <paramref name="args"/>. Any argument that carries a password (<c>Password=</c>, <c>--password</c>, a URL with
    /// user information) is refused without being echoed: the command line is visible to every user of the machine
    /// (<c>ps</c>, <c>/proc/*/cmdline</c>) and lands in shell history and CI logs.
    /// </summary>
    /// <exception cref="ToolUsageException">The command line is wrong; the message says why.</exception>
    public static ToolArguments Parse(IReadOnlyList<string> args)
    {
        for (var i = 0; i < args.Count; i++)
        {
            if (LooksLikeSecret(args[i]))
            {
                throw new ToolUsageException(
                    $"argument {i + 1} looks like it carries a password; reconcile refuses secrets on the command line (the process list and shell history show them). "
                    + "Reference it from the configuration file instead: \"env:NAME\" (an environment variable) or \"file:/path\" (a file).");
            }
        }

        if (args.Count == 0 || args[0] is "-h" or "--help" or "help")
        {
            throw new ToolUsageException("no command given.");
        }

        var command = args[0];
        if (command is not ("watch" or "gate"))
        {
            throw new ToolUsageException($"unknown command '{command}': use watch or gate.");
        }

        string? config = null, json = null, urls = null, format = null;
        TimeSpan? wait = null;
        int? port = null;
        var allowDegraded = false;
        for (var i = 1; i < args.Count; i++)
        {
            var (name, inline) = Split(args[i]);
            string Value()
            {
                if (inline is not null)
                {
                    return inline;
                }

                if (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                {
                    throw new ToolUsageException($"{name} needs a value.");
                }

                return args[++i];
            }

            switch (name)
            {
                case "--config" or "-c":
                    config = Value();
                    break;
                case "--wait" when command == "gate":
                    var text = Value();
                    wait = ParseDuration(text) ?? throw new ToolUsageException($"--wait '{text}' is not a duration (60s, 2m, 1h30m, 500ms or 00:01:00).");
                    if (wait < TimeSpan.Zero || wait > TimeSpan.FromDays(1))
                    {
                        throw new ToolUsageException("--wait must be between 0s and 24h.");
                    }

                    break;
                case "--json" when command == "gate":
                    json = Value();
                    break;
                case "--format" when command == "gate":
                    format = Value();
                    if (format is not ("text" or "github"))
                    {
                        throw new ToolUsageException($"--format '{format}' is not known: use text or github.");
                    }

                    break;
                case "--allow-degraded" when command == "gate":
                    allowDegraded = true;
                    break;
                case "--urls" when command == "watch":
                    urls = Value();
                    break;
                case "--port" when command == "watch":
                    var portText = Value();
                    port = int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var p) && p is > 0 and <= 65535
                        ? p
                        : throw new ToolUsageException($"--port '{portText}' is not a port (1-65535).");
                    break;
                default:
                    throw new ToolUsageException($"unknown option '{name}' for {command}.");
            }
        }

        if (string.IsNullOrWhiteSpace(config))
        {
            throw new ToolUsageException("--config is required (the reconcile.json to run).");
        }

        if (urls is not null && port is not null)
        {
            throw new ToolUsageException("give --urls or --port, not both.");
        }

        return new ToolArguments
        {
            Command = command,
            ConfigPath = config,
            Wait = wait ?? DefaultWait,
            JsonPath = json,
            GitHubFormat = format == "github",
            AllowDegraded = allowDegraded,
            Urls = urls ?? (port is int listen ? string.Create(CultureInfo.InvariantCulture, $"http://*:{listen}") : null),
        };
    }

    /// <summary>Parses <c>500ms</c>, <c>60s</c>, <c>2m</c>, <c>1h30m</c> or a <see cref="TimeSpan"/> (<c>00:01:00</c>).</summary>
    public static TimeSpan? ParseDuration(string text)
    {
        if (TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var span) && text.Contains(':', StringComparison.Ordinal))
        {
            return span;
        }

        var total = TimeSpan.Zero;
        var rest = text.AsSpan().Trim();
        if (rest.IsEmpty)
        {
            return null;
        }

        while (!rest.IsEmpty)
        {
            var digits = 0;
            while (digits < rest.Length && (char.IsAsciiDigit(rest[digits]) || rest[digits] == '.'))
            {
                digits++;
            }

            if (digits == 0 || !double.TryParse(rest[..digits], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
            {
                return null;
            }

            rest = rest[digits..];
            var unit = 0;
            while (unit < rest.Length && char.IsAsciiLetter(rest[unit]))
            {
                unit++;
            }

            double? seconds = rest[..unit] switch
            {
                "ms" => number / 1000,
                "s" => number,
                "m" => number * 60,
                "h" => number * 3600,
                _ => null,
            };
            if (seconds is null || seconds > TimeSpan.FromDays(7).TotalSeconds)
            {
                return null;
            }

            total += TimeSpan.FromSeconds(seconds.Value);
            rest = rest[unit..];
        }

        return total;
    }

    private static (string Name, string? Inline) Split(string argument)
    {
        var equals = argument.IndexOf('=', StringComparison.Ordinal);
        return argument.StartsWith("--", StringComparison.Ordinal) && equals > 0
            ? (argument[..equals], argument[(equals + 1)..])
            : (argument, null);
    }

    private static bool LooksLikeSecret(string argument)
    {
        var lower = argument.ToLowerInvariant();
        return lower.Contains("password=", StringComparison.Ordinal)
            || lower.Contains("pwd=", StringComparison.Ordinal)
            || lower.StartsWith("--pass", StringComparison.Ordinal)
            || lower.StartsWith("--secret", StringComparison.Ordinal)
            || lower.StartsWith("--token", StringComparison.Ordinal)
            || lower.StartsWith("--connection", StringComparison.Ordinal)
            || UserInfoUrl().IsMatch(argument);
    }

    /// <summary>A URL with a password in its user information (<c>redis://user:secret@host</c>).</summary>
    [System.Text.RegularExpressions.GeneratedRegex(@"[a-z][a-z0-9+.-]*://[^/@\s]*:[^/@\s]*@", System.Text.RegularExpressions.RegexOptions.IgnoreCase)]
    private static partial System.Text.RegularExpressions.Regex UserInfoUrl();
}

/// <summary>The command line is wrong: exit 2 with the message and the usage.</summary>
internal sealed class ToolUsageException(string message) : Exception(message);
