using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Reconciliation.AspNetCore.Telemetry;
using Reconciliation.Status;

namespace Reconciliation.AspNetCore.Internal;

/// <summary>The request handlers behind <c>MapReconciliation()</c>: thin, each one call on <see cref="IReconciliationControl"/> or the status provider.</summary>
internal sealed class ControlEndpoints
{
    /// <summary>Recorded as the owner or decider when the caller has no name (only with AllowAnonymousMutations).</summary>
    internal const string Anonymous = "anonymous";

    private static int _refreshFailing;

    private readonly ReconciliationEndpointOptions _options;

    public ControlEndpoints(ReconciliationEndpointOptions options) => _options = options;

    public static Task PageAsync(HttpContext http)
    {
        http.Response.ContentType = ReconciliationStatusPage.ContentType;
        NoStore(http);
        // The page carries approve/reject buttons: never inside another site's frame (clickjacking).
        http.Response.Headers.XFrameOptions = "DENY";
        http.Response.Headers.ContentSecurityPolicy = "frame-ancestors 'none'";
        http.Response.Headers.XContentTypeOptions = "nosniff";
        return http.Response.WriteAsync(ReconciliationStatusPage.Html, http.RequestAborted);
    }

    public async Task StatusAsync(HttpContext http)
    {
        await RefreshAsync(http).ConfigureAwait(false);
        var provider = http.RequestServices.GetRequiredService<ReconciliationStatusProvider>();
        var status = await provider.GetAsync(_options.History, http.RequestAborted).ConfigureAwait(false);
        status = status with { CanMutate = await CanMutateAsync(http).ConfigureAwait(false) };
        http.Response.ContentType = "application/json; charset=utf-8";
        NoStore(http);
        await ReconciliationStatusJson.WriteAsync(http.Response.Body, status, http.RequestAborted).ConfigureAwait(false);
    }

    public static async Task SilencesAsync(HttpContext http)
    {
        await RefreshAsync(http).ConfigureAwait(false);
        await WriteAsync(http, StatusCodes.Status200OK, Control(http).Silences, ControlJsonContext.Default.IReadOnlyListSilence).ConfigureAwait(false);
    }

    public static async Task ProposalsAsync(HttpContext http)
    {
        await RefreshAsync(http).ConfigureAwait(false);
        await WriteAsync(http, StatusCodes.Status200OK, Control(http).Proposals, ControlJsonContext.Default.IReadOnlyListHealProposal).ConfigureAwait(false);
    }

    public static async Task AddSilenceAsync(HttpContext http)
    {
        if (await ReadAsync(http, ControlJsonContext.Default.SilenceBody).ConfigureAwait(false) is not { } body)
        {
            return;
        }

        var request = new SilenceRequest
        {
            Rule = body.Rule,
            Resource = body.Resource,
            Healer = body.Healer,
            StartsAt = body.StartsAt,
            EndsAt = body.EndsAt,
            Duration = body.Duration,
            Owner = Caller(http),
            Reason = body.Reason ?? string.Empty,
        };
        Silence silence;
        try
        {
            silence = await Control(http).AddSilenceAsync(request, http.RequestAborted).ConfigureAwait(false);
        }
        catch (ArgumentException e)
        {
            await ProblemAsync(http, StatusCodes.Status400BadRequest, e.Message).ConfigureAwait(false);
            return;
        }

        http.Response.Headers.Location = $"{http.Request.PathBase}{http.Request.Path}/{Uri.EscapeDataString(silence.Id)}";
        await WriteAsync(http, StatusCodes.Status201Created, silence, ControlJsonContext.Default.Silence).ConfigureAwait(false);
    }

    public static async Task ExpireSilenceAsync(HttpContext http)
    {
        var id = RouteId(http);
        if (await Control(http).ExpireSilenceAsync(id, Caller(http), http.RequestAborted).ConfigureAwait(false))
        {
            http.Response.StatusCode = StatusCodes.Status204NoContent;
            return;
        }

        await ProblemAsync(http, StatusCodes.Status404NotFound, $"No active run-time silence '{id}' (a silence from configuration ends only by editing configuration).").ConfigureAwait(false);
    }

    public static Task ApproveAsync(HttpContext http) => DecideAsync(http, approve: true);

    public static Task RejectAsync(HttpContext http) => DecideAsync(http, approve: false);

    public static async Task PauseAsync(HttpContext http)
    {
        if (await ReadAsync(http, ControlJsonContext.Default.PauseBody).ConfigureAwait(false) is not { } body)
        {
            return;
        }

        var until = body.Until;
        if (until is null && body.Duration is { } duration)
        {
            if (duration <= TimeSpan.Zero)
            {
                await ProblemAsync(http, StatusCodes.Status400BadRequest, "duration must be positive.").ConfigureAwait(false);
                return;
            }

            until = http.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow() + duration;
        }

        if (string.IsNullOrWhiteSpace(body.Reason))
        {
            await ProblemAsync(http, StatusCodes.Status400BadRequest, "reason is required: say why healing is paused.").ConfigureAwait(false);
            return;
        }

        HealingPause pause;
        try
        {
            pause = await Control(http).PauseAsync(Caller(http), body.Reason, until, http.RequestAborted).ConfigureAwait(false);
        }
        catch (ArgumentException e)
        {
            await ProblemAsync(http, StatusCodes.Status400BadRequest, e.Message).ConfigureAwait(false);
            return;
        }

        await WriteAsync(http, StatusCodes.Status200OK, pause, ControlJsonContext.Default.HealingPause).ConfigureAwait(false);
    }

    public static async Task ResumeAsync(HttpContext http)
    {
        if (await ReadAsync(http, ControlJsonContext.Default.DecisionBody).ConfigureAwait(false) is null)
        {
            return;
        }

        if (await Control(http).ResumeAsync(Caller(http), http.RequestAborted).ConfigureAwait(false))
        {
            http.Response.StatusCode = StatusCodes.Status204NoContent;
            return;
        }

        await ProblemAsync(http, StatusCodes.Status409Conflict, "Healing is not paused by an operator.").ConfigureAwait(false);
    }

    public static async Task TickAsync(HttpContext http)
    {
        if (!RequireJson(http))
        {
            await UnsupportedAsync(http).ConfigureAwait(false);
            return;
        }

        var report = await http.RequestServices.GetRequiredService<IReconciler>().ReconcileOnceAsync(http.RequestAborted).ConfigureAwait(false);
        http.Response.ContentType = "application/json; charset=utf-8";
        NoStore(http);
        await http.Response.WriteAsync(ReconciliationStatusJson.Serialize(report), http.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>The caller's name: <c>Identity.Name</c>, else the name identifier claim, else <see cref="Anonymous"/>.</summary>
    internal static string Caller(HttpContext http) =>
        http.User.Identity?.Name is { Length: > 0 } name ? name
        : http.User.FindFirst(ClaimTypes.NameIdentifier)?.Value is { Length: > 0 } id ? id
        : Anonymous;

    private static async Task DecideAsync(HttpContext http, bool approve)
    {
        if (await ReadAsync(http, ControlJsonContext.Default.DecisionBody).ConfigureAwait(false) is not { } body)
        {
            return;
        }

        var id = RouteId(http);
        var control = Control(http);
        var by = Caller(http);
        var pending = control.Proposals.FirstOrDefault(p => string.Equals(p.Id, id, StringComparison.Ordinal));
        var decided = approve
            ? await control.ApproveAsync(id, by, body.Comment, http.RequestAborted).ConfigureAwait(false)
            : await control.RejectAsync(id, by, body.Comment, http.RequestAborted).ConfigureAwait(false);
        if (!decided)
        {
            await ProblemAsync(http, StatusCodes.Status404NotFound, $"No pending proposal '{id}' (it may have been decided already or have expired).").ConfigureAwait(false);
            return;
        }

        // The list holds proposals awaiting a decision, so the decided one may have left it: answer with what was decided.
        var proposal = control.Proposals.FirstOrDefault(p => string.Equals(p.Id, id, StringComparison.Ordinal) && p.State != ProposalState.Pending)
            ?? (pending is null ? null : pending with
            {
                State = approve ? ProposalState.Approved : ProposalState.Rejected,
                DecidedBy = by,
                DecidedAt = http.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow(),
                Comment = body.Comment,
            });
        if (proposal is null)
        {
            http.Response.StatusCode = StatusCodes.Status204NoContent;
            return;
        }

        await WriteAsync(http, StatusCodes.Status200OK, proposal, ControlJsonContext.Default.HealProposal).ConfigureAwait(false);
    }

    /// <summary>True when the caller satisfies the mutation policy (what the page needs to show its buttons).</summary>
    private async Task<bool> CanMutateAsync(HttpContext http)
    {
        if (_options.MutationPolicy is not { } name)
        {
            return _options.AllowAnonymousMutations;
        }

        var services = http.RequestServices;
        if (await services.GetRequiredService<IAuthorizationPolicyProvider>().GetPolicyAsync(name).ConfigureAwait(false) is not { } policy)
        {
            return false;
        }

        // The same evaluation the authorization middleware runs for the mutation endpoints, including the policy's own schemes.
        var evaluator = services.GetRequiredService<IPolicyEvaluator>();
        var authentication = await evaluator.AuthenticateAsync(policy, http).ConfigureAwait(false);
        var authorization = await evaluator.AuthorizeAsync(policy, authentication, http, resource: null).ConfigureAwait(false);
        return authorization.Succeeded;
    }

    /// <summary>
    /// Reads the shared control state again before showing it: this replica re-reads it only on ticks with an open
    /// violation, so without this a silence or proposal made through another replica could be missing from its page.
    /// When the store cannot be read, the last state read is shown (the same state this replica's heals obey), logged
    /// once per outage (the page polls every two seconds).
    /// </summary>
    private static async Task RefreshAsync(HttpContext http)
    {
        if (http.RequestServices.GetService<IReconciliationControl>() is not { } control)
        {
            return;
        }

        try
        {
            await control.RefreshAsync(http.RequestAborted).ConfigureAwait(false);
            if (Interlocked.Exchange(ref _refreshFailing, 0) == 1)
            {
                Logger(http).ControlRefreshRecovered();
            }
        }
        catch (Exception e) when (e is not OperationCanceledException || !http.RequestAborted.IsCancellationRequested)
        {
            if (Interlocked.Exchange(ref _refreshFailing, 1) == 0)
            {
                Logger(http).ControlRefreshFailed(SecretScrubber.Describe(e));
            }
        }
    }

    private static ILogger Logger(HttpContext http) =>
        http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Reconciliation.AspNetCore");

    private static IReconciliationControl Control(HttpContext http) =>
        http.RequestServices.GetService<IReconciliationControl>()
        ?? throw new InvalidOperationException("No IReconciliationControl is registered: call builder.Services.AddStateReconciliation(...).");

    private static string RouteId(HttpContext http) => http.Request.RouteValues["id"] as string ?? string.Empty;

    /// <summary>
    /// Changes need a JSON body (<c>{}</c> will do): a cross-site HTML form cannot send <c>application/json</c> without a
    /// CORS preflight, so a page elsewhere cannot make a signed-in operator's browser change anything.
    /// </summary>
    private static bool RequireJson(HttpContext http) => http.Request.HasJsonContentType();

    private static async Task<T?> ReadAsync<T>(HttpContext http, JsonTypeInfo<T> type)
        where T : class
    {
        if (!RequireJson(http))
        {
            await UnsupportedAsync(http).ConfigureAwait(false);
            return null;
        }

        try
        {
            if (await JsonSerializer.DeserializeAsync(http.Request.Body, type, http.RequestAborted).ConfigureAwait(false) is { } body)
            {
                return body;
            }
        }
        catch (JsonException e)
        {
            await ProblemAsync(http, StatusCodes.Status400BadRequest, "The body is not valid JSON for this request: " + e.Message).ConfigureAwait(false);
            return null;
        }

        await ProblemAsync(http, StatusCodes.Status400BadRequest, "The body must be a JSON object ({} when there is nothing to say).").ConfigureAwait(false);
        return null;
    }

    private static Task UnsupportedAsync(HttpContext http) =>
        ProblemAsync(http, StatusCodes.Status415UnsupportedMediaType, "Send Content-Type: application/json with a JSON body ({} when there is nothing to say).");

    private static Task ProblemAsync(HttpContext http, int status, string detail) =>
        TypedResults.Problem(detail: detail, statusCode: status).ExecuteAsync(http);

    private static async Task WriteAsync<T>(HttpContext http, int status, T value, JsonTypeInfo<T> type)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json; charset=utf-8";
        NoStore(http);
        await JsonSerializer.SerializeAsync(http.Response.Body, value, type, http.RequestAborted).ConfigureAwait(false);
    }

    private static void NoStore(HttpContext http) => http.Response.Headers.CacheControl = "no-store";
}
