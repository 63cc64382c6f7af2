
namespace Reconciliation.Tests.Engine;

public sealed class SecretScrubberTests
{
    [Theory]
    [InlineData("Host=db;Username=app;Password=hunter2;Database=orders", "hunter2")]
    [InlineData("Server=db; User Id=sa; Pwd = hunter2 ;", "hunter2")]
    [InlineData("Host=db;Password=\"hun;ter2\";", "hun;ter2")]
    [InlineData("Host=db;Password='hunter2';", "hunter2")]
    [InlineData("cache:6379,password=hunter2,ssl=true", "hunter2")]
    [InlineData("failed to connect to postgres://app:hunter2@db:5432/orders", "hunter2")]
    [InlineData("redis://:hunter2@cache:6379/0", "hunter2")]
    [InlineData("https://user:hunter2@example.com/hook", "hunter2")]
    [InlineData("Authorization: Bearer eyJhbGciOi.hunter2.sig", "hunter2")]
    [InlineData("api_key=hunter2&x=1", "hunter2")]
    public void Secrets_in_connection_strings_uris_and_headers_are_removed(string text, string secret)
    {
        var scrubbed = SecretScrubber.Scrub(text);

        Assert.DoesNotContain(secret, scrubbed, StringComparison.Ordinal);
        Assert.Contains("***", scrubbed, StringComparison.Ordinal);
    }

    [Fact]
    public void What_is_not_secret_stays_readable()
    {
        Assert.Equal("Host=db;Username=app;Password=***;Database=orders", SecretScrubber.Scrub("Host=db;Username=app;Password=hunter2;Database=orders"));
        Assert.Equal("postgres://***@db:5432/orders", SecretScrubber.Scrub("postgres://app:hunter2@db:5432/orders"));
        Assert.Equal("timed out after 00:00:05", SecretScrubber.Scrub("timed out after 00:00:05"));
        Assert.Equal(string.Empty, SecretScrubber.Scrub(null));
    }

    [Fact]
    public void Describe_gives_the_type_and_scrubbed_message_and_unwraps_a_single_aggregate()
    {
        var inner = new InvalidOperationException("login failed: Password=hunter2");

        Assert.Equal("InvalidOperationException: login failed: Password=***", SecretScrubber.Describe(inner));
        Assert.Equal("InvalidOperationException: login failed: Password=***", SecretScrubber.Describe(new AggregateException(inner)));
    }
}
