namespace Reconciliation;

/// <summary>
/// Thrown by a shared heal journal when a write carries a fencing token that a later lease holder has superseded: the
/// writer lost its lease (it paused, or its store was unreachable, past the time to live) and its late write is refused.
/// </summary>
public sealed class HealLeaseLostException : Exception
{
    /// <summary>Creates the exception.</summary>
    public HealLeaseLostException()
        : base("the heal's lease was lost to a later holder; its write was refused")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public HealLeaseLostException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public HealLeaseLostException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
