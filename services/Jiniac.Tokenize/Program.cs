using Jiniac.Hosting;
using Jiniac.Tokenize;
using Microsoft.Extensions.Hosting;

var builder = Host.CreateApplicationBuilder(args);
builder.AddJiniacDefaults();
builder.AddTokenizeService();
builder.AddJiniacBus();
builder.Build().Run();
