using Reconciliation.Queue.Workers;

namespace Reconciliation.Sample.Orders.Jobs;

/// <summary>
/// "Sends" the confirmation email. Idempotent by design: a job may run more than once (at-least-once execution),
/// so a real handler would record the order id it mailed and skip a repeat.
/// </summary>
internal sealed class SendConfirmationEmailHandler(ILogger<SendConfirmationEmailHandler> logger) : IJobHandler<ConfirmationEmail>
{
    public async Task HandleAsync(QueueJob<ConfirmationEmail> job, CancellationToken cancellationToken)
    {
        await Task.Delay(TimeSpan.FromMilliseconds(20), cancellationToken); // the mail server's round trip
        logger.LogDebug("Confirmation for order {OrderId} sent", job.Payload.OrderId);
    }
}
