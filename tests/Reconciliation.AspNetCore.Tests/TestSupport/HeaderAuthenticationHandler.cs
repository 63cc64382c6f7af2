using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Reconciliation.AspNetCore.Tests.TestSupport;

/// <summary>
/// A real ASP.NET Core authentication scheme for tests: the caller names itself in <c>X-Test-User</c> and its roles in
/// <c>X-Test-Roles</c> (comma-separated); without the header it is anonymous (or <see cref="HeaderOptions.DefaultUser"/>,
/// for the browser, which cannot send headers). Challenge answers 401 and forbid 403, as any scheme does.
/// </summary>
internal sealed class HeaderAuthenticationHandler(IOptionsMonitor<HeaderAuthenticationHandler.HeaderOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<HeaderAuthenticationHandler.HeaderOptions>(options, logger, encoder)
{
    public const string SchemeName = "TestHeader";
    public const string UserHeader = "X-Test-User";
    public const string RolesHeader = "X-Test-Roles";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var user = Request.Headers[UserHeader].ToString();
        var roles = Request.Headers[RolesHeader].ToString();
        if (user.Length == 0)
        {
            if (Options.DefaultUser is null)
            {
                return Task.FromResult(AuthenticateResult.NoResult());
            }

            (user, roles) = (Options.DefaultUser, Options.DefaultRoles);
        }

        var claims = new List<Claim> { new(ClaimTypes.Name, user) };
        claims.AddRange(roles.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(r => new Claim(ClaimTypes.Role, r)));
        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName));
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName)));
    }

    public sealed class HeaderOptions : AuthenticationSchemeOptions
    {
        public string? DefaultUser { get; set; }

        public string DefaultRoles { get; set; } = string.Empty;
    }
}
