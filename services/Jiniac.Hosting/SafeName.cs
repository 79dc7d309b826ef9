namespace Jiniac.Hosting;

/// <summary>Names that become paths or blob keys: letters, digits, '-', '_', '.', no traversal.</summary>
public static class SafeName
{
    public static bool IsValid(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > 128 || name == "." || name == "..")
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            {
                return false;
            }
        }

        return true;
    }

    public static string Check(string name, string what) =>
        IsValid(name)
            ? name
            : throw new ArgumentException($"{what} '{name}' is not a safe name (letters, digits, '-', '_', '.'; at most 128 characters)");
}
