using Jiniac.Hosting;
using Jiniac.Orchestrator;
using Microsoft.AspNetCore.Builder;

var builder = WebApplication.CreateBuilder(args);
builder.AddJiniacDefaults();
builder.AddOrchestratorService();
builder.AddJiniacBus();
var app = builder.Build();
app.MapOrchestrator();
app.Run();
