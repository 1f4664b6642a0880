#!/usr/bin/env python3
"""Writes the seed corpora of json_fuzz (tests/fuzz/corpus_json/*.bin) and
node_fuzz (tests/fuzz/corpus_node/*.bin), in the input layouts documented at
the top of json_fuzz.cpp and node_fuzz.cpp, including the hostile cases of
issue 18. Deterministic: rerun after changing a layout and commit the result.
usage: tests/fuzz/make_fuzz_seeds.py [FUZZ_DIR]
"""
import hashlib
import json
import math
import os
import random
import struct
import sys
import zlib

here = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
rng = random.Random(18)


def blob(D, Hq, Hkv, d, L, C, weights=None, f16=False):
    n = L * (2 * D * Hq * d + 2 * D * Hkv * d) + D * C
    vals = weights if weights is not None else [rng.uniform(-0.5, 0.5) for _ in range(n)]
    w = b"".join(struct.pack("<e" if f16 else "<f", v) for v in vals)
    head = struct.pack("<IHBBHHHHHHI", 0x52564E45, 1, 1 if f16 else 0, 0, D, Hq, Hkv, d, L, C, len(w))
    return head + w + struct.pack("<I", zlib.crc32(head + w))


def write(folder, name, data):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name + ".bin"), "wb") as f:
        f.write(data)


# --- json_fuzz: selector byte + file bytes ---
J = os.path.join(here, "corpus_json")
# Blob A of json_fuzz.cpp: D 4, Hq 1, Hkv 1, d 1, 1 layer, 2 classes, zeros.
sha_a = hashlib.sha256(blob(4, 1, 1, 1, 1, 2, weights=[0.0] * 24)).hexdigest()


def raw_csi(t, node=1, sub=8, rssi=-40, amp=None):
    iq = "".join("%02x%02x" % (rng.randrange(256), rng.randrange(256)) for _ in range(sub))
    rec = {"timestamp": t, "node_id": node, "type": "raw_csi", "subcarriers": sub, "iq_hex": iq, "rssi": rssi}
    if amp is not None:
        rec["amplitudes"] = amp
    return json.dumps(rec)


lines = [raw_csi(1.8e9 + i / 20, node=1 + i % 2) for i in range(12)]
lines.append(json.dumps({"timestamp": 1.8e9 + 1, "node_id": 1, "type": "feature", "features": [0.5, 1.5, -2.0]}))
lines.append(json.dumps({"timestamp": 1.8e9 + 2, "node_id": 1, "type": "feature", "features": [0.25, 1.0, -1.0]}))
lines.append(json.dumps({"timestamp": 1.8e9 + 1, "node_id": 2, "type": "vitals", "motion_energy": 0.3}))
lines.append("not json at all")
write(J, "lines_mixed", b"\x00" + "\n".join(lines).encode() + b"\n")
# Issue 18 item 4: rssi 1e300 (float-to-int UB); item 6: 1e39, finite as double, not as float.
write(J, "lines_rssi_1e300", b"\x00" + (raw_csi(1.8e9) + "\n" + raw_csi(1.8e9 + 1, rssi=1e300) + "\n").encode())
write(J, "lines_feature_1e39", b"\x00" + "\n".join(
    json.dumps({"timestamp": 1.8e9 + i, "node_id": 1, "type": "feature",
                "features": [1e39 if i == 1 and k == 3 else 1.0 + k for k in range(16)]})
    for i in range(3)).encode() + b"\n")
write(J, "lines_amplitude_1e39", b"\x00" + "\n".join(
    json.dumps({"timestamp": 1.8e9 + i, "node_id": 1,
                "subcarriers": [1e39 if i == 1 and k == 5 else 1.0 + k for k in range(64)]})
    for i in range(3)).encode() + b"\n")
write(J, "lines_node_id_2e64", b"\x00" + (raw_csi(1.8e9, node=18446744073709551615) + "\n").encode())

meta = {"id": "rec", "label": "walk", "frame_count": 12}
write(J, "meta_plain", b"\x01" + json.dumps(meta).encode())
write(J, "meta_label_number", b"\x01" + b'{"label": 3}')
# Item 1: nesting (the 250,000 levels; 40,000 keeps the seed small and still overflows dump()).
write(J, "meta_nested_40000", b"\x01" + b'{"id": "x", "deep": ' + b"[" * 40000 + b"]" * 40000 + b"}")

sidecar = {
    "format": "aether-sidecar/1",
    "blob_sha256": sha_a,
    "attention": {"backend": "sparse", "window": 32, "block_size": 16, "global_tokens": [0], "causal": True},
    "pool": "mean",
    "window": 16,
    "stride": 8,
    "classes": ["rate_0.25Hz", "rate_2Hz"],
    "training": {"tool": "train_blob", "seed": 1, "split": {"validation_fraction": 0.15, "test_fraction": 0.25}},
}
write(J, "sidecar_plain", b"\x02" + json.dumps(sidecar, indent=2).encode())
write(J, "sidecar_mismatch", b"\x03" + json.dumps(sidecar).encode())
gated = dict(sidecar, gate={"input_dim": 1, "hidden_dim": 2, "top_k": 2, "mode": "prune", "weights": "gate.bin"})
write(J, "sidecar_gate", b"\x02" + json.dumps(gated).encode())
# Item 2: hidden_dim 2^31 - 1 wraps the gate record size to 0 (SIGFPE); weights outside the folder.
write(J, "sidecar_gate_wrap", b"\x02" + json.dumps(dict(sidecar, gate={
    "input_dim": 1, "hidden_dim": 2147483647, "top_k": 2, "mode": "prune", "weights": "gate.bin"})).encode())
write(J, "sidecar_gate_abs_path", b"\x02" + json.dumps(dict(sidecar, gate={
    "input_dim": 1, "hidden_dim": 2, "top_k": 2, "mode": "prune", "weights": "/dev/null"})).encode())
write(J, "sidecar_gate_dotdot", b"\x02" + json.dumps(dict(sidecar, gate={
    "input_dim": 1, "hidden_dim": 2, "top_k": 2, "mode": "prune", "weights": "../gate.bin"})).encode())
# Item 3: stride near 2^64; item 9: subcarriers 2^32 + 64.
write(J, "sidecar_stride_2e64", b"\x02" + json.dumps(dict(sidecar, stride=18446744073709551615)).encode())
write(J, "sidecar_window_1e12", b"\x02" + json.dumps(dict(sidecar, window=10 ** 12)).encode())
# Item 1: a sidecar nesting deep at the top and in `training`.
write(J, "sidecar_nested_top", b"\x02" + b"[" * 40000 + b"]" * 40000)
write(J, "sidecar_nested_training", b"\x02" + json.dumps(dict(sidecar, training=None)).replace(
    "null", "[" * 40000 + "]" * 40000).encode())
write(J, "sidecar_split_string", b"\x02" + json.dumps(dict(sidecar, training={"split": {"test_fraction": "x"}})).encode())

write(J, "labels_plain", b"\x04start,end,label\n1800000000,1800000004,walk\n1800000004,1800000008,sit\n# comment\n")
# Item 9: surrounding spaces; item 11: NaN start.
write(J, "labels_spaces", b"\x04start,end,label\n1800000000,1800000004, walk\n1800000004,1800000008,walk \n")
write(J, "labels_nan_start", b"\x04start,end,label\nnan,1800000004,walk\n")
write(J, "labels_overlap", b"\x04start,end,label\n1800000000,1800000004,walk\n1800000002,1800000008,sit\n")

# --- node_fuzz: [config 6 bytes][blob][frame values as fp16 bits] ---
N = os.path.join(here, "corpus_node")


def config(stream=False, f16=False, bad_dim=False, bad_classes=False, bad_mode=False, bad_dtype=False, odd=False,
           window=8, capacity=16, pushes=40, every=1, reset_at=255):
    c0 = (1 if stream else 0) | (2 if f16 else 0) | (4 if bad_dim else 0) | (8 if bad_classes else 0) | \
         (16 if bad_mode else 0) | (32 if bad_dtype else 0) | (64 if odd else 0)
    return bytes([c0, window, capacity, pushes, every - 1, reset_at])


def frames(n, special=False):
    raw = b"".join(struct.pack("<e", rng.uniform(-2, 2)) for _ in range(n))
    if special:  # NaN, +Inf, -Inf, 65504, a subnormal at the front
        raw = bytes.fromhex("007e007c00fcff7b0100") + raw
    return raw


small = blob(4, 2, 1, 4, 1, 3)
write(N, "ring_f32", config() + small + frames(40))
write(N, "ring_odd_memory", config(odd=True, window=3) + small + frames(40))
write(N, "stream_f32_evicts", config(stream=True, capacity=6, pushes=60) + small + frames(40))
write(N, "stream_f16", config(stream=True, f16=True, capacity=12) + small + frames(40))
# Issue 18 item 7: a NaN first frame in stream mode (the global slot 0), then finite ones.
write(N, "stream_nan_first", config(stream=True, capacity=8, pushes=30) + small + frames(60, special=True))
write(N, "ring_nan_inf", config(window=4, pushes=30, every=2) + small + frames(60, special=True))
write(N, "stream_reset", config(stream=True, capacity=8, pushes=30, every=3, reset_at=10) + small + frames(40))
write(N, "bad_dims", config(bad_dim=True, bad_classes=True) + small)
write(N, "bad_mode_dtype", config(bad_mode=True, bad_dtype=True) + small)
write(N, "window_zero", config(window=0) + small)
write(N, "capacity_one", config(stream=True, capacity=1) + small)
write(N, "truncated_blob", config() + small[:-9])
write(N, "f16_blob", config(stream=True) + blob(2, 1, 1, 2, 2, 2, f16=True) + frames(10))
print("seeds written to", J, "and", N)
