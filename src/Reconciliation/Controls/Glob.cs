namespace Reconciliation;

/// <summary>Matches names against an exact name or a glob (<c>*</c> any run of characters, <c>?</c> one), ordinal, ignoring case like rule names.</summary>
internal static class Glob
{
    /// <summary>True when <paramref name="pattern"/> is <see langword="null"/> (matches everything) or matches <paramref name="name"/>.</summary>
    public static bool IsMatch(string? pattern, string name) => pattern is null || IsMatch(pattern.AsSpan(), name.AsSpan());

    private static bool IsMatch(ReadOnlySpan<char> pattern, ReadOnlySpan<char> name)
    {
        // Iterative matching with one backtrack point for the last '*': linear for the patterns people write, no allocation.
        int p = 0, n = 0, star = -1, mark = 0;
        while (n < name.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || char.ToUpperInvariant(pattern[p]) == char.ToUpperInvariant(name[n])))
            {
                p++;
                n++;
            }
            else if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                mark = n;
            }
            else if (star >= 0)
            {
                p = star + 1;
                n = ++mark;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }
}
