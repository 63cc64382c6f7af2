using System.Diagnostics;
using Reconciliation.TestServers;
using Xunit;

namespace Reconciliation.Tests;

/// <summary>Debian's chromium, headless, rendering a page after its scripts ran: its DOM, or a screenshot.</summary>
internal static class HeadlessChromium
{
    public static string? Find() =>
        new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome" }.FirstOrDefault(File.Exists);

    /// <summary>The chromium binary; under CI=true a missing browser fails the test, locally it skips with the install command.</summary>
    public static string Require()
    {
        var path = Find();
        if (path is null)
        {
            const string message = "Chromium is not installed. Install it with: RECONCILIATION_WITH_BROWSER=1 bash eng/install-servers.sh";
            if (TestServerUnavailableException.IsCi)
            {
                Assert.Fail(message);
            }

            Assert.Skip(message);
        }

        return path!;
    }

    public static async Task<string> DumpDomAsync(string chromium, Uri url, CancellationToken ct)
    {
        var (text, errors, exitCode) = await RunAsync(chromium, ["--dump-dom", url.ToString()], ct);
        Assert.True(text.Contains("<html", StringComparison.OrdinalIgnoreCase), $"chromium printed no DOM (exit {exitCode}): {errors}");
        return text;
    }

    /// <summary>Renders <paramref name="url"/> (scripts run) into a PNG at <paramref name="path"/>, <paramref name="width"/> × <paramref name="height"/> CSS pixels.</summary>
    public static async Task<byte[]> ScreenshotAsync(string chromium, Uri url, string path, CancellationToken ct, int width = 1400, int height = 1400)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.Delete(path);
        var (_, errors, exitCode) = await RunAsync(chromium, [$"--screenshot={Path.GetFullPath(path)}", $"--window-size={width},{height}", "--hide-scrollbars", url.ToString()], ct);
        Assert.True(File.Exists(path), $"chromium wrote no screenshot (exit {exitCode}): {errors}");
        var png = await File.ReadAllBytesAsync(path, ct);
        Assert.True(png.Length > 8 && png[1] == (byte)'P' && png[2] == (byte)'N' && png[3] == (byte)'G', "the screenshot is not a PNG");
        return png;
    }

    private static async Task<(string Output, string Errors, int ExitCode)> RunAsync(string chromium, string[] arguments, CancellationToken ct)
    {
        var profile = Directory.CreateTempSubdirectory("reconciliation-chromium-").FullName;
        try
        {
            var psi = new ProcessStartInfo(chromium)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            // The flags keep a root, sandbox-less, offline machine quiet; virtual time lets the page's fetch run before the dump.
            foreach (var argument in new[]
            {
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", $"--user-data-dir={profile}",
                "--virtual-time-budget=4000",
            }.Concat(arguments))
            {
                psi.ArgumentList.Add(argument);
            }

            using var process = Process.Start(psi)!;
            var dom = process.StandardOutput.ReadToEndAsync(ct);
            var errors = process.StandardError.ReadToEndAsync(ct);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(60));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException("chromium did not finish within 60 s: " + await errors);
            }

            return (await dom, await errors, process.ExitCode);
        }
        finally
        {
            try
            {
                Directory.Delete(profile, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
