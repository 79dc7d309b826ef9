#!/usr/bin/env python3
"""Build a JCommonsenseQA-format multiple-choice set from the NAME lines of Debian's manpages-ja.

Each question asks what a command does; the gold choice is the command's own one-line Japanese
description (the NAME section of its man page), the four distractors are descriptions of other
commands. Everything is chosen by SHA-256 of the command name, so the output is deterministic.

Usage: ja_man_mc.py MAN_ROOT OUT_DIR   (MAN_ROOT = extracted usr/share/man/ja)
Standard library only.
"""
import gzip
import hashlib
import json
import os
import re
import sys

JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")
TEST_SIZE = 200
FEWSHOT_SIZE = 30


def name_line(path):
    """The 'name \\- description' line after '.SH 名前' (or .SH NAME), as plain text, or None."""
    with gzip.open(path, "rt", encoding="utf-8", errors="strict") as f:
        lines = f.read().splitlines()
    for i, line in enumerate(lines):
        if re.match(r'^\.SH\s+"?(名前|NAME)"?\s*$', line):
            body = []
            for nxt in lines[i + 1:]:
                if nxt.startswith(".SH"):
                    break
                if nxt.startswith(".\\\""):
                    continue
                body.append(re.sub(r"^\.[A-Z]{1,2}\s+", "", nxt))
            text = " ".join(body)
            text = re.sub(r"\\f[BIRP]|\\f\(..|\\&|\\\(..", "", text).replace("\\-", "-").replace("\\ ", " ")
            text = re.sub(r"\s+", " ", text).strip()
            return text
    return None


def main(man_root, out_dir):
    items = {}
    for section in ("man1", "man8"):
        folder = os.path.join(man_root, section)
        for file in sorted(os.listdir(folder)):
            if not file.endswith(".gz") or os.path.islink(os.path.join(folder, file)):
                continue
            try:
                line = name_line(os.path.join(folder, file))
            except (UnicodeDecodeError, OSError, EOFError):
                continue
            if not line or " - " not in line:
                continue
            names, description = line.split(" - ", 1)
            command = names.split(",")[0].strip()
            description = description.strip().rstrip("。")
            if not re.fullmatch(r"[A-Za-z0-9_.+-]+", command) or not JAPANESE.search(description):
                continue
            if not 6 <= len(description) <= 40 or command in items:
                continue
            items[command] = description

    # One description per question: drop descriptions shared by several commands (ambiguous gold).
    counts = {}
    for d in items.values():
        counts[d] = counts.get(d, 0) + 1
    commands = sorted(c for c, d in items.items() if counts[d] == 1)
    key = lambda c: hashlib.sha256(c.encode("utf-8")).hexdigest()
    ordered = sorted(commands, key=key)
    if len(ordered) < TEST_SIZE + FEWSHOT_SIZE:
        sys.exit(f"only {len(ordered)} usable commands")
    splits = {"test.jsonl": ordered[:TEST_SIZE], "fewshot.jsonl": ordered[TEST_SIZE:TEST_SIZE + FEWSHOT_SIZE]}
    os.makedirs(out_dir, exist_ok=True)
    for name, chosen in splits.items():
        with open(os.path.join(out_dir, name), "w", encoding="utf-8", newline="\n") as out:
            for q_id, command in enumerate(chosen):
                digest = hashlib.sha256(("distractors:" + command).encode("utf-8")).digest()
                # Distractors: commands at hash-chosen offsets in the whole ordered pool, never the gold one.
                others = []
                i = 0
                while len(others) < 4:
                    pick = ordered[int.from_bytes(digest[i * 4:i * 4 + 4], "big") % len(ordered)]
                    if pick != command and pick not in others:
                        others.append(pick)
                    i += 1
                    if i * 4 + 4 > len(digest):
                        digest = hashlib.sha256(digest).digest()
                        i = 0
                label = digest[-1] % 5
                choices = [items[c] for c in others]
                choices.insert(label, items[command])
                record = {"q_id": q_id, "question": f"{command} コマンドは何をするもの?"}
                for j, c in enumerate(choices):
                    record[f"choice{j}"] = c
                record["label"] = label
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(f"{len(items)} commands with a Japanese description, {len(ordered)} unambiguous; wrote {TEST_SIZE} + {FEWSHOT_SIZE}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
