namespace Jiniac.Ingest.Cleaning;

/// <summary>
/// Counts 64-bit hashes in an open-addressing table that is reused document after document: the
/// repetition rules make nine passes over every document's n-grams, and HashSet/Dictionary cost
/// several times more per insert. Keys are hashes already, so their low bits pick the slot.
/// </summary>
internal sealed class HashCounter
{
    private ulong[] _keys = new ulong[1024];
    private int[] _counts = new int[1024];
    private int _mask = 1023;

    /// <summary>Empties the table, sized for about <paramref name="expected"/> distinct keys (load at most 1/2).</summary>
    public void Reset(int expected)
    {
        var capacity = 64;
        while (capacity < expected * 2)
        {
            capacity <<= 1;
        }

        if (capacity > _keys.Length)
        {
            _keys = new ulong[capacity];
            _counts = new int[capacity];
        }
        else
        {
            Array.Clear(_keys, 0, capacity);
        }

        _mask = capacity - 1;
    }

    /// <summary>Adds one occurrence of <paramref name="key"/>; returns its count including this one.</summary>
    public int Increment(ulong key)
    {
        IncrementSlot(key, out var count);
        return count;
    }

    /// <summary>The count now held in a slot <see cref="IncrementSlot"/> returned (valid until the next reset).</summary>
    public int CountAt(int slot) => _counts[slot];

    /// <summary>Adds one occurrence of <paramref name="key"/>; returns its slot, and its count including this one.</summary>
    public int IncrementSlot(ulong key, out int count)
    {
        key = key == 0 ? 1 : key; // 0 marks an empty slot
        var i = (int)((key ^ (key >> 32)) & (uint)_mask);
        while (true)
        {
            var k = _keys[i];
            if (k == key)
            {
                count = ++_counts[i];
                return i;
            }

            if (k == 0)
            {
                _keys[i] = key;
                _counts[i] = 1;
                count = 1;
                return i;
            }

            i = (i + 1) & _mask;
        }
    }
}
