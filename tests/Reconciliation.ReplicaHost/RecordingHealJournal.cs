namespace Reconciliation.ReplicaHost;

/// <summary>
/// Wraps the coordination store's journal and prints every write the engine makes to it, with its outcome
/// (<c>{"t":"journal", "id", "result": "ok" | "failed" | "fenced", ...}</c>): the tests compare the records a replica
/// tried to write (during an outage, after a lost lease) with what the store really holds. A write replayed after an
/// outage prints again with the same id.
/// </summary>
internal sealed class RecordingHealJournal(IHealJournal inner) : IHealJournal
{
    public async ValueTask RecordAsync(HealRecord record, CancellationToken cancellationToken)
    {
        try
        {
            await inner.RecordAsync(record, cancellationToken).ConfigureAwait(false);
            Print(record, "ok", null);
        }
        catch (HealLeaseLostException e)
        {
            Print(record, "fenced", e.Message);
            throw;
        }
        catch (Exception e)
        {
            Print(record, "failed", SecretScrubber.Describe(e));
            throw;
        }
    }

    public ValueTask<int> CountAttemptsAsync(string healer, string resource, string? replica, DateTimeOffset since, CancellationToken cancellationToken) =>
        inner.CountAttemptsAsync(healer, resource, replica, since, cancellationToken);

    public ValueTask<IReadOnlyList<DateTimeOffset>> AttemptTimesAsync(string healer, string? replica, DateTimeOffset since, int max, CancellationToken cancellationToken) =>
        inner.AttemptTimesAsync(healer, replica, since, max, cancellationToken);

    public ValueTask<int> CountAllAttemptsAsync(DateTimeOffset since, CancellationToken cancellationToken) =>
        inner.CountAllAttemptsAsync(since, cancellationToken);

    public ValueTask<IReadOnlyList<HealRecord>> RecentAsync(int max, CancellationToken cancellationToken) =>
        inner.RecentAsync(max, cancellationToken);

    private static void Print(HealRecord record, string result, string? error) =>
        Output.Line("journal", json =>
        {
            json.WriteString("result", result);
            json.WriteString("id", record.Id);
            json.WriteString("healer", record.Healer);
            json.WriteString("resource", record.Resource);
            json.WriteString("rule", record.Rule);
            json.WriteString("outcome", record.Outcome.ToString());
            json.WriteBoolean("verdict", record.IsVerdict);
            json.WriteBoolean("attempt", record.IsAttempt);
            json.WriteString("startedAt", record.StartedAt);
            if (record.LeaseToken is { } token)
            {
                json.WriteNumber("token", token);
            }
            else
            {
                json.WriteNull("token");
            }

            json.StringOrNull("reason", record.Reason);
            json.StringOrNull("error", error);
        });
}
