#!/usr/bin/python3
"""shard_safetensors.py SRC_DIR OUT_DIR [--shards N] [--break KIND]

Writes the Hugging Face directory SRC_DIR (config.json, model.safetensors,
tokenizer files) to OUT_DIR as a sharded checkpoint, the way
transformers' save_pretrained(max_shard_size=...) lays it out:
model-0000K-of-0000N.safetensors files, each a complete safetensors file
(u64 header length, JSON header, data), and model.safetensors.index.json
{"metadata": {"total_size": ...}, "weight_map": {tensor: shard file}}.
Tensors are dealt to the shards in order of their offsets. --break makes
the index wrong: "missing-shard" names a file that does not exist,
"unlisted" leaves a tensor out of the weight_map, "escape" maps a tensor to
"../model.safetensors".
"""
import json
import os
import shutil
import struct
import sys

args = [a for a in sys.argv[1:]]
shards = int(args[args.index("--shards") + 1]) if "--shards" in args else 2
broken = args[args.index("--break") + 1] if "--break" in args else None
src, out = [a for i, a in enumerate(args)
            if not a.startswith("--") and (i == 0 or not args[i - 1].startswith("--"))]
raw = open(os.path.join(src, "model.safetensors"), "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
data = raw[8 + n:]
meta = header.pop("__metadata__", None)
names = sorted(header, key=lambda k: header[k]["data_offsets"][0])
os.makedirs(out, exist_ok=True)
for f in os.listdir(src):
    if f != "model.safetensors":
        shutil.copy(os.path.join(src, f), out)
files = [f"model-{k + 1:05d}-of-{shards:05d}.safetensors" for k in range(shards)]
weight_map, total = {}, 0
for k, file in enumerate(files):
    mine = names[k::shards]
    hdr, blobs, pos = {}, [], 0
    for name in mine:
        info = dict(header[name])
        b, e = info["data_offsets"]
        blobs.append(data[b:e])
        info["data_offsets"] = [pos, pos + e - b]
        pos += e - b
        hdr[name] = info
        weight_map[name] = file
        total += e - b
    text = json.dumps(hdr).encode()
    text += b" " * (-len(text) % 8)
    with open(os.path.join(out, file), "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
if broken == "missing-shard":
    weight_map[names[0]] = "model-00009-of-00009.safetensors"
elif broken == "unlisted":
    del weight_map[names[-1]]
elif broken == "escape":
    weight_map[names[0]] = "../model.safetensors"
with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
    json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
