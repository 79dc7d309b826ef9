namespace Jiniac.Text.Bpe;

/// <summary>
/// The ids a HF post-processor puts around a single sequence when special tokens are added (TemplateProcessing's
/// "single" template, BertProcessing / RobertaProcessing's cls … sep). ByteLevel adds none.
/// </summary>
internal sealed class PostProcessor(int[] prefix, int[] suffix)
{
    public static readonly PostProcessor None = new([], []);

    public int[] Prefix { get; } = prefix;
    public int[] Suffix { get; } = suffix;
}
