#!/usr/bin/env python3
"""Writes the seed corpus of model_fuzz (tests/fuzz/corpus_model/*.bin).

Each seed is [.rvne blob][6 option bytes][frame values as fp16 bits], the
input layout documented at the top of model_fuzz.cpp. Deterministic: rerun
after changing that layout and commit the result.
usage: tests/fuzz/make_model_seeds.py [OUT_DIR]
"""
import os
import random
import struct
import sys
import zlib

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus_model")
rng = random.Random(13)


def elements(D, Hq, Hkv, d, L, C):
    return L * (2 * D * Hq * d + 2 * D * Hkv * d) + D * C


def blob(D, Hq, Hkv, d, L, C, f16=False, n=None):
    n = elements(D, Hq, Hkv, d, L, C) if n is None else n
    vals = [rng.uniform(-0.5, 0.5) for _ in range(n)]
    w = b"".join(struct.pack("<e" if f16 else "<f", v) for v in vals)
    head = struct.pack("<IHBBHHHHHHI", 0x52564E45, 1, 1 if f16 else 0, 0, D, Hq, Hkv, d, L, C, len(w))
    body = head + w
    return body + struct.pack("<I", zlib.crc32(body))


def options(dense=False, bidir=False, evict=0, last=False, window=8, block=4, globals_=1, frames=6, capacity=8):
    o0 = (1 if dense else 0) | (2 if bidir else 0) | (evict << 2) | (16 if last else 0)
    return bytes([o0, window, block, globals_, frames - 1, capacity])


def frames(n, special=False):
    vals = [rng.uniform(-2, 2) for _ in range(n)]
    raw = b"".join(struct.pack("<e", v) for v in vals)
    if special:  # +Inf, -Inf, NaN, max, subnormal at the front
        raw = bytes.fromhex("007c00fc007effff7b01000000") + raw
    return raw


seeds = {
    "small_sparse_causal": blob(4, 4, 1, 4, 2, 3) + options() + frames(24),
    "small_nan_inf_frames": blob(4, 4, 1, 4, 2, 3) + options(last=True) + frames(24, special=True),
    "q3_kv3_short_causal": blob(3, 3, 3, 2, 1, 2) + options(window=16, block=8, frames=6) + frames(18),
    "q8_kv2_short_causal": blob(2, 8, 2, 2, 1, 2) + options(window=16, block=8, frames=6) + frames(12),
    "mqa_f16_dense": blob(2, 2, 1, 3, 2, 2, f16=True) + options(dense=True, frames=5) + frames(10),
    "bidir_globals": blob(3, 2, 2, 2, 2, 4) + options(bidir=True, globals_=2, window=2, block=2) + frames(18),
    "sliding_window_evicts": blob(3, 2, 1, 2, 2, 2) + options(evict=1, capacity=5, window=2, block=2) + frames(18),
    "heavy_hitter_evicts": blob(3, 2, 1, 2, 1, 2) + options(evict=2, capacity=11, window=3, block=2) + frames(18),
    "over_the_cap_f16": blob(8, 2, 2, 8, 2, 2, f16=True) + options() + frames(8),
    "layout_mismatch": blob(16, 4, 1, 32, 2, 4, n=2) + options() + frames(8),
    "block_size_zero": blob(2, 1, 1, 2, 1, 2) + options(block=0) + frames(4),
    "capacity_zero": blob(2, 1, 1, 2, 1, 2) + options(capacity=0) + frames(4),
    "full_cache_refuses": blob(2, 2, 1, 2, 1, 2) + options(capacity=3, frames=6) + frames(12),
    # Header fields whose layout is about 2^61 elements (the load refuses it
    # as layout_mismatch) and every u16 field at its maximum (the layout
    # saturates at 2^64 - 1): the harness's own allocation bound must not
    # overflow on either (UBSan found the first in CI).
    "layout_2e61_elements": blob(0xFFFF, 0xFFFF, 1, 0xFFFF, 0x1000, 2, n=2) + options() + frames(8),
    "max_header_fields": blob(0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, n=2) + options() + frames(8),
}
os.makedirs(out, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(out, name + ".bin"), "wb") as f:
        f.write(data)
    print(f"{name}.bin {len(data)} bytes")
