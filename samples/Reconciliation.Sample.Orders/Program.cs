using Reconciliation.Sample.Orders;

// Run standalone with real servers:
//   ConnectionStrings__Orders="Host=127.0.0.1;Port=5432;Username=...;Password=...;Database=orders" \
//   ConnectionStrings__Redis="127.0.0.1:6379" dotnet run --project samples/Reconciliation.Sample.Orders
// or let `bash eng/demo.sh` start throwaway servers, this service, a load generator and the faults.
await using var app = OrdersApp.Build(args);
await app.RunAsync();
