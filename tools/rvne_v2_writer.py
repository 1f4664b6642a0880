#!/usr/bin/env python3
"""Write aether `.rvne` blobs (version 2, and version 1) with the standard library only.

The format is docs/rvne-format.md ("Version 2"); the tensor order is
`rvne::for_each_tensor` (include/aether/rvne/tensors.hpp), restated in
`tensors()` below. This writer does not validate the descriptor beyond what
it needs to lay the tensors out: the library is the validator (`rvne verify
FILE --model`, or `aether::rvne::try_parse`).

    python3 tools/rvne_v2_writer.py OUT.rvne [--seed HEX] [--f16] [--v1]

writes the `v2_benchmark_header()` shape (or, with --v1, the AETHER default
v1 shape) filled as `rvne::init_trainable(header, seed)` fills it; the bytes
equal the library's (docs/rvne-format.md says how that was checked).

As a module: `write_blob(path, header, weights)` with `header` a dict (see
`benchmark_header()`) and `weights` a dict from tensor key ("Wc", "b_in",
"0.Wq", "1.conv.taps", ...: the layer index and a dot for per-layer tensors)
to a flat row-major list of floats; `init_trainable(header, seed)` returns
such a dict.
"""

import math
import struct
import sys
import zlib

MAGIC = 0x52564E45
TENSOR_START = 0x80
ALIGN = 16

# Block bits (descriptor.hpp `Block`).
INPUT_PROJECTION, NORM, CONV, FFN, QKV_BIAS, OUT_BIAS, ROPE, CLASSIFIER_BIAS = (1 << i for i in range(8))
# Ids.
ACT = {"identity": 0, "relu": 1, "gelu": 2}
POOL = {"mean": 0, "last": 1}
BACKEND = {"dense": 0, "sparse": 1}
GATE = {"none": 0, "prune": 1, "salient": 2}
FEATURE_KIND = {"none": 0, "csi-amplitude": 1, "node-features": 2}
FEATURE_LOG, FEATURE_CENTRE, FEATURE_CONSTANT, FEATURE_STANDARDISED = 1, 2, 4, 8


def benchmark_header(f16=False):
    """`rvne::v2_benchmark_header()` as a dict (the keys this writer reads)."""
    return dict(
        version=2, f16=f16, input_dim=16, q_heads=4, kv_heads=1, head_dim=32, layers=2, classes=4,
        blocks=0xFF, d_model=32, ffn_dim=64, conv_kernel=5, conv_dilation=1,
        conv_activation="relu", ffn_activation="relu", pool="last", backend="sparse",
        norm_eps=1e-5, rope_base=10000.0, window=32, block_size=16, causal=1, gate="none",
        globals=[0], gate_top_k=0, gate_hidden=0,
        feature_kind="csi-amplitude", feature_version=1, feature_flags=FEATURE_LOG | FEATURE_CENTRE,
        subcarriers=64)


def v1_default_header(f16=False):
    """`Header::aether_default()` (version 1: no descriptor, every block off)."""
    return dict(version=1, f16=f16, input_dim=16, q_heads=4, kv_heads=1, head_dim=32, layers=2, classes=4)


def _gate_packed_size(i, h):
    return 2 * h * i + 2 * h * h + 2 * h + 2


def tensors(h):
    """[(key, name, rows, cols, offset_in_elements)] in `for_each_tensor` order."""
    v2 = h["version"] == 2
    blocks = h.get("blocks", 0) if v2 else 0
    es = 2 if h.get("f16") else 4
    align = ALIGN // es if v2 else 1
    D, C = h["input_dim"], h["classes"]
    d = h["d_model"] if blocks & INPUT_PROJECTION else D
    q, kv = h["q_heads"] * h["head_dim"], h["kv_heads"] * h["head_dim"]
    out, at = [], 0

    def emit(name, layer, rows, cols):
        nonlocal at
        at = (at + align - 1) // align * align
        out.append(((name if layer < 0 else "%d.%s" % (layer, name)), name, rows, cols, at))
        at += rows * cols

    if v2 and h.get("feature_flags", 0) & FEATURE_STANDARDISED:
        emit("features.offset", -1, 1, D)
        emit("features.scale", -1, 1, D)
    if blocks & INPUT_PROJECTION:
        emit("W_in", -1, D, d)
        emit("b_in", -1, 1, d)
    norm = bool(blocks & NORM)
    gated = v2 and h.get("gate", "none") != "none"
    for l in range(h["layers"]):
        if blocks & CONV:
            if norm:
                emit("conv.norm", l, 1, d)
            emit("conv.taps", l, h["conv_kernel"], d)
            emit("conv.bias", l, 1, d)
        if norm:
            emit("attn.norm", l, 1, d)
        emit("Wq", l, d, q)
        if blocks & QKV_BIAS:
            emit("bq", l, 1, q)
        emit("Wk", l, d, kv)
        if blocks & QKV_BIAS:
            emit("bk", l, 1, kv)
        emit("Wv", l, d, kv)
        if blocks & QKV_BIAS:
            emit("bv", l, 1, kv)
        emit("Wo", l, q, d)
        if blocks & OUT_BIAS:
            emit("bo", l, 1, d)
        if gated:
            emit("gate", l, 1, _gate_packed_size(h["head_dim"], h["gate_hidden"]))
        if blocks & FFN:
            if norm:
                emit("ffn.norm", l, 1, d)
            emit("W1", l, d, h["ffn_dim"])
            emit("b1", l, 1, h["ffn_dim"])
            emit("W2", l, h["ffn_dim"], d)
            emit("b2", l, 1, d)
    if norm:
        emit("final.norm", -1, 1, d)
    emit("Wc", -1, d, C)
    if blocks & CLASSIFIER_BIAS:
        emit("bc", -1, 1, C)
    return out, at


def _descriptor(h):
    """Bytes 0x18..0x80 of a version-2 blob."""
    g = list(h.get("globals", []))
    if len(g) > 8:
        raise ValueError("at most 8 global tokens")
    b = bytearray(TENSOR_START - 0x18)
    struct.pack_into("<HHI", b, 0x18 - 0x18, h.get("d_model", 0), h.get("ffn_dim", 0), h["blocks"])
    struct.pack_into("<HHBBBB", b, 0x20 - 0x18, h.get("conv_kernel", 0), h.get("conv_dilation", 0),
                     ACT[h.get("conv_activation", "identity")], ACT[h.get("ffn_activation", "identity")],
                     POOL[h.get("pool", "mean")], BACKEND[h.get("backend", "sparse")])
    struct.pack_into("<ff", b, 0x28 - 0x18, h.get("norm_eps", 0.0), h.get("rope_base", 0.0))
    struct.pack_into("<IIBBBB", b, 0x30 - 0x18, h["window"], h["block_size"], h["causal"],
                     GATE[h.get("gate", "none")], len(g), 0)
    struct.pack_into("<IHHHBBI", b, 0x3C - 0x18, h.get("gate_top_k", 0), h.get("gate_hidden", 0),
                     FEATURE_KIND[h.get("feature_kind", "none")], h.get("feature_version", 0),
                     h.get("feature_flags", 0), 0, h.get("subcarriers", 0))
    struct.pack_into("<8I", b, 0x4C - 0x18, *(g + [0] * (8 - len(g))))
    struct.pack_into("<H", b, 0x6C - 0x18, h.get("highpass", 0))
    return bytes(b)  # 0x6E..0x7F stay zero (reserved)


def _pack_element(f16, x):
    if not f16:
        return struct.pack("<f", x)
    try:
        return struct.pack("<e", x)  # round to nearest even, like the library
    except OverflowError:  # the library rounds |x| >= 65520 to infinity
        return struct.pack("<e", math.copysign(math.inf, x))


def blob_bytes(h, weights):
    """The complete blob for header dict `h` and `weights` {key: flat list}."""
    layout, elements = tensors(h)
    f16 = bool(h.get("f16"))
    es = 2 if f16 else 4
    section = bytearray(elements * es)  # padding stays zero
    for key, _, rows, cols, offset in layout:
        values = weights[key]
        if len(values) != rows * cols:
            raise ValueError("%s has %d values, expected %d x %d" % (key, len(values), rows, cols))
        section[offset * es:(offset + rows * cols) * es] = b"".join(_pack_element(f16, x) for x in values)
    head = struct.pack("<IHBB6HI", MAGIC, h["version"], 1 if f16 else 0, 0, h["input_dim"], h["q_heads"],
                       h["kv_heads"], h["head_dim"], h["layers"], h["classes"], len(section))
    if h["version"] == 2:
        head += _descriptor(h)
    body = head + bytes(section)
    return body + struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF)


def write_blob(path, h, weights):
    with open(path, "wb") as f:
        f.write(blob_bytes(h, weights))


def _f32(x):
    """x rounded to IEEE binary32 (a correctly rounded double op rounded again is
    the correctly rounded float op for + - * / sqrt)."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


class XorShift64Star:
    def __init__(self, seed):
        self.s = seed & 0xFFFFFFFFFFFFFFFF

    def next_u32(self):
        s = self.s
        s ^= (s << 13) & 0xFFFFFFFFFFFFFFFF
        s ^= s >> 7
        s ^= (s << 17) & 0xFFFFFFFFFFFFFFFF
        self.s = s
        return ((s * 2685821657736338717) & 0xFFFFFFFFFFFFFFFF) >> 32


def init_trainable(h, seed=0xC5110007DEADBEEF):
    """`rvne::init_trainable`: norms and standardisation scales 1, biases and
    offsets 0, every other tensor uniform (2u - 1) * sqrt(3 / fan_in) in
    float32, fan_in = rows (gate: head_dim), one draw per element in tensor
    order, row-major."""
    rng = XorShift64Star(seed)
    out = {}
    for key, name, rows, cols, _ in tensors(h)[0]:
        n = rows * cols
        if "norm" in name or name == "features.scale":
            out[key] = [1.0] * n
            continue
        if name[0] == "b" or name in ("conv.bias", "features.offset"):
            out[key] = [0.0] * n
            continue
        fan_in = h["head_dim"] if name == "gate" else rows
        a = _f32(math.sqrt(_f32(3.0 / _f32(max(fan_in, 1)))))
        vals = []
        for _ in range(n):
            unit = _f32(_f32(rng.next_u32()) / 4294967296.0)  # float(4294967295u) is 2^32
            vals.append(_f32(_f32(2.0 * unit - 1.0) * a))
        out[key] = vals
    return out


def main(argv):
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip().split("\n\n")[2])
        return 0 if argv else 2
    path, seed, f16, v1 = argv[0], 0xC5110007DEADBEEF, False, False
    i = 1
    while i < len(argv):
        if argv[i] == "--seed" and i + 1 < len(argv):
            seed = int(argv[i + 1], 16)
            i += 2
        elif argv[i] == "--f16":
            f16, i = True, i + 1
        elif argv[i] == "--v1":
            v1, i = True, i + 1
        else:
            print("unknown argument %s" % argv[i], file=sys.stderr)
            return 2
    h = v1_default_header(f16) if v1 else benchmark_header(f16)
    data = blob_bytes(h, init_trainable(h, seed))
    with open(path, "wb") as f:
        f.write(data)
    print("%s: %d bytes" % (path, len(data)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
