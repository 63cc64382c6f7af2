using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using System.Xml.Linq;
using Xunit;

namespace Reconciliation.Packaging.Tests;

/// <summary>
/// Adopts the library the way a user does: packs every src/ project to a local folder feed, creates a fresh project
/// outside the solution that references the packages from that feed, and builds a Program.cs that calls
/// AddStateReconciliation().
/// </summary>
public sealed class PackagesAdoptionTests : IDisposable
{
    private static readonly string[] Packages = ["Reconciliation", "Reconciliation.Postgres", "Reconciliation.Redis", "Reconciliation.Queue", "Reconciliation.Http", "Reconciliation.PgBouncer", "Reconciliation.OpenTelemetry", "Reconciliation.AspNetCore"];
    private readonly string _work = Directory.CreateTempSubdirectory("reconciliation-adopt-").FullName;

    [Fact]
    public async Task Every_package_packs_with_readme_xml_docs_license_and_symbols_and_a_fresh_project_builds_against_them()
    {
        var ct = TestContext.Current.CancellationToken;
        var root = RepositoryRoot();
        var feed = Path.Combine(_work, "feed");
        var version = "0.1.0-adopt." + Environment.ProcessId;

        foreach (var package in Packages)
        {
            await Dotnet(root, ct, "pack", Path.Combine(root, "src", package, package + ".csproj"), "-c", "Release", "-o", feed,
                "--artifacts-path", Path.Combine(_work, "artifacts"), $"-p:Version={version}");
            AssertPackageContents(Path.Combine(feed, $"{package}.{version}.nupkg"), package);
        }

        var app = Path.Combine(_work, "app");
        Directory.CreateDirectory(app);
        await File.WriteAllTextAsync(Path.Combine(app, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="local" value="{feed}" />
              </packageSources>
              <packageSourceMapping>
                <packageSource key="local"><package pattern="Reconciliation*" /></packageSource>
              </packageSourceMapping>
            </configuration>
            """, ct);
        // Keep the sources the machine already has (the public feed) for the packages' own dependencies.
        await File.WriteAllTextAsync(Path.Combine(app, "nuget.config"),
            (await File.ReadAllTextAsync(Path.Combine(app, "nuget.config"), ct)).Replace("<packageSourceMapping>", """
                <packageSourceMapping>
                  <packageSource key="nuget.org"><package pattern="*" /></packageSource>
                """, StringComparison.Ordinal), ct);
        await File.WriteAllTextAsync(Path.Combine(app, "Adopter.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
                <ManagePackageVersionsCentrally>false</ManagePackageVersionsCentrally>
              </PropertyGroup>
              <ItemGroup>
                {string.Join(Environment.NewLine, Packages.Select(p => $"""<PackageReference Include="{p}" Version="{version}" />"""))}
                <PackageReference Include="Microsoft.Extensions.Hosting" Version="10.0.15" />
              </ItemGroup>
            </Project>
            """, ct);
        await File.WriteAllTextAsync(Path.Combine(app, "Program.cs"), """
            using Microsoft.Extensions.DependencyInjection;
            using Microsoft.Extensions.Hosting;
            using Reconciliation;

            var builder = Host.CreateApplicationBuilder(args);
            builder.Services.AddStateReconciliation(builder.Configuration.GetSection("Reconciliation"))
                .AddRule("memory", r => { r.Signal = "process.memory.working_set"; r.Above = 4e9; });
            builder.Services.AddHealthChecks().AddReconciliation();
            using var host = builder.Build();
            var report = await host.Services.GetRequiredService<IReconciler>().ReconcileOnceAsync();
            Console.WriteLine($"adopted: {report.Signals.Count} signals, healthy={report.IsHealthy}");


            /// <summary>Every adapter package's registration, as README's quick start writes it (compiled, not run: no servers here).</summary>
            public static class Wiring
            {
                public static IReconciliationBuilder Wire(IReconciliationBuilder builder, Npgsql.NpgsqlDataSource dataSource, StackExchange.Redis.IConnectionMultiplexer redis) =>
                    builder.AddPostgres(dataSource)
                        .AddRedis(redis, o => o.MaxMemoryPolicy = "allkeys-lru")
                        .AddPostgresQueue("emails", o => o.DataSource = dataSource)
                        .AddHttpLatency()
                        .AddHttpEndpoint("upstream", new Uri("http://127.0.0.1:1/health"))
                        .AddPgBouncer("pooler", "Host=127.0.0.1;Port=6432;Username=stats;Password=unused", o => o.Databases.Add("orders"));

                /// <summary>The endpoints, as README's quick start maps them (compiled, not run).</summary>
                public static void Map(Microsoft.AspNetCore.Builder.WebApplication app)
                {
                    Microsoft.AspNetCore.Builder.ReconciliationHealthEndpointRouteBuilderExtensions.MapReconciliationHealthChecks(app);
                    Microsoft.AspNetCore.Builder.ReconciliationEndpointRouteBuilderExtensions.MapReconciliation(app, "/reconciliation", o => o.MutationPolicy = "operators");
                }
            }
            """, ct);
        // A project outside the repository: no Directory.Build.props or central package versions apply.
        await File.WriteAllTextAsync(Path.Combine(_work, "Directory.Build.props"), "<Project />", ct);
        await File.WriteAllTextAsync(Path.Combine(_work, "Directory.Packages.props"), "<Project />", ct);

        await Dotnet(app, ct, "build", "-c", "Release");
        var output = await Dotnet(app, ct, "run", "-c", "Release", "--no-build");
        Assert.Contains("adopted:", output, StringComparison.Ordinal);
        Assert.Contains("healthy=True", output, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_work, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static void AssertPackageContents(string nupkg, string package)
    {
        Assert.True(File.Exists(nupkg), $"{nupkg} was not produced");
        using var zip = ZipFile.OpenRead(nupkg);
        var names = zip.Entries.Select(e => e.FullName).ToArray();
        Assert.Contains("README.md", names);
        Assert.Contains($"lib/net10.0/{package}.dll", names);
        Assert.Contains($"lib/net10.0/{package}.xml", names);
        Assert.True(File.Exists(Path.ChangeExtension(nupkg, ".snupkg")), "symbols package missing");

        using var nuspec = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open();
        var metadata = XDocument.Load(nuspec).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
        var license = metadata.Elements().Single(e => e.Name.LocalName == "license");
        Assert.Equal("expression", license.Attribute("type")?.Value);
        Assert.Equal("MIT", license.Value);
        Assert.Equal("README.md", metadata.Elements().Single(e => e.Name.LocalName == "readme").Value);
        Assert.False(string.IsNullOrWhiteSpace(metadata.Elements().Single(e => e.Name.LocalName == "description").Value));
    }

    private static string RepositoryRoot()
    {
        var recorded = typeof(PackagesAdoptionTests).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false)
            .Cast<System.Reflection.AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "RepositoryRoot")?.Value;
        if (recorded is not null && File.Exists(Path.Combine(recorded, "Reconciliation.sln")))
        {
            return recorded;
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Reconciliation.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Reconciliation.sln not found above " + AppContext.BaseDirectory);
    }

    private static async Task<string> Dotnet(string workingDirectory, CancellationToken ct, params string[] arguments)
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
        // The outer `dotnet test` sets MSBuild variables that must not leak into the inner builds.
        psi.Environment.Remove("MSBuildExtensionsPath");
        psi.Environment.Remove("MSBuildSDKsPath");
        psi.Environment.Remove("MSBUILD_EXE_PATH");

        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        var output = new StringBuilder().Append(await stdout).Append(await stderr).ToString();
        Assert.True(process.ExitCode == 0, $"dotnet {string.Join(' ', arguments)} exited with {process.ExitCode}:{Environment.NewLine}{output}");
        return output;
    }
}
