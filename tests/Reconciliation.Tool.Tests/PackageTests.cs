using System.IO.Compression;
using System.Xml.Linq;
using Xunit;

namespace Reconciliation.Tool.Tests;

/// <summary>The tool's package is packed like the library packages: a README, the license and a description, and it is a .NET tool named reconcile.</summary>
public sealed class PackageTests(InstalledTool tool)
{
    [Fact]
    public void Is_a_dotnet_tool_named_reconcile_with_readme_license_and_description()
    {
        using var zip = ZipFile.OpenRead(tool.Package);
        var names = zip.Entries.Select(e => e.FullName).ToArray();
        Assert.Contains("README.md", names);
        Assert.Contains("tools/net10.0/any/Reconciliation.Tool.dll", names);
        Assert.Contains("tools/net10.0/any/Reconciliation.dll", names);

        using (var settings = zip.GetEntry("tools/net10.0/any/DotnetToolSettings.xml")!.Open())
        {
            var command = XDocument.Load(settings).Descendants().Single(e => e.Name.LocalName == "Command");
            Assert.Equal("reconcile", command.Attribute("Name")?.Value);
        }

        using var nuspec = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open();
        var metadata = XDocument.Load(nuspec).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
        Assert.Equal("MIT", metadata.Elements().Single(e => e.Name.LocalName == "license").Value);
        Assert.Equal("README.md", metadata.Elements().Single(e => e.Name.LocalName == "readme").Value);
        Assert.Contains("DotnetTool", metadata.Elements().Single(e => e.Name.LocalName == "packageTypes").ToString(), StringComparison.Ordinal);
        Assert.False(string.IsNullOrWhiteSpace(metadata.Elements().Single(e => e.Name.LocalName == "description").Value));
    }
}
