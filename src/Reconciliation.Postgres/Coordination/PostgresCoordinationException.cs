namespace Reconciliation.Postgres;

/// <summary>
/// Thrown by the PostgreSQL coordination store when the server could not be reached or refused a statement. The message
/// names what was being done and the cause, with anything that looks like a credential removed.
/// </summary>
public sealed class PostgresCoordinationException : Exception
{
    /// <summary>Creates the exception.</summary>
    public PostgresCoordinationException()
        : base("PostgreSQL coordination failed")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public PostgresCoordinationException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public PostgresCoordinationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
