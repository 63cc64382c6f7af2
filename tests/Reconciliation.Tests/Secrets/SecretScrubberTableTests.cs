namespace Reconciliation.Tests.Secrets;

/// <summary>The scrubber against a table of secret shapes seen in real connection strings, URLs, headers, JSON and logs.</summary>
public sealed class SecretScrubberTableTests
{
    // Every planted secret contains "S3cr3t" so a leak is one Contains away, whatever the shape around it.
    public static TheoryData<string, string> Shapes => new()
    {
        { "npgsql password", "Host=db;Username=app;Password=S3cr3t-pg;Database=orders" },
        { "npgsql pwd with spaces", "Server=db; User Id=sa; Pwd = S3cr3t-pwd ;" },
        { "quoted value with a semicolon", "Host=db;Password=\"S3cr3t;quoted\";" },
        { "single-quoted value", "Host=db;Password='S3cr3t-single';" },
        { "npgsql ssl password", "Host=db;SSL Password=S3cr3t-ssl;SSL Mode=Require" },
        { "redis configuration string", "cache:6379,password=S3cr3t-redis,ssl=true,abortConnect=false" },
        { "redis uri", "redis://:S3cr3t-redisuri@cache:6379/0" },
        { "postgres uri", "failed to connect to postgres://app:S3cr3t-uri@db:5432/orders" },
        { "https uri with user-info", "POST https://deploy:S3cr3t-https@ci.example.com/hook failed" },
        { "authorization bearer", "Authorization: Bearer S3cr3t.bearer.token" },
        { "authorization basic", "Authorization: Basic S3cr3tYmFzaWM6cGFzcw==" },
        { "proxy-authorization", "Proxy-Authorization: Digest S3cr3t-digest" },
        { "bare bearer", "sent with bearer S3cr3t-9bare to the api" },
        { "access_token query", "GET /cb?access_token=S3cr3t-access&state=1" },
        { "refresh_token form", "grant_type=refresh_token&refresh_token=S3cr3t-refresh" },
        { "client_secret form", "client_id=app&client_secret=S3cr3t-client" },
        { "id_token", "id_token=S3cr3t-id" },
        { "api_key", "api_key=S3cr3t-api&x=1" },
        { "apikey", "https://example.com/v1?apikey=S3cr3t-apikey" },
        { "x-api-key header", "X-Api-Key: S3cr3t-header" },
        { "json password", "{\"user\":\"app\",\"password\":\"S3cr3t-json\"}" },
        { "json client_secret with spaces", "{ \"client_secret\" : \"S3cr3t-json2\" }" },
        { "json token", "{\"token\": \"S3cr3t-json3\", \"ok\": true}" },
        { "yaml password", "password: S3cr3t-yaml" },
        { "aws secret access key", "aws_secret_access_key=S3cr3t-aws" },
        { "azure storage account key", "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=S3cr3t-azure==;EndpointSuffix=core.windows.net" },
        { "service bus shared access key", "Endpoint=sb://x/;SharedAccessKeyName=root;SharedAccessKey=S3cr3t-sb=" },
        { "sas signature", "https://x.blob.core.windows.net/c?sv=2020&sig=S3cr3t-sas%3D" },
        { "passphrase", "passphrase=S3cr3t-phrase" },
        { "cookie header", "Cookie: S3cr3t-cookie" },
        { "jwt", "token rejected: eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJTM2NyM3QifQ.S3cr3tSig" },
        { "github token", "clone with ghp_S3cr3tAAAAAAAAAAAAAAAAAAAAAAAA failed" },
        { "slack token", "xoxb-S3cr3t-1234567890" },
        { "stripe key", "sk_live_S3cr3tABCDEFGH" },
        { "webhook secret", "secret is whsec_S3cr3tMTIzNDU2Nzg5MDEy" },
        { "pem private key", "-----BEGIN RSA PRIVATE KEY-----\nS3cr3tMIIEow\n-----END RSA PRIVATE KEY-----" },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Every_secret_shape_is_removed(string shape, string text)
    {
        var scrubbed = SecretScrubber.Scrub(text);

        Assert.False(scrubbed.Contains("S3cr3t", StringComparison.OrdinalIgnoreCase), $"{shape}: '{scrubbed}'");
        Assert.Contains("***", scrubbed, StringComparison.Ordinal);
    }

    [Fact]
    public void The_table_covers_at_least_25_shapes() => Assert.True(Shapes.Count >= 25);

    [Theory]
    [InlineData("signal postgres.pool.usage above 0.85 for 00:00:30")]
    [InlineData("Host=db;Port=5432;Username=app;Database=orders;Timeout=15")]
    [InlineData("2 blockers outside scope: other role; 1 session left alone: not a client backend")]
    [InlineData("CONFIG SET maxmemory-policy allkeys-lru on Redis resource 'cache'")]
    [InlineData("POST https://ci.example.com/hooks/rollback answered 503")]
    [InlineData("the token bucket is empty; basic checks passed")]
    public void Text_without_secrets_is_unchanged(string text) => Assert.Equal(text, SecretScrubber.Scrub(text));

    [Fact]
    public void Scrubbed_json_stays_json()
    {
        var scrubbed = SecretScrubber.Scrub("{\"user\":\"app\",\"password\":\"S3cr3t\"}");

        Assert.Equal("{\"user\":\"app\",\"password\":\"***\"}", scrubbed);
        using var document = System.Text.Json.JsonDocument.Parse(scrubbed);
        Assert.Equal("***", document.RootElement.GetProperty("password").GetString());
    }
}
