namespace Jiniac.Contracts.Pipeline;

// publish.token_secret (docs/pipeline-reference.md, "publish").
public static partial class PipelineLoader
{
    private sealed partial class Reader
    {
        /// <summary>publish.token_secret: {store, key}, the Dapr secret store entry holding the hub token; one token source, so not with token_file.</summary>
        private static DaprSecretSpec? ReadPublishTokenSecret(YamlSection publish)
        {
            var section = publish.Section("token_secret", required: false);
            if (section is null)
            {
                return null;
            }

            var store = section.RequiredString("store");
            section.Check("store", store.Length > 0 && SafeNames.IsValid(store), $"'{store}' is not a Dapr component name (letters, digits, '-', '_', '.')");
            var key = section.RequiredString("key");
            section.Check("key", key.Length > 0 && !key.Any(char.IsControl), "the secret's key must be a non-empty text without control characters");
            section.Finish();
            publish.Check("token_secret", !publish.Has("token_file"), "give one token source: token_file or token_secret, not both");
            return new DaprSecretSpec { Store = store, Key = key };
        }
    }
}
