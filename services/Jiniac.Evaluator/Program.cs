using Jiniac.Hosting;
using Jiniac.Evaluator;
using Microsoft.Extensions.Hosting;

var builder = Host.CreateApplicationBuilder(args);
builder.AddJiniacDefaults();
builder.AddEvaluatorService();
builder.AddJiniacBus();
builder.Build().Run();
