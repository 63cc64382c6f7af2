namespace Reconciliation.Http.Internal;

/// <summary>
/// Hands out the <see cref="HttpClient"/> a probe or healer sends with: the host's named client from
/// <see cref="IHttpClientFactory"/> when the host registered one (so its handlers, proxies and resilience apply),
/// else one long-lived client of our own with pooled connections that are recycled (DNS changes are seen).
/// </summary>
internal sealed class HttpClientSource : IDisposable
{
    private static readonly TimeSpan PooledConnectionLifetime = TimeSpan.FromMinutes(2);

    private readonly IHttpClientFactory? _factory;
    private readonly string _name;
    private readonly Lazy<HttpClient> _own;

    public HttpClientSource(IHttpClientFactory? factory, string name)
    {
        _factory = factory;
        _name = name;
        _own = new Lazy<HttpClient>(
            static () => new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = PooledConnectionLifetime }, disposeHandler: true)
            {
                // Our callers time out through their own TimeProvider-driven token.
                Timeout = Timeout.InfiniteTimeSpan,
            },
            LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>True when the client comes from the host's <see cref="IHttpClientFactory"/>.</summary>
    public bool UsesFactory => _factory is not null;

    public HttpClient Get() => _factory?.CreateClient(_name) ?? _own.Value;

    public void Dispose()
    {
        if (_own.IsValueCreated)
        {
            _own.Value.Dispose();
        }
    }
}
