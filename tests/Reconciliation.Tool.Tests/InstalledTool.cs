using System.Diagnostics;
using System.Reflection;
using System.Text;
using Xunit;

[assembly: AssemblyFixture(typeof(Reconciliation.Tool.Tests.InstalledTool))]

namespace Reconciliation.Tool.Tests;

/// <summary>
/// The <c>reconcile</c> command as a user gets it: the tool project (built with this test project, same configuration) is
/// packed to a local folder feed and installed with <c>dotnet tool install --tool-path ... --add-source ...</c> into a
/// temporary tool path, with a package cache of its own. Every test runs that installed command as a separate process.
/// </summary>
public sealed class InstalledTool : IAsyncLifetime
{
    private const string Version = "0.1.0-tooltest";
    private readonly string _work = Directory.CreateTempSubdirectory("reconcile-tool-").FullName;

    /// <summary>The installed command (the shim in the tool path).</summary>
    public string Command => Path.Combine(_work, "tools", OperatingSystem.IsWindows() ? "reconcile.exe" : "reconcile");

    /// <summary>The packed tool package.</summary>
    public string Package => Path.Combine(_work, "feed", $"Reconciliation.Tool.{Version}.nupkg");

    /// <summary>A folder for the tests' configuration files and reports.</summary>
    public string Work => _work;

    public async ValueTask InitializeAsync()
    {
        var root = Metadata("RepositoryRoot");
        var feed = Path.Combine(_work, "feed");
        await DotnetAsync(root, "pack", Path.Combine(root, "src", "Reconciliation.Tool", "Reconciliation.Tool.csproj"),
            "-c", Metadata("ToolConfiguration"), "--no-build", "-o", feed, $"-p:Version={Version}");
        // Only the local feed: the tool package carries its dependencies, so installing it needs no network.
        var nugetConfig = Path.Combine(_work, "nuget.config");
        await File.WriteAllTextAsync(nugetConfig, """
            <?xml version="1.0" encoding="utf-8"?>
            <configuration><packageSources><clear /></packageSources></configuration>
            """);
        await DotnetAsync(_work, "tool", "install", "--tool-path", Path.Combine(_work, "tools"), "--configfile", nugetConfig, "--add-source", feed,
            "Reconciliation.Tool", "--version", Version);
        Assert.True(File.Exists(Command), $"{Command} was not installed");
    }

    public ValueTask DisposeAsync()
    {
        try
        {
            Directory.Delete(_work, recursive: true);
        }
        catch (IOException)
        {
        }

        return ValueTask.CompletedTask;
    }

    private static string Metadata(string key) =>
        typeof(InstalledTool).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;

    private async Task DotnetAsync(string workingDirectory, params string[] arguments)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            psi.ArgumentList.Add(argument);
        }

        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        // The install extracts into a package cache of its own, deleted with the test's folder.
        psi.Environment["NUGET_PACKAGES"] = Path.Combine(_work, "packages");
        // The outer `dotnet test` sets MSBuild variables that must not leak into the inner commands.
        psi.Environment.Remove("MSBuildExtensionsPath");
        psi.Environment.Remove("MSBuildSDKsPath");
        psi.Environment.Remove("MSBUILD_EXE_PATH");

        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        var output = new StringBuilder().Append(await stdout).Append(await stderr).ToString();
        Assert.True(process.ExitCode == 0, $"dotnet {string.Join(' ', arguments)} exited with {process.ExitCode}:{Environment.NewLine}{output}");
    }
}
