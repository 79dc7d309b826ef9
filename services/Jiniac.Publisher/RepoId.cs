using Jiniac.Hosting;

namespace Jiniac.Publisher;

/// <summary>A Hugging Face style repository id, "owner/name"; both parts are safe names, so the id can become a path.</summary>
public readonly record struct RepoId(string Owner, string Name)
{
    public static RepoId Parse(string? id)
    {
        var slash = id?.IndexOf('/') ?? -1;
        if (id is null || slash <= 0 || slash != id.LastIndexOf('/'))
        {
            throw new ArgumentException($"repository id '{id}' is not of the form owner/name");
        }

        return new RepoId(SafeName.Check(id[..slash], "repository owner"), SafeName.Check(id[(slash + 1)..], "repository name"));
    }

    public override string ToString() => $"{Owner}/{Name}";
}
