using System.Text.Json;
using System.Text.Json.Serialization;

namespace Reconciliation;

/// <summary>Everything one replica saves: its breaching and open rules, and its heal-budget pause.</summary>
/// <param name="Rules">The breaching or open rules.</param>
/// <param name="BudgetPausedUntil">Healing is paused by the heal budget until this time, or <see langword="null"/>.</param>
public sealed record RuleStateSnapshot(IReadOnlyList<RuleState> Rules, DateTimeOffset? BudgetPausedUntil)
{
    /// <summary>No saved state.</summary>
    public static RuleStateSnapshot Empty { get; } = new([], null);

    /// <summary>The snapshot as JSON (for stores that keep it as one document).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, RuleStateJsonContext.Default.RuleStateSnapshot);

    /// <summary>Reads a snapshot written by <see cref="ToJson"/>.</summary>
    public static RuleStateSnapshot FromJson(string json) =>
        JsonSerializer.Deserialize(json, RuleStateJsonContext.Default.RuleStateSnapshot) ?? Empty;

    /// <summary>Equal when both hold the same rule states in the same order and the same pause.</summary>
    public bool Equals(RuleStateSnapshot? other) =>
        other is not null && BudgetPausedUntil == other.BudgetPausedUntil && Rules.SequenceEqual(other.Rules);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Rules.Count, BudgetPausedUntil);
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, UseStringEnumConverter = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(RuleStateSnapshot))]
internal sealed partial class RuleStateJsonContext : JsonSerializerContext;
