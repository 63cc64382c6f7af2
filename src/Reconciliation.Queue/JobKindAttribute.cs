namespace Reconciliation.Queue;

/// <summary>
/// Names a payload type's job kind, stored with every job and matched by the worker of that type, so renaming or
/// moving the type does not strand its jobs. Without it the kind is the type's full name.
/// </summary>
/// <param name="kind">The stable kind name.</param>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Struct, Inherited = false)]
public sealed class JobKindAttribute(string kind) : Attribute
{
    /// <summary>The kind name.</summary>
    public string Kind { get; } = kind;
}

/// <summary>Resolves a payload type's job kind.</summary>
public static class JobKind
{
    /// <summary>The kind of <typeparamref name="T"/>: its <see cref="JobKindAttribute"/>, else its full name.</summary>
    public static string Of<T>() => Cache<T>.Kind;

    private static class Cache<T>
    {
        public static readonly string Kind = typeof(T).GetCustomAttributes(typeof(JobKindAttribute), false) is [JobKindAttribute attribute, ..]
            ? attribute.Kind
            : typeof(T).FullName ?? typeof(T).Name;
    }
}
