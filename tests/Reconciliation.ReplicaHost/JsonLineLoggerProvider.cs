using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Reconciliation.ReplicaHost;

/// <summary>
/// Writes the library's log records as <c>{"t":"log", ...}</c> lines (event name, level, category, message), so a test can
/// wait for <c>HealRecordFenced</c> or <c>RuleStateResumed</c>. Messages are the library's own (they carry no secrets);
/// exceptions are reduced to <see cref="SecretScrubber.Describe"/>.
/// </summary>
internal sealed class JsonLineLoggerProvider : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new JsonLineLogger(categoryName);

    public void Dispose()
    {
    }

    private sealed class JsonLineLogger(string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information
            || (logLevel >= LogLevel.Debug && category.StartsWith("Reconciliation", StringComparison.Ordinal));

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            var message = SecretScrubber.Scrub(formatter(state, exception));
            var error = exception is null ? null : SecretScrubber.Describe(exception);
            Output.Line("log", json =>
            {
                json.WriteString("level", logLevel.ToString());
                json.WriteString("category", category);
                json.WriteNumber("eventId", eventId.Id);
                json.StringOrNull("event", eventId.Name);
                json.WriteString("message", message);
                json.StringOrNull("error", error);
            });
        }
    }
}
