using System.Net;
using System.Text.Json;
using Jiniac.Hosting;
using Jiniac.Hosting.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Jiniac.Orchestrator.Dashboard;

public static class DashboardHosting
{
    /// <summary>Every dashboard path starts with one of these, so one middleware (API keys) covers them all.</summary>
    public const string PagePrefix = "/dashboard";

    public const string ApiPrefix = "/api/dashboard";

    /// <summary>A second Kestrel listener, HTTP/1.1, for browsers and Prometheus; the pages and JSON are mapped by <see cref="MapDashboard"/>.</summary>
    public static WebApplicationBuilder AddDashboard(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<DashboardOptions>().BindConfiguration(DashboardOptions.Section).ValidateOnStart();
        var options = builder.Configuration.GetSection(DashboardOptions.Section).Get<DashboardOptions>() ?? new DashboardOptions();
        var listener = new DashboardListener();
        builder.Services.AddSingleton(listener);
        builder.Services.AddSingleton<DashboardApi>();
        if (!options.Enabled)
        {
            return builder;
        }

        if (!Uri.TryCreate(options.Url, UriKind.Absolute, out var uri) || uri.Scheme != "http"
            || !IPAddress.TryParse(uri.Host == "localhost" ? "127.0.0.1" : uri.Host, out var address))
        {
            throw new Microsoft.Extensions.Options.OptionsValidationException(DashboardOptions.Section, typeof(DashboardOptions),
                [$"{DashboardOptions.Section}:{nameof(DashboardOptions.Url)}: '{options.Url}' is not an http://IP:port address"]);
        }

        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(address, uri.Port, listen =>
        {
            listen.Protocols = HttpProtocols.Http1;
            listener.Listen = listen;
        }));
        return builder;
    }

    public static IEndpointRouteBuilder MapDashboard(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.ServiceProvider.GetRequiredService<DashboardApi>();
        // Routing does not tell "/dashboard" from "/dashboard/"; the page's relative links need the slash.
        endpoints.MapGet(PagePrefix + "/{file?}", (HttpContext context, string? file) =>
            file is not null ? DashboardAssets.Serve(file)
            : context.Request.Path.Value?.EndsWith('/') == true ? DashboardAssets.Serve("index.html")
            : Results.Redirect(PagePrefix + "/" + context.Request.QueryString));
        endpoints.MapGet(ApiPrefix + "/runs", api.RunsAsync);
        endpoints.MapGet(ApiPrefix + "/runs/{runId}", api.RunAsync);
        endpoints.MapGet(ApiPrefix + "/runs/{runId}/journal", api.JournalAsync);
        endpoints.MapJiniacMetrics();
        return endpoints;
    }

    /// <summary>The dashboard address a live host wrote into {state}/control.json, for `jiniac run` to print; null when none.</summary>
    public static string? ReadAddress(string stateDir)
    {
        var file = Path.Combine(Path.GetFullPath(stateDir), "control.json");
        try
        {
            return File.Exists(file) ? JsonSerializer.Deserialize<ControlEndpoint>(File.ReadAllText(file), OrchestratorJson.Options)?.Dashboard : null;
        }
        catch (Exception e) when (e is IOException or JsonException)
        {
            return null; // being rewritten by a starting host: nothing to print this time
        }
    }
}

/// <summary>The dashboard's Kestrel listener; after start its endpoint carries the port actually bound (port 0 in config).</summary>
public sealed class DashboardListener
{
    internal ListenOptions? Listen { get; set; }

    /// <summary>http://IP:port/dashboard/ once the host has started; null when the dashboard is off.</summary>
    public string? Url => Listen?.IPEndPoint is { Port: > 0 } endpoint ? $"http://{endpoint}{DashboardHosting.PagePrefix}/" : null;
}
