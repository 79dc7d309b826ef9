using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Jiniac.Integrations.Tests;

/// <summary>
/// A real HTTP receiver (Kestrel on loopback) for webhooks at /hook/NAME. It checks each request's signature the way
/// docs/integrations.md tells a receiver to — its own HMAC-SHA256 of "TIMESTAMP.BODY", not the platform's code — and
/// answers with what <see cref="Answer"/> says for that hook and attempt (so a test can fail some deliveries).
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<(string Hook, string EventId), int> _attempts = new();

    private WebhookReceiver(WebApplication app, string address)
    {
        _app = app;
        Address = address;
    }

    public string Address { get; }

    /// <summary>hook name → secret the receiver verifies with.</summary>
    public ConcurrentDictionary<string, string> Secrets { get; } = new();

    /// <summary>(hook, event id, attempt number at this receiver) → HTTP status to answer; default 200.</summary>
    public Func<string, string, int, int> Answer { get; set; } = (_, _, _) => 200;

    public ConcurrentQueue<Request> Requests { get; } = new();

    public string Url(string hook) => $"{Address}/hook/{hook}";

    public IReadOnlyList<Request> Of(string hook) => [.. Requests.Where(r => r.Hook == hook)];

    /// <summary>The requests answered 2xx, i.e. the deliveries.</summary>
    public IReadOnlyList<Request> Accepted(string hook) => [.. Requests.Where(r => r.Hook == hook && r.Status is >= 200 and < 300)];

    public sealed record Request(string Hook, string EventId, string Type, string Run, long Cursor, bool SignatureValid, int Status, string Body);

    public static async Task<WebhookReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        WebhookReceiver? receiver = null;
        app.MapPost("/hook/{hook}", async (string hook, HttpContext http) =>
        {
            using var buffer = new MemoryStream();
            await http.Request.Body.CopyToAsync(buffer);
            var body = buffer.ToArray();
            var h = http.Request.Headers;
            var valid = receiver!.Secrets.TryGetValue(hook, out var secret) && Verify(secret, h["Jiniac-Timestamp"], h["Jiniac-Signature"], body);
            var eventId = h["Jiniac-Event-Id"].ToString();
            var attempt = receiver._attempts.AddOrUpdate((hook, eventId), 1, (_, n) => n + 1);
            // A receiver refuses what it cannot authenticate.
            var status = valid ? receiver.Answer(hook, eventId, attempt) : 401;
            receiver.Requests.Enqueue(new Request(hook, eventId, h["Jiniac-Event-Type"].ToString(), h["Jiniac-Run"].ToString(),
                long.Parse(h["Jiniac-Cursor"].ToString(), System.Globalization.CultureInfo.InvariantCulture), valid, status, Encoding.UTF8.GetString(body)));
            return Results.StatusCode(status);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        receiver = new WebhookReceiver(app, address);
        return receiver;
    }

    /// <summary>docs/integrations.md's recipe: hex(HMAC-SHA256(secret, timestamp + "." + body)), compared in constant time.</summary>
    private static bool Verify(string secret, string? timestamp, string? signature, byte[] body)
    {
        if (string.IsNullOrEmpty(timestamp) || string.IsNullOrEmpty(signature) || !signature.StartsWith("sha256=", StringComparison.Ordinal))
        {
            return false;
        }

        using var hmac = new HMACSHA256(Encoding.UTF8.GetBytes(secret));
        var signed = Encoding.UTF8.GetBytes(timestamp + ".").Concat(body).ToArray();
        var expected = Encoding.ASCII.GetBytes(Convert.ToHexString(hmac.ComputeHash(signed)).ToLowerInvariant());
        return CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(signature["sha256=".Length..]));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
