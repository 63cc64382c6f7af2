namespace Reconciliation.AspNetCore.Tests.TestSupport;

/// <summary>
/// Only for the endpoint wiring tests (who may call what, what reaches the control): records each call. The end-to-end
/// tests use the engine's own control.
/// </summary>
internal sealed class FakeControl(TimeProvider time) : IReconciliationControl
{
    private readonly Lock _gate = new();
    private readonly List<Silence> _silences = [];
    private readonly List<HealProposal> _proposals = [];

    public List<string> Calls { get; } = [];

    public IReadOnlyList<Silence> Silences
    {
        get
        {
            lock (_gate)
            {
                return [.. _silences];
            }
        }
    }

    public IReadOnlyList<HealProposal> Proposals
    {
        get
        {
            lock (_gate)
            {
                return [.. _proposals];
            }
        }
    }

    public HealingPause? Pause { get; private set; }

    public void Propose(HealProposal proposal)
    {
        lock (_gate)
        {
            _proposals.Add(proposal);
        }
    }

    public Task RefreshAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

    public Task<Silence> AddSilenceAsync(SilenceRequest request, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(request.Reason))
        {
            throw new ArgumentException("A silence needs a reason.", nameof(request));
        }

        var now = time.GetUtcNow();
        var silence = new Silence
        {
            Id = "s" + (_silences.Count + 1),
            Rule = request.Rule,
            Resource = request.Resource,
            Healer = request.Healer,
            StartsAt = request.StartsAt ?? now,
            EndsAt = request.EndsAt ?? (request.StartsAt ?? now) + (request.Duration ?? TimeSpan.FromHours(1)),
            Owner = request.Owner,
            Reason = request.Reason,
        };
        lock (_gate)
        {
            _silences.Add(silence);
            Calls.Add($"silence {request.Rule} by {request.Owner}");
        }

        return Task.FromResult(silence);
    }

    public Task<bool> ExpireSilenceAsync(string id, string by, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            Calls.Add($"expire {id} by {by}");
            return Task.FromResult(_silences.RemoveAll(s => s.Id == id) > 0);
        }
    }

    public Task<bool> ApproveAsync(string proposalId, string by, string? comment = null, CancellationToken cancellationToken = default) =>
        Decide(proposalId, by, comment, ProposalState.Approved);

    public Task<bool> RejectAsync(string proposalId, string by, string? comment = null, CancellationToken cancellationToken = default) =>
        Decide(proposalId, by, comment, ProposalState.Rejected);

    public Task<HealingPause> PauseAsync(string by, string reason, DateTimeOffset? until = null, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            Calls.Add($"pause by {by} until {until:O}: {reason}");
        }

        return Task.FromResult(Pause = new HealingPause(by, reason, time.GetUtcNow(), until));
    }

    public Task<bool> ResumeAsync(string by, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            Calls.Add($"resume by {by}");
        }

        var was = Pause is not null;
        Pause = null;
        return Task.FromResult(was);
    }

    private Task<bool> Decide(string id, string by, string? comment, ProposalState state)
    {
        lock (_gate)
        {
            Calls.Add($"{state} {id} by {by}: {comment}");
            var index = _proposals.FindIndex(p => p.Id == id && p.State == ProposalState.Pending);
            if (index < 0)
            {
                return Task.FromResult(false);
            }

            _proposals[index] = _proposals[index] with { State = state, DecidedBy = by, DecidedAt = time.GetUtcNow(), Comment = comment };
            return Task.FromResult(true);
        }
    }
}
