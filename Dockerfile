# One image per service, from one multi-target Dockerfile (docker-compose.yml picks each with `target:`).
# The build stage restores and publishes every service once; each final stage copies only its own output.
# The train-launcher and evaluator images carry the reference trainer (tools/Jiniac.Trainer) too, since both
# start it as a local process (docs/trainer-contract.md); its publish patches libLibTorchSharp.so for Debian 12's
# libstdc++ (tools/Jiniac.Trainer/LibTorchSharp.GlibcxxPatch.targets), which the runtime image shares.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish services/Jiniac.Orchestrator/Jiniac.Orchestrator.csproj -c Release -o /out/orchestrator \
 && dotnet publish services/Jiniac.Ingest/Jiniac.Ingest.csproj -c Release -o /out/ingest \
 && dotnet publish services/Jiniac.Tokenize/Jiniac.Tokenize.csproj -c Release -o /out/tokenize \
 && dotnet publish services/Jiniac.TrainLauncher/Jiniac.TrainLauncher.csproj -c Release -o /out/train-launcher \
 && dotnet publish services/Jiniac.Evaluator/Jiniac.Evaluator.csproj -c Release -o /out/evaluator \
 && dotnet publish services/Jiniac.Publisher/Jiniac.Publisher.csproj -c Release -o /out/publisher \
 && dotnet publish tools/Jiniac.Trainer/Jiniac.Trainer.csproj -c Release -o /out/trainer

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS orchestrator
WORKDIR /app
COPY --from=build /out/orchestrator .
ENTRYPOINT ["dotnet", "Jiniac.Orchestrator.dll"]

FROM mcr.microsoft.com/dotnet/runtime:10.0 AS ingest
WORKDIR /app
COPY --from=build /out/ingest .
ENTRYPOINT ["dotnet", "Jiniac.Ingest.dll"]

FROM mcr.microsoft.com/dotnet/runtime:10.0 AS tokenize
WORKDIR /app
COPY --from=build /out/tokenize .
ENTRYPOINT ["dotnet", "Jiniac.Tokenize.dll"]

FROM mcr.microsoft.com/dotnet/runtime:10.0 AS train-launcher
WORKDIR /app
COPY --from=build /out/train-launcher .
COPY --from=build /out/trainer /app/trainer
ENTRYPOINT ["dotnet", "Jiniac.TrainLauncher.dll"]

FROM mcr.microsoft.com/dotnet/runtime:10.0 AS evaluator
WORKDIR /app
COPY --from=build /out/evaluator .
COPY --from=build /out/trainer /app/trainer
ENTRYPOINT ["dotnet", "Jiniac.Evaluator.dll"]

FROM mcr.microsoft.com/dotnet/runtime:10.0 AS publisher
WORKDIR /app
COPY --from=build /out/publisher .
ENTRYPOINT ["dotnet", "Jiniac.Publisher.dll"]
