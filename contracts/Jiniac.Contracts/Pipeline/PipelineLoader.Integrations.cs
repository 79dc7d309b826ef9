namespace Jiniac.Contracts.Pipeline;

// integrations.webhooks (docs/pipeline-reference.md, "integrations").
public static partial class PipelineLoader
{
    private sealed partial class Reader
    {
        private IntegrationsSpec? ReadIntegrations(YamlSection root)
        {
            var section = root.Section("integrations", required: false);
            if (section is null)
            {
                return null;
            }

            var webhooks = new List<WebhookSpec>();
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (node, path) in section.Items("webhooks", required: false) ?? [])
            {
                var hook = YamlSection.Of(diagnostics, node, node.Start, path);
                var name = hook.RequiredString("name");
                CheckName(hook, "name", name, "webhook name");
                if (hook.Ok("name") && name.Length > 0 && !names.Add(name))
                {
                    hook.Error("name", $"webhook '{name}' is defined twice");
                }

                var url = hook.RequiredString("url");
                if (hook.Has("url"))
                {
                    var valid = Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
                        && string.IsNullOrEmpty(uri.UserInfo) && string.IsNullOrEmpty(uri.Fragment);
                    hook.Check("url", valid, $"'{url}' is not an http(s) URL without user info or fragment");
                }

                var events = new List<string>();
                foreach (var (type, at, itemPath) in hook.StringList("events") ?? [])
                {
                    if (EventTypes.All.Contains(type))
                    {
                        events.Add(type);
                    }
                    else
                    {
                        // Event names are PascalCase; the suggester works on snake_case keys, so compare lower-cased.
                        var lowered = EventTypes.All.ToDictionary(t => t.ToLowerInvariant(), t => t, StringComparer.Ordinal);
                        var near = KeySuggester.Suggest(type.ToLowerInvariant(), [.. lowered.Keys]);
                        var hint = near is null ? null : lowered[near];
                        diagnostics.Add(at, itemPath, $"'{type}' is not an event type{(hint is null ? "" : $" (did you mean '{hint}'?)")}");
                    }
                }

                var secretText = hook.String("secret_file");
                var secretFile = secretText is null ? null : ResolvePath(hook, "secret_file", secretText);
                if (secretFile is not null)
                {
                    hook.Check("secret_file", File.Exists(secretFile), $"secret file '{secretFile}' does not exist");
                }

                var secretEnv = hook.String("secret_env");
                if (secretEnv is not null)
                {
                    hook.Check("secret_env", secretEnv.Length > 0 && secretEnv.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'),
                        $"'{secretEnv}' is not an environment variable name (letters, digits, '_')");
                }

                if (hook.IsPresent && secretText is not null && secretEnv is not null)
                {
                    hook.Error("secret_env", "give one secret source: secret_file or secret_env, not both");
                }
                else if (hook.IsPresent && secretText is null && secretEnv is null && hook.Ok("secret_file") && hook.Ok("secret_env"))
                {
                    hook.Error("secret_file", "a webhook is signed: give secret_file (a file holding the secret) or secret_env (an environment variable)");
                }

                var maxAttempts = hook.Int("max_attempts", 8);
                hook.Check("max_attempts", maxAttempts is >= 1 and <= 100, "must be between 1 and 100");
                hook.Finish();
                webhooks.Add(new WebhookSpec { Name = name, Url = url, Events = events, SecretFile = secretFile, SecretEnv = secretEnv, MaxAttempts = maxAttempts });
            }

            section.Finish();
            return new IntegrationsSpec { Webhooks = webhooks };
        }
    }
}
