using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;

namespace Jiniac.Orchestrator.Integrations;

/// <summary>
/// The webhook signature (docs/integrations.md, "Verifying a webhook"): <c>Jiniac-Signature: sha256=HEX</c>, the
/// lower-case hex HMAC-SHA256, keyed with the subscription's secret, of <c>TIMESTAMP + "." + BODY</c>, where TIMESTAMP is
/// the <c>Jiniac-Timestamp</c> header (Unix seconds) and BODY the request's bytes. Signing the timestamp lets a receiver
/// refuse replays of an old request.
/// </summary>
public static class WebhookSignature
{
    public const string SignatureHeader = "Jiniac-Signature";
    public const string TimestampHeader = "Jiniac-Timestamp";

    public static string Sign(string secret, long timestamp, ReadOnlySpan<byte> body)
    {
        var prefix = Encoding.UTF8.GetBytes(timestamp.ToString(CultureInfo.InvariantCulture) + ".");
        var message = new byte[prefix.Length + body.Length];
        prefix.CopyTo(message, 0);
        body.CopyTo(message.AsSpan(prefix.Length));
        return "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), message));
    }

    /// <summary>What a receiver does: recompute and compare in constant time.</summary>
    public static bool Verify(string secret, string? timestamp, string? signature, ReadOnlySpan<byte> body) =>
        long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var ts) && signature is not null
        && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Sign(secret, ts, body)), Encoding.ASCII.GetBytes(signature));
}

/// <summary>POSTs an event to one subscriber URL, signed; any 2xx answer is a delivery, anything else a failed attempt.</summary>
public sealed class WebhookSink(HttpClient http, TimeProvider time, Uri url, Func<string> secret) : IEventSink
{
    public const string HttpClientName = "jiniac-webhooks";

    /// <summary>Scheme, host and port only: webhook URLs often carry a token in their path or query (Slack's do), and errors are logged and listed.</summary>
    private string Where => url.GetLeftPart(UriPartial.Authority) + "/…";

    public async Task<int> DeliverAsync(SinkEvent e, CancellationToken cancellationToken)
    {
        string key;
        try
        {
            key = secret();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            throw new SinkDeliveryException($"the webhook's secret could not be read: {ex.Message}", 0, ex);
        }

        var body = Encoding.UTF8.GetBytes(e.Json);
        var timestamp = time.GetUtcNow().ToUnixTimeSeconds();
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        request.Headers.Add("Jiniac-Event-Id", e.EventId);
        request.Headers.Add("Jiniac-Event-Type", e.Type);
        request.Headers.Add("Jiniac-Run", e.RunId);
        request.Headers.Add("Jiniac-Cursor", e.Cursor.ToString(CultureInfo.InvariantCulture));
        request.Headers.Add(WebhookSignature.TimestampHeader, timestamp.ToString(CultureInfo.InvariantCulture));
        request.Headers.Add(WebhookSignature.SignatureHeader, WebhookSignature.Sign(key, timestamp, body));
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            throw new SinkDeliveryException($"POST {Where}: {ex.Message}", 0, ex);
        }

        using (response)
        {
            var status = (int)response.StatusCode;
            if (!response.IsSuccessStatusCode)
            {
                throw new SinkDeliveryException($"POST {Where}: HTTP {status} {response.ReasonPhrase}", status);
            }

            return status;
        }
    }
}
