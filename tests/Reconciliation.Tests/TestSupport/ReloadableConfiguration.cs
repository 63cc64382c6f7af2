using Microsoft.Extensions.Configuration;

namespace Reconciliation.Tests.TestSupport;

/// <summary>An in-memory configuration provider whose keys a test can also remove, then reload through <see cref="IConfigurationRoot.Reload"/>.</summary>
internal sealed class ReloadableConfiguration : ConfigurationProvider, IConfigurationSource
{
    public ReloadableConfiguration(IDictionary<string, string?> data)
    {
        Data = new Dictionary<string, string?>(data, StringComparer.OrdinalIgnoreCase);
    }

    public IConfigurationProvider Build(IConfigurationBuilder builder) => this;

    public void Remove(string key) => Data.Remove(key);

    public IConfigurationRoot BuildRoot() => new ConfigurationBuilder().Add(this).Build();
}
