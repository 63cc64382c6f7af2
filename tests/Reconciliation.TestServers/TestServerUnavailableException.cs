namespace Reconciliation.TestServers;

/// <summary>
/// A real server a test needs could not be started. Under <c>CI=true</c> tests fail with this reason;
/// locally they may skip with it, because the message names the command that installs the servers.
/// </summary>
public sealed class TestServerUnavailableException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TestServerUnavailableException(string message, Exception? inner = null)
        : base($"{message} Install the servers with: {ServerBinaries.InstallCommand}", inner)
    {
    }

    /// <summary>True when running under CI (<c>CI=true</c>), where a missing server is a failure, not a skip.</summary>
    public static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);
}
