using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Reconciliation;

/// <summary>
/// The operator controls: the API (<see cref="IReconciliationControl"/>) and what the heal phase asks of them. The
/// state lives in the <see cref="IControlStore"/>; this class keeps the last version it read, changes it only with
/// compare-and-swap (re-reading and re-applying on a conflict), and re-reads it before each tick that plans heals, so a
/// silence or an approval given through any replica holds on every replica sharing the store from its next heal on.
/// </summary>
internal sealed class ReconciliationControl : IReconciliationControl, IDisposable
{
    private const int WriteAttempts = 8;

    private readonly IControlStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ReconciliationEvents _events;
    private readonly CatchingUpHealJournal _journal;
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private readonly Dictionary<string, Silence> _announced = new(StringComparer.Ordinal);
    private readonly HashSet<string> _expiringAnnounced = new(StringComparer.Ordinal);
    private View _view = new(ControlState.Empty, 0, []);
    private Config _config = new([], [], HealingDefaults.CallTimeout, TimeSpan.FromMinutes(30), TimeSpan.FromMinutes(5), Environment.MachineName);
    private readonly IOptionsMonitor<ReconciliationOptions> _options;
    private bool _storeFailing;
    private bool _configured;

    public ReconciliationControl(IControlStore store, TimeProvider time, ILogger<ReconciliationEngine> logger, ReconciliationEvents events, CatchingUpHealJournal journal,
        IOptionsMonitor<ReconciliationOptions> options)
    {
        _options = options;
        _store = store;
        _time = time;
        _logger = logger;
        _events = events;
        _journal = journal;
    }

    /// <inheritdoc />
    public IReadOnlyList<Silence> Silences
    {
        get
        {
            var now = _time.GetUtcNow();
            return Volatile.Read(ref _view).AllSilences.Where(s => s.EndsAt > now).ToArray();
        }
    }

    /// <inheritdoc />
    public IReadOnlyList<HealProposal> Proposals
    {
        get
        {
            var now = _time.GetUtcNow();
            return Volatile.Read(ref _view).State.Proposals.Where(p => p.State == ProposalState.Pending && p.ExpiresAt > now).ToArray();
        }
    }

    /// <inheritdoc />
    public HealingPause? Pause => Volatile.Read(ref _view).State.Pause is { } pause && pause.IsActiveAt(_time.GetUtcNow()) ? pause : null;

    public void Dispose() => _writeGate.Dispose();

    /// <summary>Takes the configured silences and windows and the timings (at start and on each reload).</summary>
    internal void Configure(ReconciliationOptions options)
    {
        _configured = true;
        var silences = options.Silences.Select(pair => new Silence
        {
            Id = pair.Key,
            Rule = pair.Value.Rule,
            Resource = pair.Value.Resource,
            Healer = pair.Value.Healer,
            StartsAt = pair.Value.StartsAt ?? DateTimeOffset.MinValue,
            EndsAt = pair.Value.EndsAt ?? DateTimeOffset.MinValue,
            Owner = pair.Value.Owner ?? string.Empty,
            Reason = pair.Value.Reason ?? string.Empty,
            FromConfiguration = true,
        }).ToArray();
        var windows = options.MaintenanceWindows
            .Select(pair => MaintenanceWindow.Compile(pair.Key, pair.Value, $"{options.ConfigurationPath}:MaintenanceWindows:{pair.Key}", errors: null))
            .OfType<MaintenanceWindow>().ToArray();
        Volatile.Write(ref _config, new Config(silences, windows, options.CallTimeout, options.ProposalExpiry, options.SilenceExpiryNotice, options.ReplicaId));
        var view = Volatile.Read(ref _view);
        Volatile.Write(ref _view, new View(view.State, view.Version, Merge(silences, view.State.Silences)));
    }

    /// <inheritdoc />
    public async Task RefreshAsync(CancellationToken cancellationToken = default)
    {
        EnsureConfigured();
        var document = await ReadAsync(cancellationToken).ConfigureAwait(false);
        Adopt(document);
    }

    /// <summary>Re-reads the store before a tick plans heals; a failing store leaves the last known controls in force.</summary>
    internal async Task RefreshForTickAsync(CancellationToken cancellationToken)
    {
        try
        {
            await RefreshAsync(cancellationToken).ConfigureAwait(false);
            _storeFailing = false;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            if (!_storeFailing)
            {
                _storeFailing = true;
                _logger.ControlStoreFailed("read the controls", SecretScrubber.Describe(e));
            }
        }
    }

    /// <summary>Which control, if any, holds the violation's next heal back (pure, from the state last read).</summary>
    internal ControlHold Check(ActiveViolation violation, string? healer, string? inhibitor, string? inhibitDetail, ApprovalMode approval, DateTimeOffset now)
    {
        var instance = violation.Instance;
        var flapping = instance.Flaps is { } flaps && flaps.MutedUntil > now ? flaps.MutedUntil : (DateTimeOffset?)null;
        return ControlGate.Check(new ControlGateInput(instance.Rule.Name, instance.Resource, healer, now, Volatile.Read(ref _view).State.Pause,
            Volatile.Read(ref _view).AllSilences, Volatile.Read(ref _config).Windows, inhibitor, flapping, instance.Flaps?.Detail, approval) { InhibitDetail = inhibitDetail });
    }

    /// <summary>
    /// For a heal that needs approval: an approved proposal for it is taken (marked executed, by exactly one replica of
    /// the fleet) and the heal may run (returns <see langword="null"/>); otherwise the proposal it waits for is returned,
    /// published first if there is none. A proposal is the fleet's, not one replica's: every replica whose violation
    /// of the rule on the resource is open waits for the same pending one.
    /// </summary>
    /// <param name="violation">The violation.</param>
    /// <param name="healer">The healer that would run.</param>
    /// <param name="plan">What it says it would do.</param>
    /// <param name="settle">How long after an approved heal ran no new proposal is made (its cooldown): its verdict comes first.</param>
    /// <param name="now">The tick's time.</param>
    /// <param name="cancellationToken">The planning deadline.</param>
    internal async Task<HealProposal?> TakeApprovalAsync(ActiveViolation violation, string healer, string? plan, TimeSpan settle, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        var instance = violation.Instance;
        var current = Current(Volatile.Read(ref _view).State, instance.Rule.Name, instance.Resource, healer, violation.OpenedAt, settle, now);
        if (current is { State: ProposalState.Approved } approved)
        {
            var taken = await MutateAsync((state, at) =>
            {
                var latest = state.Proposals.FirstOrDefault(p => p.Id == approved.Id);
                return latest is { State: ProposalState.Approved }
                    ? (Replace(state, latest with { State = ProposalState.Executed, ExecutedAt = at }), true)
                    : (null, false);
            }, cancellationToken).ConfigureAwait(false);
            return taken ? null : approved with { State = ProposalState.Executed };
        }

        if (current is not null)
        {
            return current; // pending, rejected for this violation, or approved and run a moment ago
        }

        var config = Volatile.Read(ref _config);
        HealProposal? created = null;
        var proposal = await MutateAsync((state, at) =>
        {
            // Another replica may have proposed it (or an operator decided) meanwhile: wait for that one.
            if (Current(state, instance.Rule.Name, instance.Resource, healer, violation.OpenedAt, settle, at) is { } other)
            {
                return ((ControlState?)null, other);
            }

            created = new HealProposal
            {
                Id = NewId("p"),
                Rule = instance.Rule.Name,
                Resource = instance.Resource,
                Healer = healer,
                Observed = violation.Observed,
                Plan = plan is null ? null : SecretScrubber.Scrub(plan),
                Replica = config.Replica,
                ProposedAt = at,
                ExpiresAt = at + config.ProposalExpiry,
                State = ProposalState.Pending,
            };
            return (state with { Proposals = [.. state.Proposals, created] }, created);
        }, cancellationToken).ConfigureAwait(false);

        if (ReferenceEquals(proposal, created))
        {
            _logger.HealProposed(healer, instance.Resource, instance.Rule.Name, proposal.Id, HealReasons.Format(proposal.ExpiresAt));
            Publish(ReconciliationEventKind.HealProposed, proposal, $"proposal {proposal.Id} awaits approval until {HealReasons.Format(proposal.ExpiresAt)}");
            await JournalAsync(proposal, HealOutcomeKind.Proposed, $"proposal {proposal.Id}" + (proposal.Plan is { } p ? ": " + p : string.Empty)).ConfigureAwait(false);
        }

        return proposal;
    }

    /// <summary>The engine opened a violation of the instance: the flap breaker counts it, and says so when it trips.</summary>
    internal void RecordOpen(RuleInstance instance, DateTimeOffset now)
    {
        var rule = instance.Rule;
        if (rule.FlapMaxOpens <= 0)
        {
            instance.Flaps = null;
            return;
        }

        if (instance.Flaps is null || !instance.Flaps.IsFor(rule.FlapMaxOpens))
        {
            instance.Flaps = new FlapTracker(rule.FlapMaxOpens);
        }

        if (instance.Flaps.RecordOpen(now, rule.FlapMaxOpens, rule.FlapWindow, rule.FlapMuteFor))
        {
            var until = HealReasons.Format(instance.Flaps.MutedUntil);
            _logger.RuleFlapping(rule.Name, instance.Resource, instance.Flaps.Detail!, until);
            _events.Publish(new ReconciliationEvent
            {
                Kind = ReconciliationEventKind.RuleFlapping,
                Timestamp = now,
                Rule = rule.Name,
                Signal = rule.Signal,
                Resource = instance.Resource,
                Reason = $"{instance.Flaps.Detail}: heals muted until {until}",
            });
        }
    }

    /// <summary>Once per tick: announces silences about to end and ended, and expires proposals nobody decided on.</summary>
    internal async Task OnTickAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var view = Volatile.Read(ref _view);
        if (view.AllSilences.Length > 0 || _announced.Count > 0)
        {
            AnnounceSilences(view.AllSilences, now);
        }

        if (!AnyLapsed(view.State.Proposals, now))
        {
            return;
        }

        try
        {
            var expired = await MutateAsync((state, at) =>
            {
                var lapsed = state.Proposals.Where(p => p.State == ProposalState.Pending && p.ExpiresAt <= at).ToArray();
                if (lapsed.Length == 0)
                {
                    return ((ControlState?)null, lapsed);
                }

                var next = state;
                foreach (var p in lapsed)
                {
                    next = Replace(next, p with { State = ProposalState.Expired, DecidedAt = at });
                }

                return (next, lapsed);
            }, cancellationToken).ConfigureAwait(false);
            foreach (var p in expired)
            {
                _logger.ProposalDecided(p.Id, p.Healer, p.Resource, "expired: nobody decided in time");
                Publish(ReconciliationEventKind.ProposalDecided, p, $"proposal {p.Id} expired: nobody decided in time");
                await JournalAsync(p, HealOutcomeKind.Expired, $"proposal {p.Id} expired: nobody decided in time").ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            _logger.ControlStoreFailed("expire proposals", SecretScrubber.Describe(e));
        }
    }

    /// <inheritdoc />
    public async Task<Silence> AddSilenceAsync(SilenceRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var now = _time.GetUtcNow();
        var startsAt = request.StartsAt ?? now;
        var endsAt = request.EndsAt ?? (request.Duration is { } duration ? startsAt + duration : (DateTimeOffset?)null);
        var problem =
            string.IsNullOrWhiteSpace(request.Owner) ? "Owner is required (who set it, someone to ask)"
            : string.IsNullOrWhiteSpace(request.Reason) ? "Reason is required"
            : request.Rule is null && request.Resource is null && request.Healer is null ? "name a Rule, a Resource or a Healer (to hold every heal, pause healing instead)"
            : request.EndsAt is not null && request.Duration is not null ? "give EndsAt or Duration, not both"
            : endsAt is null ? "EndsAt or Duration is required: a silence ends by itself"
            : endsAt <= startsAt ? "it must end after it starts"
            : endsAt <= now ? "it must end in the future"
            : null;
        if (problem is not null)
        {
            throw new ArgumentException("Invalid silence: " + problem, nameof(request));
        }

        var silence = new Silence
        {
            Id = NewId("s"),
            Rule = request.Rule,
            Resource = request.Resource,
            Healer = request.Healer,
            StartsAt = startsAt,
            EndsAt = endsAt!.Value,
            Owner = request.Owner,
            Reason = request.Reason,
        };
        await MutateAsync((state, _) => (state with { Silences = [.. state.Silences, silence] }, true), cancellationToken).ConfigureAwait(false);
        _logger.SilenceAdded(silence.Id, silence.Owner, HealReasons.Format(silence.EndsAt), silence.Rule ?? "*", silence.Resource ?? "*", silence.Healer ?? "*", silence.Reason);
        return silence;
    }

    /// <inheritdoc />
    public async Task<bool> ExpireSilenceAsync(string id, string by, CancellationToken cancellationToken = default)
    {
        var removed = await MutateAsync((state, at) =>
        {
            var silence = state.Silences.FirstOrDefault(s => s.Id == id && s.EndsAt > at);
            return silence is null ? (null, (Silence?)null) : (state with { Silences = state.Silences.Where(s => s.Id != id).ToArray() }, silence);
        }, cancellationToken).ConfigureAwait(false);
        if (removed is null)
        {
            return false;
        }

        _logger.SilenceExpired(removed.Id, removed.Owner, $"{removed.Reason}; expired early by {by}");
        _announced.Remove(removed.Id);
        Publish(ReconciliationEventKind.SilenceExpired, removed, $"silence {removed.Id} expired early by {by}");
        return true;
    }

    /// <inheritdoc />
    public Task<bool> ApproveAsync(string proposalId, string by, string? comment = null, CancellationToken cancellationToken = default) =>
        DecideAsync(proposalId, ProposalState.Approved, by, comment, cancellationToken);

    /// <inheritdoc />
    public Task<bool> RejectAsync(string proposalId, string by, string? comment = null, CancellationToken cancellationToken = default) =>
        DecideAsync(proposalId, ProposalState.Rejected, by, comment, cancellationToken);

    /// <inheritdoc />
    public async Task<HealingPause> PauseAsync(string by, string reason, DateTimeOffset? until = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(by);
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        var pause = await MutateAsync((state, at) =>
        {
            if (until is { } end && end <= at)
            {
                throw new ArgumentException("A pause must end in the future.", nameof(until));
            }

            var next = new HealingPause(by, reason, at, until);
            return (state with { Pause = next }, next);
        }, cancellationToken).ConfigureAwait(false);
        var text = until is { } u ? $"{reason} (until {HealReasons.Format(u)})" : reason;
        _logger.OperatorPause("paused", by, text);
        _events.Publish(new ReconciliationEvent { Kind = ReconciliationEventKind.OperatorPause, Timestamp = pause.Since, Reason = $"healing paused by {by}: {text}" });
        return pause;
    }

    /// <inheritdoc />
    public async Task<bool> ResumeAsync(string by, CancellationToken cancellationToken = default)
    {
        var resumed = await MutateAsync((state, at) => state.Pause is { } p && p.IsActiveAt(at) ? (state with { Pause = null }, true) : (null, false), cancellationToken).ConfigureAwait(false);
        if (resumed)
        {
            _logger.OperatorPause("resumed", by, "resumed");
            _events.Publish(new ReconciliationEvent { Kind = ReconciliationEventKind.OperatorPause, Timestamp = _time.GetUtcNow(), Reason = $"healing resumed by {by}" });
        }

        return resumed;
    }

    private async Task<bool> DecideAsync(string id, ProposalState decision, string by, string? comment, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(by);
        var decided = await MutateAsync((state, at) =>
        {
            var current = state.Proposals.FirstOrDefault(p => p.Id == id);
            if (current is not { State: ProposalState.Pending } || current.ExpiresAt <= at)
            {
                return (null, (HealProposal?)null);
            }

            var next = current with { State = decision, DecidedBy = by, DecidedAt = at, Comment = comment };
            return (Replace(state, next), (HealProposal?)next);
        }, cancellationToken).ConfigureAwait(false);
        if (decided is null)
        {
            return false;
        }

        var verb = decision == ProposalState.Approved ? "approved" : "rejected";
        var text = $"{verb} by {by}" + (string.IsNullOrWhiteSpace(comment) ? string.Empty : ": " + comment);
        _logger.ProposalDecided(decided.Id, decided.Healer, decided.Resource, text);
        Publish(ReconciliationEventKind.ProposalDecided, decided, $"proposal {decided.Id} {text}");
        await JournalAsync(decided, decision == ProposalState.Approved ? HealOutcomeKind.Approved : HealOutcomeKind.Rejected, $"proposal {decided.Id} {text}").ConfigureAwait(false);
        return true;
    }

    private void AnnounceSilences(Silence[] silences, DateTimeOffset now)
    {
        var notice = Volatile.Read(ref _config).SilenceExpiryNotice;
        foreach (var silence in silences)
        {
            if (!silence.IsActiveAt(now))
            {
                continue;
            }

            _announced[silence.Id] = silence;
            if (now >= silence.EndsAt - notice && _expiringAnnounced.Add(silence.Id))
            {
                _logger.SilenceExpiring(silence.Id, silence.Owner, silence.Reason, HealReasons.Format(silence.EndsAt));
                Publish(ReconciliationEventKind.SilenceExpiring, silence, $"silence {silence.Id} ends at {HealReasons.Format(silence.EndsAt)}");
            }
        }

        if (_announced.Count == 0)
        {
            return;
        }

        // A silence seen holding that holds no more (it ended, or another replica expired it) is announced once as ended.
        List<string>? ended = null;
        foreach (var (id, silence) in _announced)
        {
            if (!silence.IsActiveAt(now) || !silences.Any(s => s.Id == id && s.IsActiveAt(now)))
            {
                (ended ??= []).Add(id);
                _logger.SilenceExpired(silence.Id, silence.Owner, silence.Reason);
                Publish(ReconciliationEventKind.SilenceExpired, silence, $"silence {silence.Id} ended");
            }
        }

        foreach (var id in ended ?? [])
        {
            _announced.Remove(id);
            _expiringAnnounced.Remove(id);
        }
    }

    /// <summary>
    /// Without an engine in this process (an operator's tool that only changes the controls), the options are read on
    /// first use: the replica id its records carry, the call deadline, the configured silences.
    /// </summary>
    private void EnsureConfigured()
    {
        if (!Volatile.Read(ref _configured))
        {
            Configure(_options.CurrentValue);
        }
    }

    private async Task<T> MutateAsync<T>(Func<ControlState, DateTimeOffset, (ControlState? Next, T Result)> change, CancellationToken cancellationToken)
    {
        EnsureConfigured();
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            for (var attempt = 0; attempt < WriteAttempts; attempt++)
            {
                var document = await ReadAsync(cancellationToken).ConfigureAwait(false);
                var state = document is null ? ControlState.Empty : ControlState.FromJson(document.Json);
                var version = document?.Version ?? 0;
                var now = _time.GetUtcNow();
                var (next, result) = change(state.Pruned(now), now);
                if (next is null)
                {
                    Adopt(document);
                    return result;
                }

                var config = Volatile.Read(ref _config);
                using var deadline = new CancellationTokenSource(config.CallTimeout, _time);
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
                if (await _store.TryWriteAsync(next.ToJson(), version, linked.Token).ConfigureAwait(false))
                {
                    Adopt(new ControlDocument(next.ToJson(), version + 1), next);
                    return result;
                }
            }

            throw new InvalidOperationException($"The control state kept changing under this write ({WriteAttempts} attempts); try again.");
        }
        finally
        {
            _writeGate.Release();
        }
    }

    private async Task<ControlDocument?> ReadAsync(CancellationToken cancellationToken)
    {
        if (_store is INeverBlocks)
        {
            return await _store.ReadAsync(cancellationToken).ConfigureAwait(false);
        }

        var config = Volatile.Read(ref _config);
        return await OutboundCall.RunAsync(token => new ValueTask<ControlDocument?>(_store.ReadAsync(token)), config.CallTimeout, _time, cancellationToken).ConfigureAwait(false);
    }

    private void Adopt(ControlDocument? document, ControlState? parsed = null)
    {
        var view = Volatile.Read(ref _view);
        var version = document?.Version ?? 0;
        if (version == view.Version && parsed is null)
        {
            return;
        }

        var state = parsed ?? (document is null ? ControlState.Empty : ControlState.FromJson(document.Json));
        Volatile.Write(ref _view, new View(state, version, Merge(Volatile.Read(ref _config).Silences, state.Silences)));
    }

    private async Task JournalAsync(HealProposal proposal, HealOutcomeKind kind, string reason)
    {
        var record = new HealRecord(proposal.Healer, proposal.Resource, proposal.Rule, _time.GetUtcNow(), kind, reason)
        {
            Id = Guid.NewGuid(),
            Replica = Volatile.Read(ref _config).Replica,
        };
        try
        {
            await _journal.RecordAsync(record, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            _logger.ControlStoreFailed("journal a proposal", SecretScrubber.Describe(e));
        }
    }

    private void Publish(ReconciliationEventKind kind, HealProposal proposal, string reason) => _events.Publish(new ReconciliationEvent
    {
        Kind = kind,
        Timestamp = _time.GetUtcNow(),
        Rule = proposal.Rule,
        Resource = proposal.Resource,
        Healer = proposal.Healer,
        Observed = proposal.Observed,
        Reason = reason,
    });

    private void Publish(ReconciliationEventKind kind, Silence silence, string reason) => _events.Publish(new ReconciliationEvent
    {
        Kind = kind,
        Timestamp = _time.GetUtcNow(),
        Rule = silence.Rule,
        Resource = silence.Resource,
        Healer = silence.Healer,
        Reason = $"{reason} ({silence.Owner}: {silence.Reason})",
    });

    /// <summary>
    /// The proposal that decides the heal now, if any: one pending (unexpired) or approved and not yet run (whichever
    /// replica proposed it); one rejected since this violation opened; or one approved and run less than
    /// <paramref name="settle"/> ago. The newest of those.
    /// </summary>
    private static HealProposal? Current(ControlState state, string rule, string resource, string healer, DateTimeOffset openedAt, TimeSpan settle,
        DateTimeOffset now)
    {
        HealProposal? current = null;
        foreach (var p in state.Proposals)
        {
            var counts = p.State switch
            {
                ProposalState.Pending => p.ExpiresAt > now,
                ProposalState.Approved => true,
                ProposalState.Rejected => p.DecidedAt >= openedAt || p.ProposedAt >= openedAt,
                ProposalState.Executed => p.ExecutedAt is { } ran && now - ran < settle,
                _ => false,
            };
            if (counts && string.Equals(p.Rule, rule, StringComparison.OrdinalIgnoreCase) && string.Equals(p.Resource, resource, StringComparison.Ordinal)
                && string.Equals(p.Healer, healer, StringComparison.Ordinal) && (current is null || p.ProposedAt >= current.ProposedAt))
            {
                current = p;
            }
        }

        return current;
    }

    /// <summary>A loop, not LINQ: called on every tick, it allocates nothing.</summary>
    private static bool AnyLapsed(IReadOnlyList<HealProposal> proposals, DateTimeOffset now)
    {
        for (var i = 0; i < proposals.Count; i++)
        {
            if (proposals[i].State == ProposalState.Pending && proposals[i].ExpiresAt <= now)
            {
                return true;
            }
        }

        return false;
    }

    private static ControlState Replace(ControlState state, HealProposal proposal) =>
        state with { Proposals = state.Proposals.Select(p => p.Id == proposal.Id ? proposal : p).ToArray() };

    private static Silence[] Merge(Silence[] configured, IReadOnlyList<Silence> runtime) =>
        [.. configured.Concat(runtime).OrderBy(s => s.EndsAt)];

    private static string NewId(string prefix) => $"{prefix}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(5))}";

    private sealed record View(ControlState State, long Version, Silence[] AllSilences);

    private sealed record Config(Silence[] Silences, MaintenanceWindow[] Windows, TimeSpan CallTimeout, TimeSpan ProposalExpiry, TimeSpan SilenceExpiryNotice, string Replica);
}
