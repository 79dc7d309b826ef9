using System.Buffers.Binary;
using System.Text;

namespace Jiniac.Text.SentencePiece;

/// <summary>The piece types of sentencepiece_model.proto.</summary>
internal enum PieceType
{
    Normal = 1,
    Unknown = 2,
    Control = 3,
    UserDefined = 4,
    Unused = 5,
    Byte = 6,
}

internal sealed record Piece(string Text, float Score, PieceType Type);

/// <summary>
/// The fields of a SentencePiece ModelProto (sentencepiece_model.proto) that encoding depends on, read with a
/// minimal protobuf reader: pieces (1), trainer_spec (2: model_type 3, treat_whitespace_as_suffix 24,
/// byte_fallback 35), normalizer_spec (3: name 1, precompiled_charsmap 2, add_dummy_prefix 3,
/// remove_extra_whitespaces 4, escape_whitespaces 5).
/// </summary>
internal sealed class ModelProto
{
    public List<Piece> Pieces { get; } = [];
    public int ModelType { get; private set; } = 1;
    public bool ByteFallback { get; private set; }
    public bool TreatWhitespaceAsSuffix { get; private set; }
    public string NormalizerName { get; private set; } = "";
    public byte[] PrecompiledCharsmap { get; private set; } = [];
    public bool AddDummyPrefix { get; private set; } = true;
    public bool RemoveExtraWhitespaces { get; private set; } = true;
    public bool EscapeWhitespaces { get; private set; } = true;

    public static ModelProto Parse(ReadOnlySpan<byte> data, string source)
    {
        var model = new ModelProto();
        var reader = new Reader(data, source);
        while (reader.Next(out var field, out var wire))
        {
            switch (field, wire)
            {
                case (1, 2):
                    model.Pieces.Add(ParsePiece(reader.Bytes(), source));
                    break;
                case (2, 2):
                    var trainer = new Reader(reader.Bytes(), source);
                    while (trainer.Next(out var f, out var w))
                    {
                        switch (f, w)
                        {
                            case (3, 0): model.ModelType = (int)trainer.Varint(); break;
                            case (24, 0): model.TreatWhitespaceAsSuffix = trainer.Varint() != 0; break;
                            case (35, 0): model.ByteFallback = trainer.Varint() != 0; break;
                            default: trainer.Skip(w); break;
                        }
                    }

                    break;
                case (3, 2):
                    var normalizer = new Reader(reader.Bytes(), source);
                    while (normalizer.Next(out var f, out var w))
                    {
                        switch (f, w)
                        {
                            case (1, 2): model.NormalizerName = Encoding.UTF8.GetString(normalizer.Bytes()); break;
                            case (2, 2): model.PrecompiledCharsmap = normalizer.Bytes().ToArray(); break;
                            case (3, 0): model.AddDummyPrefix = normalizer.Varint() != 0; break;
                            case (4, 0): model.RemoveExtraWhitespaces = normalizer.Varint() != 0; break;
                            case (5, 0): model.EscapeWhitespaces = normalizer.Varint() != 0; break;
                            default: normalizer.Skip(w); break;
                        }
                    }

                    break;
                default:
                    reader.Skip(wire);
                    break;
            }
        }

        if (model.Pieces.Count == 0)
        {
            throw new InvalidDataException($"{source}: no pieces: not a SentencePiece model");
        }

        return model;
    }

    private static Piece ParsePiece(ReadOnlySpan<byte> data, string source)
    {
        var reader = new Reader(data, source);
        string text = "";
        float score = 0;
        var type = PieceType.Normal;
        while (reader.Next(out var field, out var wire))
        {
            switch (field, wire)
            {
                case (1, 2): text = Encoding.UTF8.GetString(reader.Bytes()); break;
                case (2, 5): score = BinaryPrimitives.ReadSingleLittleEndian(reader.Fixed32()); break;
                case (3, 0): type = (PieceType)reader.Varint(); break;
                default: reader.Skip(wire); break;
            }
        }

        return new Piece(text, score, type);
    }

    private ref struct Reader(ReadOnlySpan<byte> data, string source)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        private int _at;

        public bool Next(out int field, out int wire)
        {
            if (_at >= _data.Length)
            {
                (field, wire) = (0, 0);
                return false;
            }

            var key = Varint();
            (field, wire) = ((int)(key >> 3), (int)(key & 7));
            return true;
        }

        public ulong Varint()
        {
            ulong value = 0;
            for (var shift = 0; shift < 64; shift += 7)
            {
                var b = Byte();
                value |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80)
                {
                    return value;
                }
            }

            throw Bad("varint longer than 10 bytes");
        }

        public ReadOnlySpan<byte> Bytes()
        {
            var length = Varint();
            if (length > (ulong)(_data.Length - _at))
            {
                throw Bad("field runs past the end");
            }

            var slice = _data.Slice(_at, (int)length);
            _at += (int)length;
            return slice;
        }

        public ReadOnlySpan<byte> Fixed32() => Take(4);

        public void Skip(int wire)
        {
            switch (wire)
            {
                case 0: Varint(); break;
                case 1: Take(8); break;
                case 2: Bytes(); break;
                case 5: Take(4); break;
                default: throw Bad($"unknown wire type {wire}");
            }
        }

        private ReadOnlySpan<byte> Take(int n)
        {
            if (_at + n > _data.Length)
            {
                throw Bad("field runs past the end");
            }

            var slice = _data.Slice(_at, n);
            _at += n;
            return slice;
        }

        private byte Byte() => _at < _data.Length ? _data[_at++] : throw Bad("truncated");

        private readonly InvalidDataException Bad(string what) => new($"{source}: protobuf offset {_at}: {what}: not a SentencePiece model");
    }
}
