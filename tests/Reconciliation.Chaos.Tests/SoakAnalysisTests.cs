using System.Buffers.Binary;
using System.IO.Compression;
using Reconciliation.Chaos.Tests.Support;
using Xunit;

namespace Reconciliation.Chaos.Tests;

/// <summary>The soak's verdict and plot can fail: a leak reads as growth, a flat series does not, and the PNG is a real PNG.</summary>
public sealed class SoakAnalysisTests
{
    private static List<(double Seconds, double[] Values)> Series(Func<double, int, double> value, int minutes = 30) =>
        Enumerable.Range(0, minutes * 12).Select(i => (i * 5.0, Enumerable.Range(0, SoakRecorder.Columns.Length).Select(c => value(i * 5.0, c)).ToArray())).ToList();

    [Fact]
    public void A_flat_noisy_series_is_flat_and_a_slow_leak_is_not()
    {
        var noise = new Random(7);
        var flat = SoakRecorder.Fit(Series((_, c) => 100 + (noise.NextDouble() * 10) - (c == 5 ? 95 : 0)), out var warmUp);
        Assert.Equal(1795 / 5.0, warmUp); // a fifth of the run (the last sample at 29 min 55 s)
        Assert.All(flat, t => Assert.True(t.Flat, $"{t.Resource}: growth {t.Growth} > {t.Tolerance}"));

        // 1 MB a minute of working set: 24 MB over the 24 fitted minutes, above its 20 MB floor and 10 % of ~130 MB.
        var leak = SoakRecorder.Fit(Series((s, c) => c == 0 ? 100 + (s / 60) : 10), out _);
        Assert.False(leak.Single(t => t.Resource == "working_set").Flat);
        Assert.True(leak.Single(t => t.Resource == "timers").Flat);

        // Native memory held allocated, 0.5 MB a minute (12 MB over the fitted 24 minutes, above its 5 MB floor), is a
        // leak even when the working set stays within its tolerance; memory the allocator keeps freed is not judged.
        var native = SoakRecorder.Fit(Series((s, c) => c == 6 ? 40 + (s / 120) : 10), out _);
        Assert.False(native.Single(t => t.Resource == "native_in_use").Flat);
        Assert.True(native.Single(t => t.Resource == "working_set").Flat);

        // A resource the host could not measure (NaN) is never called flat.
        var unmeasured = SoakRecorder.Fit(Series((_, c) => c == 6 ? double.NaN : 10), out _);
        Assert.False(unmeasured.Single(t => t.Resource == "native_in_use").Flat);

        // One library session more every ten minutes is a leak too (tolerance 1).
        var sessions = SoakRecorder.Fit(Series((s, c) => c == 5 ? 5 + Math.Floor(s / 600) : 10), out _);
        Assert.False(sessions.Single(t => t.Resource == "library_sessions").Flat);
    }

    [Fact]
    public void Too_short_a_run_is_never_called_flat()
    {
        var trends = SoakRecorder.Fit(Series((_, _) => 1, minutes: 2), out _);
        Assert.All(trends, t => Assert.False(t.Flat));
    }

    [Fact]
    public void The_plot_is_a_valid_png_of_the_stated_size()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("reconciliation-png-").FullName, "plot.png");
        PngPlot.Write(path, "test", Series((s, c) => Math.Sin(s / 100) + c, minutes: 5), SoakRecorder.Columns.Select(c => c.Name).ToArray(), 60);
        var bytes = File.ReadAllBytes(path);
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, bytes[..8]);
        var offset = 8;
        int width = 0, height = 0;
        using var idat = new MemoryStream();
        var types = new List<string>();
        while (offset < bytes.Length)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(offset));
            var type = System.Text.Encoding.ASCII.GetString(bytes, offset + 4, 4);
            types.Add(type);
            var data = bytes.AsSpan(offset + 8, length);
            Assert.Equal(BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(offset + 8 + length)), Crc32(bytes.AsSpan(offset + 4, length + 4)));
            if (type == "IHDR")
            {
                width = BinaryPrimitives.ReadInt32BigEndian(data);
                height = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
            }
            else if (type == "IDAT")
            {
                idat.Write(data);
            }

            offset += 12 + length;
        }

        Assert.Equal(["IHDR", "IDAT", "IEND"], types);
        idat.Position = 0;
        using var inflated = new MemoryStream();
        using (var z = new ZLibStream(idat, CompressionMode.Decompress))
        {
            z.CopyTo(inflated);
        }

        Assert.Equal(height * (1 + (width * 3)), inflated.Length);
    }

    /// <summary>PNG's CRC-32 (ISO 3309), table-driven: written apart from the plot's own bitwise one.</summary>
    private static uint Crc32(ReadOnlySpan<byte> data)
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            var c = n;
            for (var k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            }

            table[n] = c;
        }

        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }

        return crc ^ 0xFFFFFFFFu;
    }
}
