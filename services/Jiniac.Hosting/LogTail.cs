using System.Text;

namespace Jiniac.Hosting;

/// <summary>The last lines of a log file that another process may still be writing (for failure reasons).</summary>
public static class LogTail
{
    public static string Read(string path, int lines)
    {
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var length = file.Length;
            var take = (int)Math.Min(length, 64 * 1024);
            var buffer = new byte[take];
            file.Position = length - take;
            file.ReadExactly(buffer);
            var text = Encoding.UTF8.GetString(buffer).TrimEnd('\n', '\r');
            var start = text.Length;
            for (var i = 0; i < lines && start > 0; i++)
            {
                start = text.LastIndexOf('\n', start - 1);
                if (start < 0)
                {
                    start = 0;
                    break;
                }
            }

            return text[(start == 0 ? 0 : start + 1)..];
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return "";
        }
    }
}
