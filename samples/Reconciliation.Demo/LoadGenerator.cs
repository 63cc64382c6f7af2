using System.Net.Http.Json;

namespace Reconciliation.Demo;

/// <summary>A small, bounded load: creates orders and reads them back, about 40 requests a second, until cancelled.</summary>
internal static class LoadGenerator
{
    public static async Task RunAsync(Uri baseAddress, CancellationToken cancel)
    {
        using var http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(5) };
        var ids = new List<long>();
        var random = new Random(42);
        while (!cancel.IsCancellationRequested)
        {
            try
            {
                using var created = await http.PostAsJsonAsync("orders", new { customer = $"customer-{random.Next(1000)}", total = random.Next(1, 500) }, cancel);
                if (created.IsSuccessStatusCode && await created.Content.ReadFromJsonAsync<Created>(cancel) is { } order)
                {
                    ids.Add(order.Id);
                }

                for (var i = 0; i < 3 && ids.Count > 0; i++)
                {
                    using var _ = await http.GetAsync($"orders/{ids[random.Next(ids.Count)]}", cancel);
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancel.IsCancellationRequested)
            {
                // A saturated pool makes requests time out: that is part of the story, the load just goes on.
            }
            catch (OperationCanceledException)
            {
                break;
            }

            try
            {
                await Task.Delay(100, cancel);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    private sealed record Created(long Id);
}
