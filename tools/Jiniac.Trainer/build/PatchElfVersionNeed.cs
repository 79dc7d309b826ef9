using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

// MSBuild inline task (RoslynCodeTaskFactory; see ../LibTorchSharp.GlibcxxPatch.targets for why).
// Compiled by MSBuild against netstandard, so it sticks to byte arrays and BitConverter.
// ELF64 little-endian layouts: System V gABI and the LSB "Symbol Versioning" chapter.
public sealed class PatchElfVersionNeed : Task
{
    private const uint ShtGnuVerdef = 0x6ffffffd;
    private const uint ShtGnuVerneed = 0x6ffffffe;

    [Required] public ITaskItem[] Files { get; set; } = Array.Empty<ITaskItem>();
    [Required] public string Needed { get; set; } = "";
    [Required] public string Replacement { get; set; } = "";
    [Required] public string Library { get; set; } = "";

    public override bool Execute()
    {
        if (Files.Length == 0)
        {
            return true;
        }

        var system = FindSystemLibrary(Library);
        if (system == null)
        {
            Log.LogMessage(MessageImportance.High, "GLIBCXX patch: no system " + Library + " found; libLibTorchSharp.so left as shipped.");
            return true;
        }

        HashSet<string> defined;
        try
        {
            defined = DefinedVersions(File.ReadAllBytes(system));
        }
        catch (InvalidDataException e)
        {
            Log.LogWarning("GLIBCXX patch: cannot read version definitions of " + system + ": " + e.Message);
            return true;
        }

        if (defined.Contains(Needed))
        {
            Log.LogMessage(MessageImportance.Normal, "GLIBCXX patch: " + system + " defines " + Needed + "; nothing to patch.");
            return true;
        }

        if (!defined.Contains(Replacement))
        {
            Log.LogError("GLIBCXX patch: " + system + " defines neither " + Needed + " nor " + Replacement + "; TorchSharp cannot load on this machine.");
            return false;
        }

        foreach (var item in Files)
        {
            var path = item.GetMetadata("FullPath");
            try
            {
                var result = PatchFile(path);
                Log.LogMessage(MessageImportance.High, "GLIBCXX patch: " + path + ": " + result);
                if (result.StartsWith("patched", StringComparison.Ordinal))
                {
                    File.WriteAllText(path + ".glibcxx-patch.txt",
                        "This copy of libLibTorchSharp.so was patched at build time (tools/Jiniac.Trainer/LibTorchSharp.GlibcxxPatch.targets).\n" +
                        "The system " + Library + " (" + system + ") lacks " + Needed + ", which TorchSharp's build declares for\n" +
                        "std::ios_base_library_init only (no relocation uses it). The .gnu.version_r entry naming " + Needed + "\n" +
                        "now names " + Replacement + " (vna_name offset and vna_hash rewritten). Check: readelf -V libLibTorchSharp.so\n");
                }
            }
            catch (Exception e) when (e is InvalidDataException || e is IOException)
            {
                Log.LogError("GLIBCXX patch: " + path + ": " + e.Message);
                return false;
            }
        }

        return !Log.HasLoggedErrors;
    }

    private string PatchFile(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var elf = new Elf(bytes, path);
        var verneed = elf.FindSection(ShtGnuVerneed);
        if (verneed < 0)
        {
            return "no .gnu.version_r section; nothing to patch";
        }

        var strtab = (int)elf.Link(verneed);
        var needOffset = elf.Offset(verneed);
        var count = elf.Info(verneed);
        int target = -1;
        uint replacementName = 0;
        var haveReplacement = false;
        for (uint n = 0; n < count; n++)
        {
            var file = elf.String(strtab, U32(bytes, needOffset + 4));
            var auxCount = U16(bytes, needOffset + 2);
            var aux = needOffset + U32(bytes, needOffset + 8);
            for (var a = 0; a < auxCount; a++)
            {
                var nameOffset = U32(bytes, aux + 8);
                var name = elf.String(strtab, nameOffset);
                if (file == Library && name == Needed)
                {
                    target = (int)aux;
                }

                if (name == Replacement)
                {
                    haveReplacement = true;
                    replacementName = nameOffset;
                }

                aux += U32(bytes, aux + 12);
            }

            needOffset += U32(bytes, needOffset + 12);
        }

        if (target < 0)
        {
            return haveReplacement ? "already needs " + Replacement + " only; nothing to do" : "does not need " + Needed + "; nothing to do";
        }

        if (!haveReplacement)
        {
            // The string must already be in .dynstr: growing .dynstr would move every later section.
            var found = elf.FindString(strtab, Replacement);
            if (found < 0)
            {
                throw new InvalidDataException(Replacement + " is not in .dynstr; cannot rename the version need in place");
            }

            replacementName = (uint)found;
        }

        WriteU32(bytes, target, ElfHash(Replacement));
        WriteU32(bytes, target + 8, replacementName);
        var stamp = File.GetLastWriteTimeUtc(path);
        var temp = path + ".patching";
        File.WriteAllBytes(temp, bytes);
        File.SetLastWriteTimeUtc(temp, stamp);
        // Rename, never write through: the output copy may be a hard link into the package cache.
        File.Delete(path);
        File.Move(temp, path);
        return "patched: version need " + Needed + " renamed to " + Replacement;
    }

    private static HashSet<string> DefinedVersions(byte[] bytes)
    {
        var elf = new Elf(bytes, "libstdc++");
        var result = new HashSet<string>(StringComparer.Ordinal);
        var verdef = elf.FindSection(ShtGnuVerdef);
        if (verdef < 0)
        {
            return result;
        }

        var strtab = (int)elf.Link(verdef);
        var offset = elf.Offset(verdef);
        var count = elf.Info(verdef);
        for (uint i = 0; i < count; i++)
        {
            var aux = offset + U32(bytes, offset + 12);
            result.Add(elf.String(strtab, U32(bytes, aux)));
            var next = U32(bytes, offset + 16);
            if (next == 0)
            {
                break;
            }

            offset += next;
        }

        return result;
    }

    private static string FindSystemLibrary(string name)
    {
        var dirs = new[] { "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib", "/usr/local/lib64", "/usr/local/lib" };
        foreach (var dir in dirs)
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>The System V ABI ELF hash (vna_hash).</summary>
    private static uint ElfHash(string name)
    {
        uint h = 0;
        foreach (var c in Encoding.ASCII.GetBytes(name))
        {
            h = (h << 4) + c;
            var g = h & 0xf0000000;
            if (g != 0)
            {
                h ^= g >> 24;
            }

            h &= ~g;
        }

        return h;
    }

    private static uint U32(byte[] b, long at) => BitConverter.ToUInt32(b, checked((int)at));
    private static ushort U16(byte[] b, long at) => BitConverter.ToUInt16(b, checked((int)at));

    private static void WriteU32(byte[] b, int at, uint value)
    {
        var v = BitConverter.GetBytes(value);
        Buffer.BlockCopy(v, 0, b, at, 4);
    }

    private sealed class Elf
    {
        private readonly byte[] _b;
        private readonly long _shoff;
        private readonly int _shentsize;
        private readonly int _shnum;

        public Elf(byte[] bytes, string name)
        {
            _b = bytes;
            if (bytes.Length < 64 || bytes[0] != 0x7f || bytes[1] != (byte)'E' || bytes[2] != (byte)'L' || bytes[3] != (byte)'F')
            {
                throw new InvalidDataException(name + " is not an ELF file");
            }

            if (bytes[4] != 2 || bytes[5] != 1 || !BitConverter.IsLittleEndian)
            {
                throw new InvalidDataException(name + " is not a little-endian ELF64 file");
            }

            _shoff = (long)BitConverter.ToUInt64(bytes, 0x28);
            _shentsize = BitConverter.ToUInt16(bytes, 0x3A);
            _shnum = BitConverter.ToUInt16(bytes, 0x3C);
            if (_shoff <= 0 || _shoff + ((long)_shentsize * _shnum) > bytes.Length)
            {
                throw new InvalidDataException(name + ": section headers lie outside the file");
            }
        }

        private long Header(int i) => _shoff + ((long)i * _shentsize);
        public uint Type(int i) => BitConverter.ToUInt32(_b, (int)Header(i) + 4);
        public long Offset(int i) => (long)BitConverter.ToUInt64(_b, (int)Header(i) + 0x18);
        public long Size(int i) => (long)BitConverter.ToUInt64(_b, (int)Header(i) + 0x20);
        public uint Link(int i) => BitConverter.ToUInt32(_b, (int)Header(i) + 0x28);
        public uint Info(int i) => BitConverter.ToUInt32(_b, (int)Header(i) + 0x2C);

        public int FindSection(uint type)
        {
            for (var i = 0; i < _shnum; i++)
            {
                if (Type(i) == type)
                {
                    return i;
                }
            }

            return -1;
        }

        public string String(int section, long offset)
        {
            var start = Offset(section) + offset;
            var end = start;
            var limit = Offset(section) + Size(section);
            while (end < limit && _b[end] != 0)
            {
                end++;
            }

            return Encoding.ASCII.GetString(_b, (int)start, (int)(end - start));
        }

        /// <summary>Offset of <paramref name="value"/> as a whole NUL-terminated string in a string table, or −1.</summary>
        public long FindString(int section, string value)
        {
            var needle = Encoding.ASCII.GetBytes(value);
            var start = Offset(section);
            var size = Size(section);
            for (long i = 0; i + needle.Length < size; i++)
            {
                if ((i == 0 || _b[start + i - 1] == 0) && _b[start + i + needle.Length] == 0)
                {
                    var match = true;
                    for (var k = 0; k < needle.Length && match; k++)
                    {
                        match = _b[start + i + k] == needle[k];
                    }

                    if (match)
                    {
                        return i;
                    }
                }
            }

            return -1;
        }
    }
}
