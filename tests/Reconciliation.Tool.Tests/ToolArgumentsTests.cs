using Reconciliation.Tool.Cli;
using Xunit;

namespace Reconciliation.Tool.Tests;

/// <summary>The command line, parsed in process: durations, and secrets refused without being echoed.</summary>
public sealed class ToolArgumentsTests
{
    [Theory]
    [InlineData("60s", 60_000)]
    [InlineData("500ms", 500)]
    [InlineData("2m", 120_000)]
    [InlineData("1h30m", 5_400_000)]
    [InlineData("1.5s", 1_500)]
    [InlineData("00:01:30", 90_000)]
    [InlineData("0s", 0)]
    public void Parses_durations(string text, long milliseconds) =>
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), ToolArguments.ParseDuration(text));

    [Theory]
    [InlineData("60")]
    [InlineData("soon")]
    [InlineData("5d")]
    [InlineData("")]
    [InlineData("s")]
    public void Refuses_what_is_not_a_duration(string text) => Assert.Null(ToolArguments.ParseDuration(text));

    [Theory]
    [InlineData("--postgres", "Host=db;Username=app;Password=hunter2-secret")]
    [InlineData("--redis", "cache:6379,password=hunter2-secret")]
    [InlineData("--password", "hunter2-secret")]
    [InlineData("--password=hunter2-secret", null)]
    [InlineData("--connection-string", "Host=db")]
    [InlineData("--url", "redis://app:hunter2-secret@cache:6379")]
    public void Refuses_a_secret_on_the_command_line_without_echoing_it(string option, string? value)
    {
        string[] args = value is null ? ["gate", "--config", "reconcile.json", option] : ["gate", "--config", "reconcile.json", option, value];

        var e = Assert.Throws<ToolUsageException>(() => ToolArguments.Parse(args));

        Assert.Contains("refuses secrets on the command line", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Reads_the_gate_options()
    {
        var parsed = ToolArguments.Parse(["gate", "--config", "/run/secrets/reconcile.json", "--wait", "90s", "--json", "out.json", "--format", "github", "--allow-degraded"]);

        Assert.Equal("gate", parsed.Command);
        Assert.Equal("/run/secrets/reconcile.json", parsed.ConfigPath);
        Assert.Equal(TimeSpan.FromSeconds(90), parsed.Wait);
        Assert.Equal("out.json", parsed.JsonPath);
        Assert.True(parsed.GitHubFormat);
        Assert.True(parsed.AllowDegraded);
    }

    [Theory]
    [InlineData("gate")]
    [InlineData("gate", "--config")]
    [InlineData("gate", "--config", "r.json", "--port", "9464")]
    [InlineData("watch", "--config", "r.json", "--wait", "5s")]
    [InlineData("watch", "--config", "r.json", "--port", "70000")]
    [InlineData("gate", "--config", "r.json", "--format", "xml")]
    [InlineData("deploy", "--config", "r.json")]
    public void Refuses_a_wrong_command_line(params string[] args) => Assert.Throws<ToolUsageException>(() => ToolArguments.Parse(args));
}
