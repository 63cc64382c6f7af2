using Microsoft.Extensions.Options;
using Reconciliation.Tool.Cli;
using Reconciliation.Tool.Configuration;
using Reconciliation.Tool.Gate;
using Reconciliation.Tool.Watch;

namespace Reconciliation.Tool;

/// <summary>The <c>reconcile</c> command: exit 0 (clear / stopped), 1 (the gate found something not clear), 2 (usage or configuration error).</summary>
internal static class ToolProgram
{
    public const int Clear = 0;
    public const int NotClear = 1;
    public const int ConfigurationError = 2;

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        ToolArguments arguments;
        try
        {
            arguments = ToolArguments.Parse(args);
        }
        catch (ToolUsageException e)
        {
            await error.WriteLineAsync("reconcile: " + e.Message);
            await error.WriteLineAsync(ToolArguments.Usage);
            return ConfigurationError;
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            if (arguments.Command == "gate")
            {
                ConsoleCancelEventHandler cancel = (_, e) =>
                {
                    e.Cancel = true;
                    stop.Cancel();
                };
                Console.CancelKeyPress += cancel;
                try
                {
                    return await GateCommand.RunAsync(arguments, output, error, TimeProvider.System, stop.Token);
                }
                finally
                {
                    Console.CancelKeyPress -= cancel;
                }
            }

            return await WatchCommand.RunAsync(arguments, output, stop.Token);
        }
        catch (ToolConfigurationException e)
        {
            await WriteConfigurationErrorsAsync(error, e.Errors);
            return ConfigurationError;
        }
        catch (OptionsValidationException e)
        {
            await WriteConfigurationErrorsAsync(error, e.Failures.Select(SecretScrubber.Scrub).ToArray());
            return ConfigurationError;
        }
    }

    private static async Task WriteConfigurationErrorsAsync(TextWriter error, IReadOnlyCollection<string> errors)
    {
        await error.WriteLineAsync($"reconcile: configuration error{(errors.Count == 1 ? "" : "s")}:");
        foreach (var message in errors)
        {
            await error.WriteLineAsync("  " + message);
        }

        await error.FlushAsync();
    }
}
