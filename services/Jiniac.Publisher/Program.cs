using Jiniac.Hosting;
using Jiniac.Publisher;
using Microsoft.Extensions.Hosting;

var builder = Host.CreateApplicationBuilder(args);
builder.AddJiniacDefaults();
builder.AddPublisherService();
builder.AddJiniacBus();
builder.Build().Run();
