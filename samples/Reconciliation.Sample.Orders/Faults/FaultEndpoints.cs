namespace Reconciliation.Sample.Orders.Faults;

/// <summary>Demo-only endpoints that break the service on purpose. Never map these in a real service.</summary>
internal static class FaultEndpoints
{
    public static void MapFaults(this WebApplication app)
    {
        var faults = app.MapGroup("/demo/faults");
        faults.MapPost("/latency/{milliseconds:int}", (int milliseconds, FaultSwitchboard board) =>
        {
            board.Latency = TimeSpan.FromMilliseconds(milliseconds);
            return Results.NoContent();
        });
        faults.MapPost("/hold-connections/{count:int}", async (int count, FaultSwitchboard board, CancellationToken ct) =>
        {
            await board.HoldConnectionsAsync(count, ct);
            return Results.NoContent();
        });
        faults.MapGet("/held", (FaultSwitchboard board) => Results.Ok(new { held = board.Held }));
    }
}
