using Jiniac.Hosting;
using Jiniac.TrainLauncher;
using Microsoft.Extensions.Hosting;

var builder = Host.CreateApplicationBuilder(args);
builder.AddJiniacDefaults();
builder.AddTrainLauncherService();
builder.AddJiniacBus();
builder.Build().Run();
