using Xunit;

namespace Reconciliation.Redis.Tests;

public sealed class RedisInfoTests
{
    [Fact]
    public void Parse_reads_the_fields_the_probe_uses_from_crlf_sections()
    {
        const string raw = "# Server\r\nredis_version:7.0.15\r\nrun_id:abc123\r\n\r\n# Clients\r\nconnected_clients:7\r\nmaxclients:10000\r\n"
            + "# Memory\r\nused_memory:939336\r\nused_memory_human:917.32K\r\nmaxmemory:4194304\r\nmaxmemory_policy:allkeys-lru\r\n"
            + "# Stats\r\nkeyspace_hits:300\r\nkeyspace_misses:100\r\nevicted_keys:42\r\n";

        var info = RedisInfo.Parse(raw);

        Assert.Equal("abc123", info.RunId);
        Assert.Equal(7, info.ConnectedClients);
        Assert.Equal(10000, info.MaxClients);
        Assert.Equal(939336, info.UsedMemory);
        Assert.Equal(4194304, info.MaxMemory);
        Assert.Equal("allkeys-lru", info.MaxMemoryPolicy);
        Assert.Equal(300, info.KeyspaceHits);
        Assert.Equal(100, info.KeyspaceMisses);
        Assert.Equal(42, info.EvictedKeys);
    }

    [Fact]
    public void Parse_marks_missing_or_malformed_fields_as_minus_one()
    {
        var info = RedisInfo.Parse("# Stats\nkeyspace_hits:abc\nused_memory:12\n");

        Assert.Equal(-1, info.KeyspaceHits);
        Assert.Equal(-1, info.KeyspaceMisses);
        Assert.Equal(-1, info.MaxMemory);
        Assert.Equal(12, info.UsedMemory);
        Assert.Null(info.RunId);
        Assert.Null(info.MaxMemoryPolicy);
    }
}
