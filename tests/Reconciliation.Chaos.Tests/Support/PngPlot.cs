using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace Reconciliation.Chaos.Tests.Support;

/// <summary>
/// A PNG line plot with no dependency: one panel per resource (time on x, the resource on y, its min and max written
/// at the left), the warm-up shaded, drawn into an RGB raster with a 3×5 pixel font and written with the framework's
/// zlib. Enough to see a trend; not a charting library.
/// </summary>
internal static class PngPlot
{
    private const int Width = 1000;
    private const int PanelHeight = 110;
    private const int Left = 150;
    private const int Right = 20;
    private const int Top = 30;
    private const int Scale = 2;

    private static readonly (byte R, byte G, byte B)[] Colors =
        [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75)];

    public static void Write(string path, string title, IReadOnlyList<(double Seconds, double[] Values)> rows, string[] names, double warmUpSeconds)
    {
        var height = Top + (names.Length * PanelHeight) + 30;
        var pixels = new byte[Width * height * 3];
        Array.Fill(pixels, (byte)255);
        Text(pixels, 10, 8, title.ToUpperInvariant(), (0, 0, 0));
        var maxSeconds = rows.Count == 0 ? 1 : Math.Max(1, rows[^1].Seconds);
        var plotWidth = Width - Left - Right;
        for (var p = 0; p < names.Length; p++)
        {
            var y0 = Top + (p * PanelHeight);
            var h = PanelHeight - 20;
            var values = rows.Select(r => r.Values[p]).Where(v => !double.IsNaN(v)).ToArray(); // NaN: not measured
            var min = values.Length == 0 ? 0 : values.Min();
            var max = values.Length == 0 ? 1 : values.Max();
            if (max - min < 1e-9)
            {
                max = min + 1;
            }

            // warm-up shade, frame, labels
            var warm = Left + (int)(plotWidth * Math.Min(1, warmUpSeconds / maxSeconds));
            Rect(pixels, Left, y0, warm, y0 + h, (235, 235, 235));
            Line(pixels, Left, y0, Left, y0 + h, (0, 0, 0));
            Line(pixels, Left, y0 + h, Width - Right, y0 + h, (0, 0, 0));
            Text(pixels, 4, y0, names[p].ToUpperInvariant(), Colors[p % Colors.Length]);
            Text(pixels, 4, y0 + 16, "MAX " + Number(max), (80, 80, 80));
            Text(pixels, 4, y0 + h - 10, "MIN " + Number(min), (80, 80, 80));
            int? px = null, py = null;
            foreach (var (seconds, v) in rows)
            {
                if (double.IsNaN(v[p]))
                {
                    continue;
                }

                var x = Left + (int)(plotWidth * (seconds / maxSeconds));
                var y = y0 + h - (int)((h - 2) * ((v[p] - min) / (max - min))) - 1;
                if (px is { } lx && py is { } ly)
                {
                    Line(pixels, lx, ly, x, y, Colors[p % Colors.Length]);
                }

                px = x;
                py = y;
            }
        }

        var axis = Top + (names.Length * PanelHeight);
        for (var minute = 0; minute <= (int)(maxSeconds / 60); minute += Math.Max(1, (int)(maxSeconds / 60 / 10)))
        {
            var x = Left + (int)(plotWidth * (minute * 60 / maxSeconds));
            Line(pixels, x, axis - 20, x, axis - 16, (0, 0, 0));
            Text(pixels, x - 4, axis - 12, minute.ToString(CultureInfo.InvariantCulture), (0, 0, 0));
        }

        Text(pixels, Width - Right - 200, axis + 4, "TIME MIN (GREY: WARM-UP)", (0, 0, 0));
        Save(path, pixels, height);
    }

    private static string Number(double value) =>
        Math.Abs(value) >= 100 ? value.ToString("0", CultureInfo.InvariantCulture) : value.ToString("0.##", CultureInfo.InvariantCulture);

    private static void Set(byte[] pixels, int x, int y, (byte R, byte G, byte B) c)
    {
        var height = pixels.Length / 3 / Width;
        if (x < 0 || y < 0 || x >= Width || y >= height)
        {
            return;
        }

        var i = ((y * Width) + x) * 3;
        pixels[i] = c.R;
        pixels[i + 1] = c.G;
        pixels[i + 2] = c.B;
    }

    private static void Rect(byte[] pixels, int x0, int y0, int x1, int y1, (byte, byte, byte) c)
    {
        for (var y = y0; y < y1; y++)
        {
            for (var x = x0; x < x1; x++)
            {
                Set(pixels, x, y, c);
            }
        }
    }

    private static void Line(byte[] pixels, int x0, int y0, int x1, int y1, (byte, byte, byte) c)
    {
        int dx = Math.Abs(x1 - x0), sx = x0 < x1 ? 1 : -1, dy = -Math.Abs(y1 - y0), sy = y0 < y1 ? 1 : -1, err = dx + dy;
        while (true)
        {
            Set(pixels, x0, y0, c);
            Set(pixels, x0, y0 + 1, c);
            if (x0 == x1 && y0 == y1)
            {
                break;
            }

            var e2 = 2 * err;
            if (e2 >= dy)
            {
                err += dy;
                x0 += sx;
            }

            if (e2 <= dx)
            {
                err += dx;
                y0 += sy;
            }
        }
    }

    private static void Text(byte[] pixels, int x, int y, string text, (byte, byte, byte) c)
    {
        foreach (var ch in text)
        {
            if (Glyphs.TryGetValue(ch, out var rows))
            {
                for (var r = 0; r < 5; r++)
                {
                    for (var col = 0; col < 3; col++)
                    {
                        if (rows[r][col] == '#')
                        {
                            Rect(pixels, x + (col * Scale), y + (r * Scale), x + ((col + 1) * Scale), y + ((r + 1) * Scale), c);
                        }
                    }
                }
            }

            x += 4 * Scale;
        }
    }

    private static readonly Dictionary<char, string[]> Glyphs = new()
    {
        ['0'] = ["###", "#.#", "#.#", "#.#", "###"], ['1'] = [".#.", "##.", ".#.", ".#.", "###"], ['2'] = ["###", "..#", "###", "#..", "###"],
        ['3'] = ["###", "..#", "###", "..#", "###"], ['4'] = ["#.#", "#.#", "###", "..#", "..#"], ['5'] = ["###", "#..", "###", "..#", "###"],
        ['6'] = ["###", "#..", "###", "#.#", "###"], ['7'] = ["###", "..#", ".#.", ".#.", ".#."], ['8'] = ["###", "#.#", "###", "#.#", "###"],
        ['9'] = ["###", "#.#", "###", "..#", "###"], ['A'] = [".#.", "#.#", "###", "#.#", "#.#"], ['B'] = ["##.", "#.#", "##.", "#.#", "##."],
        ['C'] = [".##", "#..", "#..", "#..", ".##"], ['D'] = ["##.", "#.#", "#.#", "#.#", "##."], ['E'] = ["###", "#..", "##.", "#..", "###"],
        ['F'] = ["###", "#..", "##.", "#..", "#.."], ['G'] = [".##", "#..", "#.#", "#.#", ".##"], ['H'] = ["#.#", "#.#", "###", "#.#", "#.#"],
        ['I'] = ["###", ".#.", ".#.", ".#.", "###"], ['J'] = ["..#", "..#", "..#", "#.#", ".#."], ['K'] = ["#.#", "#.#", "##.", "#.#", "#.#"],
        ['L'] = ["#..", "#..", "#..", "#..", "###"], ['M'] = ["#.#", "###", "###", "#.#", "#.#"], ['N'] = ["##.", "#.#", "#.#", "#.#", "#.#"],
        ['O'] = [".#.", "#.#", "#.#", "#.#", ".#."], ['P'] = ["##.", "#.#", "##.", "#..", "#.."], ['Q'] = [".#.", "#.#", "#.#", "##.", ".##"],
        ['R'] = ["##.", "#.#", "##.", "#.#", "#.#"], ['S'] = [".##", "#..", ".#.", "..#", "##."], ['T'] = ["###", ".#.", ".#.", ".#.", ".#."],
        ['U'] = ["#.#", "#.#", "#.#", "#.#", "###"], ['V'] = ["#.#", "#.#", "#.#", "#.#", ".#."], ['W'] = ["#.#", "#.#", "###", "###", "#.#"],
        ['X'] = ["#.#", "#.#", ".#.", "#.#", "#.#"], ['Y'] = ["#.#", "#.#", ".#.", ".#.", ".#."], ['Z'] = ["###", "..#", ".#.", "#..", "###"],
        ['.'] = ["...", "...", "...", "...", ".#."], [':'] = ["...", ".#.", "...", ".#.", "..."], ['-'] = ["...", "...", "###", "...", "..."],
        ['_'] = ["...", "...", "...", "...", "###"], ['('] = [".#.", "#..", "#..", "#..", ".#."], [')'] = [".#.", "..#", "..#", "..#", ".#."],
        ['/'] = ["..#", "..#", ".#.", "#..", "#.."], ['+'] = ["...", ".#.", "###", ".#.", "..."], [' '] = ["...", "...", "...", "...", "..."],
    };

    private static void Save(string path, byte[] rgb, int height)
    {
        using var file = File.Create(path);
        file.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, Width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8; // bit depth
        header[9] = 2; // RGB
        Chunk(file, "IHDR", header);
        using var raw = new MemoryStream();
        using (var z = new ZLibStream(raw, CompressionLevel.Optimal, leaveOpen: true))
        {
            for (var y = 0; y < height; y++)
            {
                z.WriteByte(0); // filter: none
                z.Write(rgb, y * Width * 3, Width * 3);
            }
        }

        Chunk(file, "IDAT", raw.ToArray());
        Chunk(file, "IEND", []);
    }

    private static void Chunk(Stream stream, string type, byte[] data)
    {
        var length = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
        stream.Write(length);
        var typed = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        stream.Write(typed);
        var crc = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32(typed));
        stream.Write(crc);
    }

    private static uint Crc32(byte[] data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
            }
        }

        return crc ^ 0xFFFFFFFFu;
    }
}
