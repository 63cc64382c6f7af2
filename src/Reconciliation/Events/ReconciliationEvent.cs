namespace Reconciliation;

/// <summary>One state change of the reconciler, as subscribers receive it.</summary>
public sealed record ReconciliationEvent
{
    /// <summary>What happened.</summary>
    public required ReconciliationEventKind Kind { get; init; }

    /// <summary>When (on the <see cref="TimeProvider"/> clock).</summary>
    public required DateTimeOffset Timestamp { get; init; }

    /// <summary>The rule, when the event concerns a violation.</summary>
    public string? Rule { get; init; }

    /// <summary>The signal, when the event concerns a violation.</summary>
    public string? Signal { get; init; }

    /// <summary>The resource, when there is one.</summary>
    public string? Resource { get; init; }

    /// <summary>The observed value, when the event concerns a violation.</summary>
    public double? Observed { get; init; }

    /// <summary>The healer, when the event concerns a heal.</summary>
    public string? Healer { get; init; }

    /// <summary>The attempt number, when the event concerns a heal.</summary>
    public int? Attempt { get; init; }

    /// <summary>A reason or detail, without secrets.</summary>
    public string? Reason { get; init; }

    /// <inheritdoc />
    public override string ToString() =>
        $"{Timestamp:O} {Kind} rule={Rule} resource={Resource} healer={Healer} attempt={Attempt} observed={Observed} {Reason}";
}
