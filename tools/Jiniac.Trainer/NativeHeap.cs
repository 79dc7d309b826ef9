using System.Runtime.InteropServices;

namespace Jiniac.Trainer;

/// <summary>
/// glibc malloc settings for a training loop. libtorch's CPU allocator takes every tensor from malloc,
/// and glibc serves the large ones (activations, logits, gradients: MBs to hundreds of MBs) by mmap and
/// hands them back by munmap on free, so each step faults in and zeroes the same gigabytes of fresh
/// pages again (seen as system time). With mmap off and no trimming, freed blocks stay in the heap and
/// the next step reuses them; a training step allocates the same sizes each time, so the heap stops
/// growing after the first step. Results are unchanged: only where the memory comes from.
/// </summary>
internal static class NativeHeap
{
    private const int MTrimThreshold = -1;
    private const int MMmapMax = -4;

    public static void KeepFreedMemory()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        try
        {
            // mallopt returns 1 on success; a libc without it (musl) just keeps its defaults.
            _ = Mallopt(MMmapMax, 0);
            _ = Mallopt(MTrimThreshold, int.MaxValue);
        }
        catch (EntryPointNotFoundException)
        {
        }
        catch (DllNotFoundException)
        {
        }
    }

    // DllImport rather than LibraryImport: the arguments are blittable ints, and LibraryImport would need unsafe code.
    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int Mallopt(int parameter, int value);
}
