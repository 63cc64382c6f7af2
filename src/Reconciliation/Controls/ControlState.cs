using System.Text.Json;
using System.Text.Json.Serialization;

namespace Reconciliation;

/// <summary>
/// The control state kept in the <see cref="IControlStore"/>: silences added at run time, proposals (pending and the
/// most recent decided ones), and an operator's pause. Immutable: a change makes a new state, written with compare-and-swap.
/// </summary>
internal sealed record ControlState
{
    /// <summary>How many decided or expired proposals are kept for the status page and the API.</summary>
    public const int DecidedKept = 50;

    public static readonly ControlState Empty = new();

    public IReadOnlyList<Silence> Silences { get; init; } = [];

    public IReadOnlyList<HealProposal> Proposals { get; init; } = [];

    public HealingPause? Pause { get; init; }

    public string ToJson() => JsonSerializer.Serialize(this, ControlJsonContext.Default.ControlState);

    public static ControlState FromJson(string json) => JsonSerializer.Deserialize(json, ControlJsonContext.Default.ControlState) ?? Empty;

    /// <summary>Drops silences that ended and decided proposals beyond <see cref="DecidedKept"/>, so the document stays small.</summary>
    public ControlState Pruned(DateTimeOffset now)
    {
        var silences = Silences.Where(s => s.EndsAt > now).ToArray();
        var decided = Proposals.Where(p => p.State != ProposalState.Pending).OrderByDescending(p => p.DecidedAt ?? p.ExpiresAt).Take(DecidedKept);
        var proposals = Proposals.Where(p => p.State == ProposalState.Pending).Concat(decided).OrderBy(p => p.ProposedAt).ToArray();
        return this with { Silences = silences, Proposals = proposals, Pause = Pause is { Until: { } until } && until <= now ? null : Pause };
    }
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, UseStringEnumConverter = true)]
[JsonSerializable(typeof(ControlState))]
internal sealed partial class ControlJsonContext : JsonSerializerContext;
