using StackExchange.Redis;

namespace Reconciliation.Redis;

/// <summary>Tells a refused command (renamed, disabled, ACL) from a failing server, and describes errors without secrets.</summary>
internal static class RedisErrors
{
    /// <summary>
    /// True when the server or the client refused the command itself: <c>ERR unknown command</c> (renamed or disabled with
    /// <c>rename-command</c>), <c>NOPERM</c> (ACL), or StackExchange.Redis refusing it on this connection (admin mode, command map).
    /// </summary>
    public static bool IsRefused(Exception exception) => exception switch
    {
        RedisCommandException => true,
        RedisServerException server => server.Message.StartsWith("NOPERM", StringComparison.Ordinal)
            || server.Message.StartsWith("ERR unknown command", StringComparison.OrdinalIgnoreCase)
            || server.Message.StartsWith("ERR unknown subcommand", StringComparison.OrdinalIgnoreCase)
            || server.Message.Contains("has no permissions", StringComparison.OrdinalIgnoreCase),
        _ => false,
    };

    /// <summary>The exception's type and scrubbed, shortened message, no stack, no secret.</summary>
    public static string Describe(Exception exception)
    {
        var inner = exception is AggregateException { InnerExceptions.Count: 1 } aggregate ? aggregate.InnerExceptions[0] : exception;
        return inner is RedisConnectionException or RedisTimeoutException
            ? $"{inner.GetType().Name}: {Shorten(inner)}"
            : SecretScrubber.Describe(inner);
    }

    /// <summary>
    /// Rethrows a connection failure or timeout as the same exception type with a one-line message: StackExchange.Redis
    /// appends a diagnostic dump (thread pool, buffers, counters) that would flood the probe-failure log and reports.
    /// </summary>
    public static Exception Concise(Exception exception, string resource, string command) => exception switch
    {
        RedisConnectionException connection => new RedisConnectionException(connection.FailureType,
            $"Redis resource '{resource}' did not answer {command}: {connection.FailureType} ({Shorten(connection)})", connection),
        RedisTimeoutException timeout => new RedisTimeoutException(
            $"Redis resource '{resource}' did not answer {command} in time ({Shorten(timeout)})", timeout.Commandstatus),
        _ => exception,
    };

    private static string Shorten(Exception exception)
    {
        var message = SecretScrubber.Scrub(exception.Message);
        var end = message.IndexOf(';', StringComparison.Ordinal);
        if (message.StartsWith("Timeout", StringComparison.Ordinal))
        {
            var paren = message.IndexOf(')', StringComparison.Ordinal);
            end = end < 0 ? paren : Math.Min(end, paren + 1);
        }

        if (end > 0)
        {
            message = message[..end];
        }

        return message.Length > 200 ? message[..200] : message;
    }

    /// <summary>The refusal reason, short: the server's own error line, scrubbed.</summary>
    public static string Reason(Exception exception) => SecretScrubber.Scrub(exception.Message);
}
