using System.Text;

namespace Jiniac.Contracts.Pipeline;

/// <summary>One problem in a pipeline file, located like a compiler diagnostic.</summary>
/// <param name="File">The file name as given to the loader.</param>
/// <param name="Line">1-based line; 0 when the problem concerns the whole file (e.g. it does not exist).</param>
/// <param name="Column">1-based column; 0 with <paramref name="Line"/> 0.</param>
/// <param name="Path">Where in the document, e.g. <c>stages[2].sources[0].path</c>; empty for syntax errors.</param>
/// <param name="Message">What is wrong, in words a pipeline owner can act on.</param>
public sealed record PipelineError(string File, int Line, int Column, string Path, string Message)
{
    /// <summary><c>{file}:{line}:{column}: {path}: {message}</c>, leaving out the parts that are absent.</summary>
    public override string ToString()
    {
        var text = new StringBuilder(File);
        if (Line > 0)
        {
            text.Append(':').Append(Line).Append(':').Append(Column);
        }

        text.Append(": ");
        if (Path.Length > 0)
        {
            text.Append(Path).Append(": ");
        }

        return text.Append(Message).ToString();
    }
}

/// <summary>The pipeline file is not valid. <see cref="Errors"/> holds every problem found, in document order.</summary>
public sealed class PipelineValidationException : Exception
{
    public PipelineValidationException(IReadOnlyList<PipelineError> errors)
        : base(Describe(errors))
    {
        Errors = errors;
    }

    public IReadOnlyList<PipelineError> Errors { get; }

    private static string Describe(IReadOnlyList<PipelineError> errors)
    {
        var text = new StringBuilder();
        text.Append(errors.Count == 1 ? "The pipeline file has 1 problem:" : $"The pipeline file has {errors.Count} problems:");
        foreach (var error in errors)
        {
            text.Append('\n').Append(error);
        }

        return text.ToString();
    }
}
