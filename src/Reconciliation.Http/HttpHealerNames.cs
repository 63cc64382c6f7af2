namespace Reconciliation.Http;

/// <summary>Names of the healers this package registers (rules name them in <c>Heal</c>).</summary>
public static class HttpHealerNames
{
    /// <summary>POSTs the violation as signed JSON to a configured URL (a CI job that rolls a deploy back, a pager).</summary>
    public const string Webhook = "http.webhook";
}
