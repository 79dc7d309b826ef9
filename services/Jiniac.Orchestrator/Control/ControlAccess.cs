using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Jiniac.Orchestrator.Control;

/// <summary>The two roles of the control API. An operator may do everything a viewer may.</summary>
public enum ControlRole
{
    Viewer,
    Operator,
}

/// <summary>Who made a request: the API key's name (or "local:USER" on a keyless loopback host) and its role.</summary>
public sealed record ControlCaller(string Name, ControlRole Role)
{
    internal const string ItemKey = "jiniac.control.caller";

    /// <summary>The caller the access check admitted; a host without the check (tests of grains alone) is "local".</summary>
    public static ControlCaller Of(HttpContext? context) =>
        context?.Items[ItemKey] as ControlCaller ?? new ControlCaller("local", ControlRole.Operator);
}

/// <summary>One configured key: <c>Control:ApiKeys:NAME:Hash</c> (SHA-256 of the key, hex) and <c>Control:ApiKeys:NAME:Role</c>.</summary>
public sealed class ApiKeyEntry
{
    public string Hash { get; set; } = "";
    public string Role { get; set; } = "";
}

/// <summary>
/// The configured API keys, by the SHA-256 of the key. Keys are random tokens of high entropy (`jiniac key new`), so an
/// unsalted fast hash is enough to keep them out of configuration files; comparison is in constant time.
/// </summary>
public sealed class ApiKeyRing
{
    private readonly List<(string Name, byte[] Hash, ControlRole Role)> _keys = [];

    public ApiKeyRing(IOptions<ControlOptions> options)
    {
        var o = options.Value;
        foreach (var (name, entry) in o.ApiKeys)
        {
            Add(name, entry.Hash, entry.Role, $"{ControlOptions.Section}:ApiKeys:{name}");
        }

        if (!string.IsNullOrWhiteSpace(o.ApiKeysFile))
        {
            LoadFile(Path.GetFullPath(o.ApiKeysFile));
        }
    }

    public bool IsEmpty => _keys.Count == 0;

    public static string HashOf(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    public ControlCaller? Find(string key)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(key));
        ControlCaller? found = null;
        foreach (var (name, expected, role) in _keys)
        {
            // Every entry is compared, so the time taken says nothing about which one matched.
            if (CryptographicOperations.FixedTimeEquals(hash, expected))
            {
                found = new ControlCaller(name, role);
            }
        }

        return found;
    }

    public static ControlRole ParseRole(string role, string where) => role.Trim().ToLowerInvariant() switch
    {
        "viewer" => ControlRole.Viewer,
        "operator" => ControlRole.Operator,
        _ => throw new OptionsValidationException(ControlOptions.Section, typeof(ControlOptions), [$"{where}: role '{role}' is neither 'viewer' nor 'operator'"]),
    };

    /// <summary>Lines of <c>NAME ROLE SHA256HEX</c>; blank lines and lines starting with # are ignored.</summary>
    private void LoadFile(string path)
    {
        if (!File.Exists(path))
        {
            throw new OptionsValidationException(ControlOptions.Section, typeof(ControlOptions), [$"{ControlOptions.Section}:ApiKeysFile: file not found '{path}'"]);
        }

        var lineNumber = 0;
        foreach (var raw in File.ReadLines(path))
        {
            lineNumber++;
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var parts = line.Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length != 3)
            {
                throw new OptionsValidationException(ControlOptions.Section, typeof(ControlOptions), [$"{path}:{lineNumber}: expected 'NAME ROLE SHA256HEX', got {parts.Length} field(s)"]);
            }

            Add(parts[0], parts[2], parts[1], $"{path}:{lineNumber}");
        }
    }

    private void Add(string name, string hash, string role, string where)
    {
        if (hash.Length != 64 || !hash.All(Uri.IsHexDigit))
        {
            throw new OptionsValidationException(ControlOptions.Section, typeof(ControlOptions), [$"{where}: the hash must be the key's SHA-256 as 64 hex digits (`jiniac key hash KEY`)"]);
        }

        if (_keys.Exists(k => k.Name == name))
        {
            throw new OptionsValidationException(ControlOptions.Section, typeof(ControlOptions), [$"{where}: key name '{name}' is configured twice"]);
        }

        _keys.Add((name, Convert.FromHexString(hash), ParseRole(role, where)));
    }
}

/// <summary>
/// The one access rule for everything the orchestrator serves, so services other engineers add inherit it:
/// gRPC methods named Get*, List* or Watch* and plain HTTP GET/HEAD requests need a viewer key; every other gRPC method
/// and HTTP verb an operator key. Keys come in <c>Authorization: Bearer KEY</c>, <c>x-api-key: KEY</c> or (for a
/// browser) <c>?key=KEY</c>. Without configured keys (the embedded topology) only loopback callers are served.
/// </summary>
public sealed partial class ControlAccessMiddleware(RequestDelegate next, ApiKeyRing keys, IOptions<ControlOptions> options, ILogger<ControlAccessMiddleware> logger)
{
    public const string UserHeader = "x-jiniac-user";

    public async Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        var grpc = request.ContentType?.StartsWith("application/grpc", StringComparison.Ordinal) == true;
        var needed = RequiredRole(request.Method, request.Path, grpc);

        if (keys.IsEmpty)
        {
            var remote = context.Connection.RemoteIpAddress;
            if (remote is not null && !IPAddress.IsLoopback(remote) && !options.Value.AllowUnauthenticated)
            {
                await DenyAsync(context, grpc, StatusCodes.Status403Forbidden, "this control API has no API keys configured and serves loopback callers only");
                return;
            }

            // A keyless host trusts its own machine; the user name the CLI sends is recorded, not checked.
            var user = request.Headers[UserHeader].ToString();
            context.Items[ControlCaller.ItemKey] = new ControlCaller(user.Length == 0 ? "local" : "local:" + Clean(user), ControlRole.Operator);
            await next(context);
            return;
        }

        var (key, fromQuery) = KeyOf(request, grpc);
        if (key is null)
        {
            await DenyAsync(context, grpc, StatusCodes.Status401Unauthorized, "an API key is required (Authorization: Bearer KEY, x-api-key: KEY or ?key=KEY)");
            return;
        }

        var caller = keys.Find(key);
        if (caller is null)
        {
            Denied(logger, request.Path, "unknown key");
            await DenyAsync(context, grpc, StatusCodes.Status401Unauthorized, "the API key is not known");
            return;
        }

        if (caller.Role < needed)
        {
            Denied(logger, request.Path, $"key '{caller.Name}' is a {caller.Role}");
            await DenyAsync(context, grpc, StatusCodes.Status403Forbidden, $"key '{caller.Name}' has role {Lower(caller.Role)}; {request.Path} needs {Lower(needed)}");
            return;
        }

        context.Items[ControlCaller.ItemKey] = caller;
        if (fromQuery)
        {
            // A page opened with ?key= loads its scripts, styles and data by plain URLs: the cookie carries the key there.
            context.Response.Cookies.Append(KeyCookie, key, new CookieOptions { HttpOnly = true, SameSite = SameSiteMode.Strict, Path = "/", Secure = request.IsHttps });
        }

        await next(context);
    }

    /// <summary>Set by a GET with ?key=; accepted for GET/HEAD only, so a cookie can never make a write (no CSRF).</summary>
    public const string KeyCookie = "jiniac_key";

    /// <summary>The rule: gRPC /package.Service/Get*|List*|Watch* and HTTP GET/HEAD are reads; everything else writes.</summary>
    public static ControlRole RequiredRole(string method, PathString path, bool grpc)
    {
        if (grpc)
        {
            var value = path.Value ?? "";
            var name = value[(value.LastIndexOf('/') + 1)..];
            return name.StartsWith("Get", StringComparison.Ordinal) || name.StartsWith("List", StringComparison.Ordinal) || name.StartsWith("Watch", StringComparison.Ordinal)
                ? ControlRole.Viewer
                : ControlRole.Operator;
        }

        return HttpMethods.IsGet(method) || HttpMethods.IsHead(method) ? ControlRole.Viewer : ControlRole.Operator;
    }

    private static (string? Key, bool FromQuery) KeyOf(HttpRequest request, bool grpc)
    {
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return (authorization["Bearer ".Length..].Trim(), false);
        }

        var header = request.Headers["x-api-key"].ToString();
        if (header.Length > 0)
        {
            return (header.Trim(), false);
        }

        var read = !grpc && (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method));
        var query = request.Query["key"].ToString();
        if (query.Length > 0)
        {
            return (query, read);
        }

        return read && request.Cookies.TryGetValue(KeyCookie, out var cookie) && cookie.Length > 0 ? (cookie, false) : (null, false);
    }

    private static Task DenyAsync(HttpContext context, bool grpc, int status, string message)
    {
        var response = context.Response;
        if (grpc)
        {
            // A gRPC "trailers-only" answer: HTTP 200 with the status in the headers, which every gRPC client reads.
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = "application/grpc";
            response.Headers["grpc-status"] = status == StatusCodes.Status401Unauthorized ? "16" : "7"; // Unauthenticated : PermissionDenied
            response.Headers["grpc-message"] = Uri.EscapeDataString(message);
            return Task.CompletedTask;
        }

        response.StatusCode = status;
        if (status == StatusCodes.Status401Unauthorized)
        {
            response.Headers.WWWAuthenticate = "Bearer";
        }

        response.ContentType = "text/plain; charset=utf-8";
        return response.WriteAsync(message + "\n");
    }

    private static string Clean(string user)
    {
        var builder = new StringBuilder(Math.Min(user.Length, 64));
        foreach (var c in user.AsSpan(0, Math.Min(user.Length, 64)))
        {
            builder.Append(char.IsLetterOrDigit(c) || c is '-' or '_' or '.' or '@' ? c : '_');
        }

        return builder.ToString();
    }

    private static string Lower(ControlRole role) => role == ControlRole.Viewer ? "viewer" : "operator";

    [LoggerMessage(Level = LogLevel.Warning, Message = "Control API: refused {Path}: {Why}")]
    private static partial void Denied(ILogger logger, string path, string why);
}
