using Microsoft.Extensions.Options;

namespace Reconciliation.Tool.Configuration;

/// <summary>Runs every <c>ValidateOnStart</c> registration now, so a bad key exits 2 before anything connects or listens.</summary>
internal static class ToolValidation
{
    /// <exception cref="ToolConfigurationException">Some options are invalid; the messages name their keys.</exception>
    public static void Validate(IServiceProvider services)
    {
        try
        {
            (services.GetService(typeof(IStartupValidator)) as IStartupValidator)?.Validate();
        }
        catch (OptionsValidationException e)
        {
            throw new ToolConfigurationException(e.Failures.Select(SecretScrubber.Scrub).ToArray());
        }
        catch (AggregateException e) when (e.InnerExceptions.All(i => i is OptionsValidationException))
        {
            throw new ToolConfigurationException(e.InnerExceptions.Cast<OptionsValidationException>().SelectMany(i => i.Failures).Select(SecretScrubber.Scrub).ToArray());
        }
    }
}
