using System.Numerics;
using System.Runtime.Intrinsics;
using Jiniac.Ingest.Cleaning;

namespace Jiniac.Ingest.Dedup;

/// <summary>
/// MinHash signatures over token shingles and their LSH band keys. Each of the bands × rows
/// permutations is a 32-bit multiply–xorshift mix of the shingle hash with its own seed, evaluated 8
/// (or 16) permutations at a time with vector instructions; a band key is the 64-bit hash of its rows
/// mixed with the band's number, so one set of keys serves every band.
/// </summary>
/// <remarks>
/// With b bands of r rows, two documents of Jaccard similarity s share a band with probability
/// 1 − (1 − s^r)^b: for 14 × 8 (datatrove's default, 112 permutations) about 0.92 at s = 0.8 and 0.06 at s = 0.6.
/// </remarks>
internal sealed class MinHasher
{
    private readonly int _shingle;
    private readonly int _bands;
    private readonly int _rows;
    private readonly uint[] _seeds;
    private readonly uint[] _signature;
    private uint[] _shingles = new uint[1024];

    public MinHasher(int shingle, int bands, int rows)
    {
        _shingle = shingle;
        _bands = bands;
        _rows = rows;
        var permutations = bands * rows;
        // Padded to whole vectors; the extra permutations are computed and never used (seeds come in sequence, so padding changes none).
        var padded = (permutations + Vector512<uint>.Count - 1) / Vector512<uint>.Count * Vector512<uint>.Count;
        _seeds = new uint[padded];
        _signature = new uint[padded];
        // Fixed seeds (splitmix64 from a constant): signatures must not change between runs or machines.
        var state = 0x4A494E4941430001UL;
        for (var i = 0; i < padded; i++)
        {
            state += 0x9E3779B97F4A7C15UL;
            var z = state;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            _seeds[i] = (uint)(z ^ (z >> 31));
        }
    }

    public int Bands => _bands;

    /// <summary>Writes the band keys of the document with these token hashes into <paramref name="keys"/> (length = bands).</summary>
    public void BandKeys(ReadOnlySpan<ulong> tokens, Span<ulong> keys)
    {
        var shingles = Math.Max(1, tokens.Length - _shingle + 1);
        if (_shingles.Length < shingles)
        {
            _shingles = new uint[Math.Max(shingles, _shingles.Length * 2)];
        }

        var hashes = _shingles.AsSpan(0, shingles);
        for (var i = 0; i < shingles; i++)
        {
            var h = 0xCBF29CE484222325UL;
            var end = Math.Min(tokens.Length, i + _shingle);
            for (var j = i; j < end; j++)
            {
                h = ScriptTokens.Combine(h, tokens[j]);
            }

            hashes[i] = (uint)(h ^ (h >> 32));
        }

        Signature(hashes, _signature);
        for (var b = 0; b < _bands; b++)
        {
            var key = 0x84222325CBF29CE4UL ^ (ulong)b;
            for (var r = 0; r < _rows; r++)
            {
                key = ScriptTokens.Combine(key, _signature[b * _rows + r]);
            }

            keys[b] = key;
        }
    }

    /// <summary>
    /// signature[p] = min over shingles of mix(shingle ^ seed[p]). Permutations are the outer loop, a vector
    /// of them at a time, so the running minimum and the seeds stay in registers while the shingles stream by.
    /// </summary>
    private void Signature(ReadOnlySpan<uint> shingles, Span<uint> signature)
    {
        var seeds = _seeds.AsSpan();
        var p = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var m1 = Vector512.Create(0x7FEB352Du);
            var m2 = Vector512.Create(0x846CA68Bu);
            for (; p + Vector512<uint>.Count <= seeds.Length; p += Vector512<uint>.Count)
            {
                var seed = Vector512.Create<uint>(seeds[p..]);
                var min = Vector512<uint>.AllBitsSet;
                foreach (var shingle in shingles)
                {
                    var v = Vector512.Create(shingle) ^ seed;
                    v ^= Vector512.ShiftRightLogical(v, 16);
                    v *= m1;
                    v ^= Vector512.ShiftRightLogical(v, 15);
                    v *= m2;
                    v ^= Vector512.ShiftRightLogical(v, 16);
                    min = Vector512.Min(min, v);
                }

                min.CopyTo(signature[p..]);
            }
        }

        if (Vector256.IsHardwareAccelerated)
        {
            var m1 = Vector256.Create(0x7FEB352Du);
            var m2 = Vector256.Create(0x846CA68Bu);
            for (; p + Vector256<uint>.Count <= seeds.Length; p += Vector256<uint>.Count)
            {
                var seed = Vector256.Create<uint>(seeds[p..]);
                var min = Vector256<uint>.AllBitsSet;
                foreach (var shingle in shingles)
                {
                    var v = Vector256.Create(shingle) ^ seed;
                    v ^= Vector256.ShiftRightLogical(v, 16);
                    v *= m1;
                    v ^= Vector256.ShiftRightLogical(v, 15);
                    v *= m2;
                    v ^= Vector256.ShiftRightLogical(v, 16);
                    min = Vector256.Min(min, v);
                }

                min.CopyTo(signature[p..]);
            }
        }

        for (; p < seeds.Length; p++)
        {
            var min = uint.MaxValue;
            foreach (var shingle in shingles)
            {
                min = Math.Min(min, Mix(shingle ^ seeds[p]));
            }

            signature[p] = min;
        }
    }

    /// <summary>One permutation of a shingle hash (the scalar form of the vector code above; lowbias32's constants).</summary>
    internal static uint Mix(uint v)
    {
        v ^= v >> 16;
        v *= 0x7FEB352Du;
        v ^= v >> 15;
        v *= 0x846CA68Bu;
        v ^= v >> 16;
        return v;
    }
}
