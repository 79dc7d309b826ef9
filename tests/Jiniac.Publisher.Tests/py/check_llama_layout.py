#!/usr/bin/python3
"""Independent check of a published Hugging Face LlamaForCausalLM folder.

Written from reference/safetensors-and-hf-llama.md alone (it shares no code with the C# exporter), with the
standard library and numpy only: parses config.json, every safetensors header and its offsets, and the
shard index, and checks tensor names, shapes, dtypes, contiguity, the index and the companion files.

usage: check_llama_layout.py FOLDER   -> prints one JSON object; exit 0 when the folder passes, 1 when not.
"""
import json
import os
import re
import struct
import sys

import numpy as np

SIZES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
         "I32": 4, "U32": 4, "F32": 4, "F64": 8, "I64": 8, "U64": 8}
TORCH_DTYPES = {"float32": "F32", "bfloat16": "BF16", "float16": "F16"}
CONFIG_KEYS = ["architectures", "model_type", "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
               "num_attention_heads", "num_key_value_heads", "hidden_act", "max_position_embeddings", "rms_norm_eps",
               "rope_theta", "tie_word_embeddings", "bos_token_id", "eos_token_id", "torch_dtype"]
MAX_HEADER = 100_000_000

errors = []


def fail(message):
    errors.append(message)


def expected_tensors(config):
    """Names and [out, in] shapes of LlamaForCausalLM's parameters for this config."""
    hidden, inter, vocab = config["hidden_size"], config["intermediate_size"], config["vocab_size"]
    heads, kv_heads = config["num_attention_heads"], config["num_key_value_heads"]
    head_dim = hidden // heads
    shapes = {"model.embed_tokens.weight": [vocab, hidden], "model.norm.weight": [hidden]}
    for i in range(config["num_hidden_layers"]):
        p = f"model.layers.{i}."
        shapes[p + "self_attn.q_proj.weight"] = [heads * head_dim, hidden]
        shapes[p + "self_attn.k_proj.weight"] = [kv_heads * head_dim, hidden]
        shapes[p + "self_attn.v_proj.weight"] = [kv_heads * head_dim, hidden]
        shapes[p + "self_attn.o_proj.weight"] = [hidden, heads * head_dim]
        shapes[p + "mlp.gate_proj.weight"] = [inter, hidden]
        shapes[p + "mlp.up_proj.weight"] = [inter, hidden]
        shapes[p + "mlp.down_proj.weight"] = [hidden, inter]
        shapes[p + "input_layernorm.weight"] = [hidden]
        shapes[p + "post_attention_layernorm.weight"] = [hidden]
    if not config["tie_word_embeddings"]:
        shapes["lm_head.weight"] = [vocab, hidden]
    return shapes


def read_safetensors(path):
    """The header's tensors, each checked against the file: (name -> (dtype, shape, begin, end)), and the data."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        fail(f"{path}: shorter than the 8-byte header length")
        return {}, b""
    (n,) = struct.unpack("<Q", raw[:8])
    if n > MAX_HEADER or 8 + n > len(raw):
        fail(f"{path}: header length {n} is impossible")
        return {}, b""
    try:
        header = json.loads(raw[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        fail(f"{path}: header is not UTF-8 JSON: {e}")
        return {}, b""
    data = raw[8 + n:]
    metadata = header.pop("__metadata__", None)
    if metadata is not None and not (isinstance(metadata, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())):
        fail(f"{path}: __metadata__ is not a string to string map")
    if metadata is not None and metadata.get("format") != "pt":
        fail(f"{path}: __metadata__.format is {metadata.get('format')!r}, transformers expects 'pt'")
    tensors = {}
    for name, info in header.items():
        dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
        if dtype not in SIZES:
            fail(f"{path}: {name} has dtype {dtype!r}")
            continue
        if not (isinstance(shape, list) and all(isinstance(d, int) and d >= 0 for d in shape)):
            fail(f"{path}: {name} has shape {shape!r}")
            continue
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) for o in offsets)):
            fail(f"{path}: {name} has data_offsets {offsets!r}")
            continue
        begin, end = offsets
        if end - begin != int(np.prod(shape, dtype=np.int64)) * SIZES[dtype]:
            fail(f"{path}: {name} spans {end - begin} bytes, {dtype} x {shape} needs {int(np.prod(shape)) * SIZES[dtype]}")
        tensors[name] = (dtype, shape, begin, end)
    # Contiguous: sorted by offset, each starts where the previous ended, from 0 to the end of the file.
    at = 0
    for name, (_, _, begin, end) in sorted(tensors.items(), key=lambda t: t[1][2]):
        if begin != at:
            fail(f"{path}: {name} starts at {begin}, the previous tensor ended at {at} (gap or overlap)")
        at = end
    if at != len(data):
        fail(f"{path}: tensors end at {at}, the data section is {len(data)} bytes")
    return tensors, data


def as_float32(dtype, buffer):
    if dtype == "F32":
        return np.frombuffer(buffer, dtype="<f4")
    if dtype == "BF16":
        return (np.frombuffer(buffer, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
    if dtype == "F16":
        return np.frombuffer(buffer, dtype="<f2").astype(np.float32)
    return None


def main(folder):
    report = {"folder": folder}
    try:
        with open(os.path.join(folder, "config.json"), encoding="utf-8") as f:
            config = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        fail(f"config.json: {e}")
        return report
    for key in CONFIG_KEYS:
        if key not in config:
            fail(f"config.json has no {key}")
    if errors:
        return report
    if config["architectures"] != ["LlamaForCausalLM"] or config["model_type"] != "llama" or config["hidden_act"] != "silu":
        fail("config.json is not a LlamaForCausalLM (architectures, model_type, hidden_act)")
    if config["hidden_size"] % config["num_attention_heads"] or config["num_attention_heads"] % config["num_key_value_heads"]:
        fail("config.json: heads do not divide hidden_size / num_key_value_heads do not divide heads")
    dtype = TORCH_DTYPES.get(config["torch_dtype"])
    if dtype is None:
        fail(f"config.json: torch_dtype {config['torch_dtype']!r}")

    index_path = os.path.join(folder, "model.safetensors.index.json")
    if os.path.exists(index_path):
        with open(index_path, encoding="utf-8") as f:
            index = json.load(f)
        weight_map = index.get("weight_map", {})
        files = sorted(set(weight_map.values()))
        count = len(files)
        names = [f"model-{i:05d}-of-{count:05d}.safetensors" for i in range(1, count + 1)]
        if files != names:
            fail(f"index names shards {files}, expected {names}")
        if os.path.exists(os.path.join(folder, "model.safetensors")):
            fail("both model.safetensors and an index")
    else:
        index, weight_map, files = None, None, ["model.safetensors"]

    found, total, stats = {}, 0, {}
    for file in files:
        tensors, data = read_safetensors(os.path.join(folder, file))
        for name, (tdtype, shape, begin, end) in tensors.items():
            if name in found:
                fail(f"{name} is in {found[name][0]} and {file}")
            found[name] = (file, tdtype, shape)
            total += end - begin
            if weight_map is not None and weight_map.get(name) != file:
                fail(f"index maps {name} to {weight_map.get(name)}, it is in {file}")
            values = as_float32(tdtype, data[begin:end])
            if values is not None:
                if not np.all(np.isfinite(values)):
                    fail(f"{name} has non-finite values")
                stats[name] = [float(values.min()), float(values.max())] if values.size else []
    if index is not None:
        if set(weight_map) != set(found):
            fail(f"index weight_map and the shards disagree: {sorted(set(weight_map) ^ set(found))[:5]}")
        if index.get("metadata", {}).get("total_size") != total:
            fail(f"index total_size {index.get('metadata', {}).get('total_size')} != {total} bytes of tensors")

    expected = expected_tensors(config)
    for name, shape in expected.items():
        if name not in found:
            fail(f"missing {name}")
        elif found[name][2] != shape:
            fail(f"{name} is {found[name][2]}, config makes it {shape}")
        elif found[name][1] != dtype:
            fail(f"{name} is {found[name][1]}, torch_dtype says {dtype}")
    for name in sorted(set(found) - set(expected)):
        fail(f"unexpected tensor {name}" + (" (tie_word_embeddings is true)" if name == "lm_head.weight" else ""))

    for companion in ["generation_config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "README.md"]:
        if not os.path.exists(os.path.join(folder, companion)):
            fail(f"missing {companion}")
    if os.path.exists(os.path.join(folder, "generation_config.json")):
        with open(os.path.join(folder, "generation_config.json"), encoding="utf-8") as f:
            generation = json.load(f)
        if (generation.get("bos_token_id"), generation.get("eos_token_id")) != (config["bos_token_id"], config["eos_token_id"]):
            fail("generation_config.json bos/eos differ from config.json")
    if os.path.exists(os.path.join(folder, "README.md")):
        with open(os.path.join(folder, "README.md"), encoding="utf-8") as f:
            card = f.read()
        front = re.match(r"^---\n(.*?)\n---\n", card, re.S)
        if not front:
            fail("README.md has no YAML front matter")
        else:
            for key in ["license:", "library_name: transformers", "model-index:"]:
                if key not in front.group(1):
                    fail(f"README.md front matter lacks {key}")

    report.update({"files": files, "tensors": len(found), "total_size": total, "dtype": dtype,
                   "tied": config["tie_word_embeddings"], "ranges": stats})
    return report


if __name__ == "__main__":
    result = main(sys.argv[1])
    result["ok"] = not errors
    result["errors"] = errors
    print(json.dumps(result))
    sys.exit(0 if not errors else 1)
