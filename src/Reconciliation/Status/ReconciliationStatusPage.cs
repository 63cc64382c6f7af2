namespace Reconciliation.Status;

/// <summary>
/// A self-contained status page (static HTML, no front-end build) that polls a JSON endpoint serving
/// <see cref="ReconciliationStatus"/> and refreshes itself: signals against thresholds, open violations, heal history.
/// <c>MapReconciliation()</c> (package <c>Reconciliation.AspNetCore</c>) serves it with its JSON and the controls; by hand, serve
/// <see cref="Html"/> at e.g. <c>/status</c> and the JSON at <c>/status/status.json</c> (the page looks for
/// <c>status.json</c> under its own path), or point the page elsewhere with <c>?src=/path</c>.
/// </summary>
public static class ReconciliationStatusPage
{
    private static readonly Lazy<string> Page = new(() =>
    {
        using var stream = typeof(ReconciliationStatusPage).Assembly.GetManifestResourceStream("Reconciliation.Status.status.html")
            ?? throw new InvalidOperationException("The status page resource is missing from the assembly.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    });

    /// <summary>The page's HTML.</summary>
    public static string Html => Page.Value;

    /// <summary>The media type to serve it with.</summary>
    public const string ContentType = "text/html; charset=utf-8";
}
