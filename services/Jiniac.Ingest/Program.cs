using Jiniac.Hosting;
using Jiniac.Ingest;
using Microsoft.Extensions.Hosting;

var builder = Host.CreateApplicationBuilder(args);
builder.AddJiniacDefaults();
builder.AddIngestService();
builder.AddJiniacBus();
builder.Build().Run();
