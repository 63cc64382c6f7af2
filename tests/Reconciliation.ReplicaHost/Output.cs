using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Reconciliation.ReplicaHost;

/// <summary>
/// The host's only output: one JSON object per line on stdout, so the fleet tests parse what happened instead of waiting
/// for it to happen. Every line carries its type (<c>t</c>), this replica's id and the process id. Nothing secret is ever
/// passed in: connection strings are read from the environment and never printed, exception texts go through
/// <see cref="SecretScrubber"/>.
/// </summary>
internal static class Output
{
    private static readonly Lock Gate = new();
    private static string _replica = "?";

    public static void SetReplica(string replica) => _replica = replica;

    /// <summary>Writes one line: <c>{"t": type, "replica": ..., "pid": ..., ...fields}</c>.</summary>
    public static void Line(string type, Action<Utf8JsonWriter> fields)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("t", type);
            json.WriteString("replica", _replica);
            json.WriteNumber("pid", Environment.ProcessId);
            json.WriteString("at", TimeProvider.System.GetUtcNow());
            fields(json);
            json.WriteEndObject();
        }

        var line = Encoding.UTF8.GetString(buffer.WrittenSpan);
        lock (Gate)
        {
            Console.Out.WriteLine(line);
            Console.Out.Flush();
        }
    }

    public static void Line(string type) => Line(type, static _ => { });

    public static void StringOrNull(this Utf8JsonWriter json, string name, string? value)
    {
        if (value is null)
        {
            json.WriteNull(name);
        }
        else
        {
            json.WriteString(name, value);
        }
    }
}
