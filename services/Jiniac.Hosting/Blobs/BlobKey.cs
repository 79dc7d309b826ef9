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

    /// <summary>
    /// Checks a listing prefix: its folder part (up to the last '/') must be a valid key, so "../" cannot
    /// reach outside a folder store and every store refuses the same prefixes; the last part is free text.
    /// </summary>
    public static string ValidatePrefix(string prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var slash = prefix.LastIndexOf('/');
        if (slash >= 0)
        {
            var folder = prefix[..slash];
            try
            {
                Validate(folder);
            }
            catch (ArgumentException)
            {
                throw new ArgumentException($"blob prefix folder '{folder}' is not valid", nameof(prefix));
            }
        }

        return prefix;
    }

    public static string Combine(params string[] parts) => Validate(string.Join('/', parts));
}
