namespace Reconciliation.TestServers;

/// <summary>Finds the PostgreSQL and Redis server binaries installed from Debian's packages.</summary>
public static class ServerBinaries
{
    /// <summary>The command that installs the servers when they are missing.</summary>
    public const string InstallCommand = "bash eng/install-servers.sh";

    /// <summary>The directory holding <c>initdb</c>, <c>pg_ctl</c> and <c>postgres</c>, or <see langword="null"/>.</summary>
    public static string? FindPostgresBinDirectory()
    {
        // Debian keeps the server binaries out of PATH, under /usr/lib/postgresql/<major>/bin; take the newest.
        const string debianRoot = "/usr/lib/postgresql";
        if (Directory.Exists(debianRoot))
        {
            var newest = Directory.GetDirectories(debianRoot)
                .Select(d => (Dir: d, Major: int.TryParse(Path.GetFileName(d), out var m) ? m : -1))
                .Where(x => x.Major > 0 && File.Exists(Path.Combine(x.Dir, "bin", "initdb")))
                .OrderByDescending(x => x.Major)
                .Select(x => Path.Combine(x.Dir, "bin"))
                .FirstOrDefault();
            if (newest is not null)
            {
                return newest;
            }
        }

        var onPath = FindOnPath("initdb");
        return onPath is null ? null : Path.GetDirectoryName(ResolveLink(onPath));
    }

    /// <summary>The full path of <c>redis-server</c>, or <see langword="null"/>.</summary>
    public static string? FindRedisServer() => FindOnPath("redis-server")
        ?? (File.Exists("/usr/bin/redis-server") ? "/usr/bin/redis-server" : null);

    internal static string? FindOnPath(string name)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        foreach (var dir in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private static string ResolveLink(string path)
    {
        var info = new FileInfo(path);
        return info.LinkTarget is null ? path : info.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? path;
    }
}
