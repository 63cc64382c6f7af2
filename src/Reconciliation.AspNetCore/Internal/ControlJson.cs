using System.Text.Json;
using System.Text.Json.Serialization;

namespace Reconciliation.AspNetCore.Internal;

/// <summary>A request to add a silence; the owner is always the caller.</summary>
internal sealed record SilenceBody(string? Rule, string? Resource, string? Healer, DateTimeOffset? StartsAt, DateTimeOffset? EndsAt, TimeSpan? Duration, string? Reason);

/// <summary>A decision's comment.</summary>
internal sealed record DecisionBody(string? Comment);

/// <summary>A request to pause all healing.</summary>
internal sealed record PauseBody(string? Reason, DateTimeOffset? Until, TimeSpan? Duration);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, UseStringEnumConverter = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(SilenceBody))]
[JsonSerializable(typeof(DecisionBody))]
[JsonSerializable(typeof(PauseBody))]
[JsonSerializable(typeof(Silence))]
[JsonSerializable(typeof(IReadOnlyList<Silence>))]
[JsonSerializable(typeof(HealProposal))]
[JsonSerializable(typeof(IReadOnlyList<HealProposal>))]
[JsonSerializable(typeof(HealingPause))]
internal sealed partial class ControlJsonContext : JsonSerializerContext;
