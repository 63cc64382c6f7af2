namespace Reconciliation.Sample.Orders.Jobs;

/// <summary>The payload of a job on the <c>emails</c> queue.</summary>
public sealed record ConfirmationEmail(long OrderId, string Customer);
