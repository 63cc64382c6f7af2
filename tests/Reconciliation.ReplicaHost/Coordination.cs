using Microsoft.Extensions.DependencyInjection;

namespace Reconciliation.ReplicaHost;

/// <summary>Registers the fleet's coordination store, as an app would: one call on the reconciliation builder.</summary>
internal static class Coordination
{
    public static void UsePostgres(IReconciliationBuilder builder, string connectionString, HostArguments arguments) =>
        builder.UsePostgresCoordination(connectionString, o =>
        {
            if (arguments.Schema is { } schema)
            {
                o.Schema = schema;
            }

            if (arguments.LeaseTimeToLive is { } ttl)
            {
                o.LeaseTimeToLive = ttl;
            }
        });

    public static void UseRedis(IReconciliationBuilder builder, string configuration, HostArguments arguments) =>
        builder.UseRedisCoordination(configuration, o =>
        {
            if (arguments.KeyPrefix is { } prefix)
            {
                o.KeyPrefix = prefix;
            }

            if (arguments.LeaseTimeToLive is { } ttl)
            {
                o.LeaseTimeToLive = ttl;
            }
        });
}
