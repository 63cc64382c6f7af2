using System.Globalization;

namespace Reconciliation.PgBouncer;

/// <summary>One command's reply from the admin console: column names and rows of text (the simple query protocol sends text).</summary>
internal sealed class PgBouncerResultSet
{
    private readonly Dictionary<string, int> _columnIndex;

    internal PgBouncerResultSet(string command, IReadOnlyList<string> columns, IReadOnlyList<string?[]> rows, string? commandTag)
    {
        Command = command;
        Columns = columns;
        Rows = rows;
        CommandTag = commandTag;
        _columnIndex = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < columns.Count; i++)
        {
            _columnIndex.TryAdd(columns[i], i);
        }
    }

    /// <summary>The command that was sent (<c>SHOW POOLS</c>).</summary>
    public string Command { get; }

    /// <summary>The column names of the row description; empty for a command that returns no rows.</summary>
    public IReadOnlyList<string> Columns { get; }

    /// <summary>The rows, each value text or <see langword="null"/> for SQL NULL.</summary>
    public IReadOnlyList<string?[]> Rows { get; }

    /// <summary>The <c>CommandComplete</c> tag (<c>SHOW</c>, <c>RECONNECT</c>).</summary>
    public string? CommandTag { get; }

    /// <summary>Whether the reply has a column named <paramref name="column"/>.</summary>
    public bool HasColumn(string column) => _columnIndex.ContainsKey(column);

    /// <summary>The index of <paramref name="column"/>.</summary>
    /// <exception cref="PgBouncerProtocolException">The reply has no such column (another PgBouncer version).</exception>
    public int IndexOf(string column) => _columnIndex.TryGetValue(column, out var index)
        ? index
        : throw new PgBouncerProtocolException($"The reply to {Command} has no column '{column}' (columns: {string.Join(", ", Columns)}).");

    /// <summary>The text of <paramref name="column"/> in <paramref name="row"/>.</summary>
    public string? Text(string?[] row, string column)
    {
        ArgumentNullException.ThrowIfNull(row);
        return row[IndexOf(column)];
    }

    /// <summary>The integer in <paramref name="column"/> of <paramref name="row"/>; 0 for NULL or empty.</summary>
    /// <exception cref="PgBouncerProtocolException">The value is not an integer.</exception>
    public long Integer(string?[] row, string column)
    {
        var text = Text(row, column);
        if (string.IsNullOrEmpty(text))
        {
            return 0;
        }

        return long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new PgBouncerProtocolException($"The reply to {Command} has a non-integer value in column '{column}'.");
    }
}
