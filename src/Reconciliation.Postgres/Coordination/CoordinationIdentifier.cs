using System.Text.RegularExpressions;

namespace Reconciliation.Postgres;

/// <summary>
/// The coordination schema name from configuration: validated against a strict pattern and always quoted, so no
/// configuration value can change the meaning of a statement (the same rule as the job queue's identifiers).
/// </summary>
internal static partial class CoordinationIdentifier
{
    /// <summary>The pattern, for error messages.</summary>
    public const string Pattern = "^[a-z_][a-z0-9_]{0,46}$";

    public static bool IsValid(string? identifier) => identifier is not null && IdentifierRegex().IsMatch(identifier);

    /// <summary>Quotes a validated identifier. Throws when it is not valid: a second line of defence behind options validation.</summary>
    public static string Quote(string identifier)
    {
        if (!IsValid(identifier))
        {
            throw new ArgumentException($"'{identifier}' is not a valid coordination schema name ({Pattern}).", nameof(identifier));
        }

        return "\"" + identifier + "\"";
    }

    [GeneratedRegex(Pattern, RegexOptions.CultureInvariant)]
    private static partial Regex IdentifierRegex();
}
