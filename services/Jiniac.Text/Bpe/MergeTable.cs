namespace Jiniac.Text.Bpe;

/// <summary>
/// (left id, right id) → (rank, merged id) as an open-addressing table. A Dictionary&lt;long, …&gt; hashes a long as
/// hi ^ lo, so on a 200 k-merge vocabulary nearly every (a, b) with the same a ^ b collides; here the key is mixed
/// with a multiplicative (Fibonacci) hash, and key and value sit together so a probe touches one cache line.
/// </summary>
internal sealed class MergeTable
{
    private const ulong Empty = ulong.MaxValue; // ids are non-negative, so no real key has both halves all ones

    private readonly Entry[] _entries;
    private readonly int _shift;
    private readonly int _mask;

    public MergeTable(int count)
    {
        // Load factor at most 1/2: short probe runs with linear probing.
        var bits = 4;
        while ((1 << bits) < count * 2)
        {
            bits++;
        }

        _entries = new Entry[1 << bits];
        Array.Fill(_entries, new Entry { Key = Empty });
        _shift = 64 - bits;
        _mask = (1 << bits) - 1;
    }

    public int Count { get; private set; }

    /// <summary>Sets the value of (a, b); a repeated pair keeps the last value, as HF's merge map does.</summary>
    public void Set(int a, int b, int rank, int newId)
    {
        var key = Key(a, b);
        var i = Slot(key);
        while (_entries[i].Key != Empty && _entries[i].Key != key)
        {
            i = (i + 1) & _mask;
        }

        if (_entries[i].Key == Empty)
        {
            Count++;
        }

        _entries[i] = new Entry { Key = key, Rank = rank, NewId = newId };
    }

    /// <summary>The rank of merging (a, b), or int.MaxValue when the pair has no merge.</summary>
    public int Rank(int a, int b, out int newId)
    {
        var key = Key(a, b);
        var entries = _entries;
        var i = Slot(key);
        while (true)
        {
            ref readonly var e = ref entries[i];
            if (e.Key == key)
            {
                newId = e.NewId;
                return e.Rank;
            }

            if (e.Key == Empty)
            {
                newId = 0;
                return int.MaxValue;
            }

            i = (i + 1) & _mask;
        }
    }

    private int Slot(ulong key) => (int)((key * 0x9E3779B97F4A7C15UL) >> _shift);

    private static ulong Key(int a, int b) => ((ulong)(uint)a << 32) | (uint)b;

    private struct Entry
    {
        public ulong Key;
        public int Rank;
        public int NewId;
    }
}
