using Xunit;

namespace Reconciliation.Redis.Tests;

public sealed class RedisEvictPrefixHealerTests
{
    [Theory]
    [InlineData("app:cache:", "app:cache:")]
    [InlineData("a*b?:", @"a\*b\?:")]
    [InlineData("t[1]:", @"t\[1\]:")]
    [InlineData(@"x\y", @"x\\y")]
    public void EscapeGlob_makes_the_prefix_literal_for_SCAN_MATCH(string prefix, string expected) =>
        Assert.Equal(expected, RedisEvictPrefixHealer.EscapeGlob(prefix));
}
