namespace Jiniac.Hosting.Blobs;

public static class BlobKey
{
    /// <summary>Checks a key: non-empty '/'-separated segments of letters, digits, '-', '_', '.', no "." or "..".</summary>
    public static string Validate(string key)
    {
        if (string.IsNullOrEmpty(key) || key.Length > 1024 || key[0] == '/' || key[^1] == '/')
        {
            throw new ArgumentException($"blob key '{key}' is not valid", nameof(key));
        }

        foreach (var segment in key.Split('/'))
        {
            if (!SafeName.IsValid(segment))
            {
                throw new ArgumentException($"blob key '{key}' has an unsafe segment '{segment}'", nameof(key));
            }
        }

        return key;
    }

    public static string Combine(params string[] parts) => Validate(string.Join('/', parts));
}
