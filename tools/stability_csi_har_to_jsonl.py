#!/usr/bin/env python3
"""stability_csi_har_to_jsonl.py: the public stability-csi-har dataset as
sensing-server recordings that train_blob and eval_blob read.

Source (ODC-By 1.0: credit it wherever its data or results are shown):
  Matey-Sanz, Torres-Sospedra, Moreira, "Temporal Stability on Human Activity
  Recognition based on Wi-Fi CSI", IPIN 2023, doi:10.1109/IPIN57070.2023.10332214;
  data: https://github.com/GeoTecINIT/stability-csi-har, commit 2b0dbdf,
  01_DATA/03_COLLECTED-DATASET/02_LABELLED/DN (N = 1..4).

usage:
  stability_csi_har_to_jsonl.py --in .../02_LABELLED/D1 --out OUT_DIR
                                [--session D1] [--layout frames-first|subcarriers-first]
                                [--subcarriers 56] [--label-case upper|as-is]

Input (the repository's README: "e{XX}_{rx_tx|tx_rx}-{x|y}.npy, x files
contain amplitudes (CSI data) and y files contain their associated labels";
the array layout below is this script's assumption, checked on every file):
  eXX_DIR-x.npy  amplitudes, 2-D float, one row per frame and one column per
                 subcarrier (--layout frames-first, the default: shape
                 (frames, 56)); --layout subcarriers-first reads (56, frames).
  eXX_DIR-y.npy  labels, one per frame: shape (frames,) or (frames, 1), a
                 pickled object array of str (bytes are decoded as UTF-8),
                 hence np.load(..., allow_pickle=True). Load only files you
                 trust: unpickling runs code.
Any other file name in the folder is ignored; a shape, dtype or label this
script does not understand is an error naming the file (exit 1).

Output, in OUT_DIR, for each run (files named DN_eXX_DIR.*):
  DN_eXX_DIR.csi.jsonl      one JSON record per frame, the sensing server's
                            amplitude form: {"timestamp": T, "subcarriers":
                            [56 amplitudes rounded to 4 decimals], "rssi": 0}.
                            The published files carry no timestamps; the
                            receiver ran at about 100 Hz, so frame i is
                            stamped origin + i/100, origin = 1700000000
                            + (N-1)*100000 + XX*1000 (+100 for tx_rx).
  DN_eXX_DIR.csi.meta.json  {"id": "DN_eXX_DIR", "label": "activity",
                            "frame_count": frames} (no final newline).
  DN_eXX_DIR.labels.csv     start,end,label per run of equal per-frame labels
                            (no header), edges half a frame (0.005 s) outside
                            the run's first and last frame, 3 decimals.
  DN.labels.csv             every run's labels CSV, in file-name order.
Labels are upper-cased (--label-case upper, the default: SEATED_RX, ...).
Progress goes to stderr. Exit 0 converted, 1 bad input, 2 usage or I/O error.
"""

import argparse
import json
import os
import re
import sys

NAME = re.compile(r"^e(\d{2})_(rx_tx|tx_rx)-x\.npy$")
BASE_TIME = 1700000000
RATE_HZ = 100


class BadInput(Exception):
    pass


def log(msg):
    print("stability_csi_har_to_jsonl: " + msg, file=sys.stderr, flush=True)


def origin_of(session_number, run, direction):
    return BASE_TIME + (session_number - 1) * 100000 + run * 1000 + (100 if direction == "tx_rx" else 0)


def load_amplitudes(np, path, layout, width):
    x = np.load(path, allow_pickle=True)
    if x.dtype == object:
        try:
            x = np.asarray(x.tolist(), dtype=np.float64)
        except (TypeError, ValueError) as e:
            raise BadInput(f"{path}: an object array that is not numbers ({e})")
    if x.ndim != 2 or not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
        raise BadInput(f"{path}: amplitudes of shape {x.shape} and dtype {x.dtype}; expected a 2-D real array "
                       f"({'(frames, %d)' % width if layout == 'frames-first' else '(%d, frames)' % width})")
    if layout == "subcarriers-first":
        x = x.T
    if x.shape[1] != width:
        hint = ""
        if x.shape[0] == width:
            other = "subcarriers-first" if layout == "frames-first" else "frames-first"
            hint = f" (it looks {other}: try --layout {other})"
        raise BadInput(f"{path}: amplitudes of shape {x.shape} read {layout}: {x.shape[1]} subcarriers per frame, "
                       f"expected {width} (--subcarriers){hint}")
    if x.shape[0] == 0:
        raise BadInput(f"{path}: no frames")
    x = x.astype(np.float64)
    if not np.all(np.isfinite(x)):
        raise BadInput(f"{path}: amplitudes contain NaN or infinity (first at frame {int(np.argwhere(~np.isfinite(x))[0][0])})")
    return x


def load_labels(np, path, frames, case):
    y = np.load(path, allow_pickle=True)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise BadInput(f"{path}: labels of shape {y.shape}; expected ({frames},) or ({frames}, 1)")
    if y.shape[0] != frames:
        raise BadInput(f"{path}: {y.shape[0]} labels for {frames} frames of amplitudes")
    out = []
    for i, v in enumerate(y.tolist()):
        if isinstance(v, bytes):
            v = v.decode("utf-8")
        if not isinstance(v, str):
            raise BadInput(f"{path}: label {i} is {type(v).__name__} {v!r}; expected a class name (str)")
        if case == "upper":
            v = v.upper()
        if not v or v != v.strip() or any(c in v for c in ',"\r\n'):
            raise BadInput(f"{path}: label {i} {v!r} is empty, padded, or holds a comma, quote or line break")
        out.append(v)
    return out


def label_runs(labels, origin):
    """[(start, end, label)]: runs of equal labels, edges half a frame outside."""
    runs = []
    first = 0
    for i in range(1, len(labels) + 1):
        if i == len(labels) or labels[i] != labels[first]:
            start = origin + first / RATE_HZ - 0.5 / RATE_HZ
            end = origin + (i - 1) / RATE_HZ + 0.5 / RATE_HZ
            runs.append("%.3f,%.3f,%s\n" % (start, end, labels[first]))
            first = i
    return runs


def write_text(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    os.replace(tmp, path)


def convert(args):
    try:
        import numpy as np
    except ImportError:
        log("needs numpy (Debian: apt-get install python3-numpy)")
        return 2
    src = args.input
    session = args.session or os.path.basename(os.path.normpath(src))
    m = re.fullmatch(r"D([1-9])", session)
    if not m:
        log(f"session {session!r}: expected D1..D9 (the folder's name, or --session)")
        return 2
    session_number = int(m.group(1))
    try:
        names = sorted(n for n in os.listdir(src) if NAME.match(n))
    except OSError as e:
        log(f"{src}: {e.strerror}")
        return 2
    if not names:
        log(f"{src}: no eXX_{{rx_tx|tx_rx}}-x.npy file")
        return 1
    os.makedirs(args.out, exist_ok=True)
    session_csv = []
    total = 0
    for n in names:
        run, direction = NAME.match(n).groups()
        run_id = f"{session}_e{run}_{direction}"
        x_path = os.path.join(src, n)
        y_path = os.path.join(src, n[: -len("-x.npy")] + "-y.npy")
        if not os.path.exists(y_path):
            raise BadInput(f"{y_path}: missing (the labels of {x_path})")
        x = load_amplitudes(np, x_path, args.layout, args.subcarriers)
        labels = load_labels(np, y_path, x.shape[0], args.label_case)
        origin = origin_of(session_number, int(run), direction)
        lines = []
        for i, row in enumerate(x.tolist()):
            record = {"timestamp": origin + i / RATE_HZ, "subcarriers": [round(v, 4) for v in row], "rssi": 0}
            lines.append(json.dumps(record) + "\n")
        runs = label_runs(labels, origin)
        base = os.path.join(args.out, run_id)
        write_text(base + ".csi.jsonl", "".join(lines))
        write_text(base + ".csi.meta.json", json.dumps({"id": run_id, "label": "activity", "frame_count": len(lines)}))
        write_text(base + ".labels.csv", "".join(runs))
        session_csv.extend(runs)
        total += len(lines)
        log(f"{run_id}: {len(lines)} frames, {len(runs)} label runs")
    write_text(os.path.join(args.out, session + ".labels.csv"), "".join(session_csv))
    log(f"{session}: {len(names)} runs, {total} frames, {len(session_csv)} label runs -> {args.out}")
    return 0


def main():
    p = argparse.ArgumentParser(
        description="Convert stability-csi-har's labelled .npy files (02_LABELLED/DN) into sensing-server "
        "recordings (.csi.jsonl, .csi.meta.json, .labels.csv) and a per-session labels CSV.",
        epilog="Exit status: 0 converted, 1 bad input, 2 usage or I/O error.")
    p.add_argument("--in", dest="input", required=True, help="the session's folder, e.g. .../02_LABELLED/D1")
    p.add_argument("--out", required=True, help="output folder (created if missing)")
    p.add_argument("--session", help="session name DN (default: the input folder's name)")
    p.add_argument("--layout", choices=["frames-first", "subcarriers-first"], default="frames-first",
                   help="amplitude array layout: (frames, subcarriers) or (subcarriers, frames) (default: %(default)s)")
    p.add_argument("--subcarriers", type=int, default=56, help="amplitudes per frame (default: %(default)s)")
    p.add_argument("--label-case", choices=["upper", "as-is"], default="upper",
                   help="upper-case the labels, or keep them (default: %(default)s)")
    args = p.parse_args()
    if args.subcarriers < 1:
        p.error("--subcarriers must be >= 1")
    try:
        return convert(args)
    except BadInput as e:
        log(str(e))
        return 1
    except OSError as e:
        log(f"{e.filename}: {e.strerror}" if e.filename else str(e))
        return 2
    except (ValueError, EOFError) as e:  # np.load on a file that is not .npy
        log(f"unreadable .npy: {e}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
