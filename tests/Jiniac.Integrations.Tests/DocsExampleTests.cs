using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Jiniac.Distributed.Tests;
using Jiniac.Orchestrator.Integrations;

namespace Jiniac.Integrations.Tests;

/// <summary>docs/integrations.md's Python verifier, run by python3 on signatures the platform makes: it accepts them and refuses tampering.</summary>
public sealed class DocsExampleTests
{
    [Fact]
    public async Task The_documented_python_verifier_accepts_our_signatures_and_refuses_tampered_or_stale_ones()
    {
        var doc = await File.ReadAllTextAsync(Path.Combine(InfraServer.RepoRoot, "docs", "integrations.md"));
        var section = doc.IndexOf("### Verifying a webhook", StringComparison.Ordinal);
        var start = doc.IndexOf("```python\n", section, StringComparison.Ordinal) + "```python\n".Length;
        var code = doc[start..doc.IndexOf("```", start, StringComparison.Ordinal)];

        const string secret = "s3cret";
        var body = Encoding.UTF8.GetBytes("{\"runId\":\"r\",\"step\":10,\"loss\":2.5}");
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var cases = new (long Timestamp, string Signature, byte[] Body)[]
        {
            (now, WebhookSignature.Sign(secret, now, body), body),                                                    // as sent
            (now, WebhookSignature.Sign(secret, now, body), Encoding.UTF8.GetBytes("{\"runId\":\"r\",\"step\":11,\"loss\":2.5}")), // body changed
            (now, WebhookSignature.Sign("other", now, body), body),                                                   // wrong secret
            (now - 3600, WebhookSignature.Sign(secret, now - 3600, body), body),                                      // an hour old
        };
        var input = JsonSerializer.Serialize(cases.Select(c => new { ts = c.Timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture), sig = c.Signature, body = Convert.ToBase64String(c.Body) }));
        var harness = code + """

import base64, json, sys
for c in json.load(sys.stdin):
    print(verify(b"s3cret", {"Jiniac-Timestamp": c["ts"], "Jiniac-Signature": c["sig"]}, base64.b64decode(c["body"])))
""";
        var script = Path.Combine(Path.GetTempPath(), $"jiniac-verify-{Guid.NewGuid():N}.py");
        await File.WriteAllTextAsync(script, harness);
        try
        {
            var info = new ProcessStartInfo("python3", [script]) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
            using var python = Process.Start(info)!;
            await python.StandardInput.WriteAsync(input);
            python.StandardInput.Close();
            var stdout = await python.StandardOutput.ReadToEndAsync();
            var stderr = await python.StandardError.ReadToEndAsync();
            await python.WaitForExitAsync();
            Assert.True(python.ExitCode == 0, stderr);
            Assert.Equal(["True", "False", "False", "False"], stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }
        finally
        {
            File.Delete(script);
        }
    }
}
