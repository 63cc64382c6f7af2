namespace Reconciliation.Redis;

/// <summary>
/// The server refused an admin command the adapter needs (<c>INFO</c>, <c>CONFIG</c>): renamed or disabled with
/// <c>rename-command</c>, not permitted by the ACL user, or not allowed on the connection. The engine reports the probe
/// as unavailable (<c>probe.failed</c> = 1) with this message, never as an unhealthy cache. The message holds no secret.
/// </summary>
public sealed class RedisAdminCommandRefusedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public RedisAdminCommandRefusedException()
        : this("Redis refused an admin command.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public RedisAdminCommandRefusedException(string message)
        : base(message)
    {
        Resource = string.Empty;
        Command = string.Empty;
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public RedisAdminCommandRefusedException(string message, Exception innerException)
        : base(message, innerException)
    {
        Resource = string.Empty;
        Command = string.Empty;
    }

    /// <summary>Creates the exception for <paramref name="command"/> refused on <paramref name="resource"/>.</summary>
    public RedisAdminCommandRefusedException(string resource, string command, string reason)
        : base($"Redis resource '{resource}' refused {command} ({reason}): the command is renamed, disabled or not permitted for this user; probe unavailable.")
    {
        Resource = resource;
        Command = command;
    }

    /// <summary>The Redis resource name.</summary>
    public string Resource { get; }

    /// <summary>The refused command (<c>INFO</c>, <c>CONFIG GET</c>).</summary>
    public string Command { get; }
}
