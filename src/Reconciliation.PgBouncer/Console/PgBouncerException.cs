namespace Reconciliation.PgBouncer;

/// <summary>
/// A conversation with PgBouncer's admin console failed: it could not be reached, refused the login, answered a command
/// with an error, answered something that is not the PostgreSQL protocol, or did not answer in time. Messages name the
/// host, port and command, never a password or connection string.
/// </summary>
public class PgBouncerException : Exception
{
    /// <summary>Creates the exception.</summary>
    public PgBouncerException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    public PgBouncerException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with no message.</summary>
    public PgBouncerException()
    {
    }
}

/// <summary>
/// The pooler's reply broke the protocol: a message cut short, a length out of bounds, an unexpected message type, a
/// row that does not match its description, a failed SCRAM server signature, or the connection closed mid-reply.
/// </summary>
public sealed class PgBouncerProtocolException : PgBouncerException
{
    /// <summary>Creates the exception.</summary>
    public PgBouncerProtocolException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    public PgBouncerProtocolException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with no message.</summary>
    public PgBouncerProtocolException()
    {
    }
}

/// <summary>The pooler answered with an <c>ErrorResponse</c> (a refused login, an unknown command, a database that is not paused).</summary>
public sealed class PgBouncerErrorException : PgBouncerException
{
    /// <summary>Creates the exception from the server's SQLSTATE and message.</summary>
    public PgBouncerErrorException(string sqlState, string serverMessage, string context)
        : base($"{context}: {serverMessage} (SQLSTATE {sqlState})")
    {
        SqlState = sqlState;
        ServerMessage = serverMessage;
    }

    /// <summary>Creates the exception with no message.</summary>
    public PgBouncerErrorException()
    {
        SqlState = string.Empty;
        ServerMessage = string.Empty;
    }

    /// <summary>Creates the exception with a message.</summary>
    public PgBouncerErrorException(string message)
        : base(message)
    {
        SqlState = string.Empty;
        ServerMessage = message;
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public PgBouncerErrorException(string message, Exception? innerException)
        : base(message, innerException)
    {
        SqlState = string.Empty;
        ServerMessage = message;
    }

    /// <summary>The five-character SQLSTATE code the pooler sent (<c>08P01</c>, <c>28P01</c>).</summary>
    public string SqlState { get; }

    /// <summary>The pooler's own message (e.g. <c>invalid command 'X', use SHOW HELP;</c>).</summary>
    public string ServerMessage { get; }
}

/// <summary>The pooler did not complete the login or a command's reply within the configured timeout.</summary>
public sealed class PgBouncerTimeoutException : PgBouncerException
{
    /// <summary>Creates the exception.</summary>
    public PgBouncerTimeoutException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    public PgBouncerTimeoutException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with no message.</summary>
    public PgBouncerTimeoutException()
    {
    }
}
