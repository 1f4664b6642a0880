#!/usr/bin/env python3
"""Test of tools/stability_csi_har_to_jsonl.py (needs numpy; not in ctest:
the README's install command installs no Python package; .ci/dataset.sh runs
it).

usage: python3 tests/dataset/converter_test.py [CONVERTER]

Writes small .npy files the way the public repository lays them out
(eXX_DIR-x.npy amplitudes, eXX_DIR-y.npy pickled object arrays of labels)
into a temporary folder, runs the converter with this interpreter and
compares every output file with text written out here by hand: records,
timestamps (origin + i/100), rounding, meta, label runs and their edges,
the session CSV; then the layouts and label forms it accepts and the inputs
it refuses (exit 1, naming the file). Exit 0 passed, 1 failed.
"""

import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
CONVERTER = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "tools", "stability_csi_har_to_jsonl.py")
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL: " + what, file=sys.stderr)


def run(*args):
    p = subprocess.run([sys.executable, CONVERTER, *args], capture_output=True, text=True)
    return p.returncode, p.stderr


def read(path):
    with open(path, encoding="utf-8", newline="") as f:
        return f.read()


def save_labels(path, labels):
    np.save(path, np.array(labels, dtype=object), allow_pickle=True)


def expect_file(path, want):
    if not os.path.exists(path):
        check(False, f"{os.path.basename(path)} was not written")
        return
    got = read(path)
    check(got == want, f"{os.path.basename(path)}:\n--- got ---\n{got}\n--- want ---\n{want}")


def main():
    with tempfile.TemporaryDirectory(prefix="converter_test.") as tmp:
        # --- session D2: two runs, 3 subcarriers (narrow, to write the text by hand) ---
        d2 = os.path.join(tmp, "D2")
        os.makedirs(d2)
        # e01_rx_tx: 4 frames, float64, lower-case str labels (two runs of labels).
        np.save(os.path.join(d2, "e01_rx_tx-x.npy"),
                np.array([[1.23456, 30.0, 0.00004],
                          [2.5, 2.00006, 17.0],
                          [100.0, 0.1, 3.14159265],
                          [7.77777, 8.0, 9.99999]], dtype=np.float64))
        save_labels(os.path.join(d2, "e01_rx_tx-y.npy"), ["seated_rx", "seated_rx", "walking_tx", "walking_tx"])
        # e01_tx_rx: 3 frames, float32, (frames, 1) bytes labels, three runs.
        np.save(os.path.join(d2, "e01_tx_rx-x.npy"), np.array([[0.5, 0.25, 1.0]] * 3, dtype=np.float32))
        np.save(os.path.join(d2, "e01_tx_rx-y.npy"),
                np.array([[b"SEATED_TX"], [b"STANDING_UP_TX"], [b"SEATED_TX"]], dtype=object), allow_pickle=True)
        # Files the converter must ignore.
        with open(os.path.join(d2, "README.md"), "w") as f:
            f.write("not data\n")
        np.save(os.path.join(d2, "e01_rx_tx-x.extra.npy"), np.zeros((2, 3)))

        out = os.path.join(tmp, "out")
        rc, err = run("--in", d2, "--out", out, "--subcarriers", "3")
        check(rc == 0, f"D2 conversion exit {rc}: {err}")
        check("D2_e01_rx_tx: 4 frames, 2 label runs" in err, f"progress on stderr: {err!r}")
        check(sorted(os.listdir(out)) == sorted([
            "D2.labels.csv",
            "D2_e01_rx_tx.csi.jsonl", "D2_e01_rx_tx.csi.meta.json", "D2_e01_rx_tx.labels.csv",
            "D2_e01_tx_rx.csi.jsonl", "D2_e01_tx_rx.csi.meta.json", "D2_e01_tx_rx.labels.csv"]),
            f"output files: {sorted(os.listdir(out)) if os.path.isdir(out) else 'none'}")

        # origin = 1700000000 + (2-1)*100000 + 1*1000 (+100 for tx_rx)
        expect_file(os.path.join(out, "D2_e01_rx_tx.csi.jsonl"),
                    '{"timestamp": 1700101000.0, "subcarriers": [1.2346, 30.0, 0.0], "rssi": 0}\n'
                    '{"timestamp": 1700101000.01, "subcarriers": [2.5, 2.0001, 17.0], "rssi": 0}\n'
                    '{"timestamp": 1700101000.02, "subcarriers": [100.0, 0.1, 3.1416], "rssi": 0}\n'
                    '{"timestamp": 1700101000.03, "subcarriers": [7.7778, 8.0, 10.0], "rssi": 0}\n')
        expect_file(os.path.join(out, "D2_e01_rx_tx.csi.meta.json"),
                    '{"id": "D2_e01_rx_tx", "label": "activity", "frame_count": 4}')
        rx_tx_csv = ("1700100999.995,1700101000.015,SEATED_RX\n"
                     "1700101000.015,1700101000.035,WALKING_TX\n")
        expect_file(os.path.join(out, "D2_e01_rx_tx.labels.csv"), rx_tx_csv)
        expect_file(os.path.join(out, "D2_e01_tx_rx.csi.jsonl"),
                    '{"timestamp": 1700101100.0, "subcarriers": [0.5, 0.25, 1.0], "rssi": 0}\n'
                    '{"timestamp": 1700101100.01, "subcarriers": [0.5, 0.25, 1.0], "rssi": 0}\n'
                    '{"timestamp": 1700101100.02, "subcarriers": [0.5, 0.25, 1.0], "rssi": 0}\n')
        expect_file(os.path.join(out, "D2_e01_tx_rx.csi.meta.json"),
                    '{"id": "D2_e01_tx_rx", "label": "activity", "frame_count": 3}')
        tx_rx_csv = ("1700101099.995,1700101100.005,SEATED_TX\n"
                     "1700101100.005,1700101100.015,STANDING_UP_TX\n"
                     "1700101100.015,1700101100.025,SEATED_TX\n")
        expect_file(os.path.join(out, "D2_e01_tx_rx.labels.csv"), tx_rx_csv)
        expect_file(os.path.join(out, "D2.labels.csv"), rx_tx_csv + tx_rx_csv)

        # --- the default 56 subcarriers, run e10 of D1, 250 frames: every record ---
        d1 = os.path.join(tmp, "D1")
        os.makedirs(d1)
        frames = 250
        rng = np.random.default_rng(7)
        amps = rng.uniform(0, 60, size=(frames, 56))
        labels = ["seated_rx"] * 120 + ["standing_up_rx"] * 80 + ["walking_tx"] * 50
        np.save(os.path.join(d1, "e10_rx_tx-x.npy"), amps)
        save_labels(os.path.join(d1, "e10_rx_tx-y.npy"), labels)
        rc, err = run("--in", d1, "--out", out)
        check(rc == 0, f"D1 conversion exit {rc}: {err}")
        lines = read(os.path.join(out, "D1_e10_rx_tx.csi.jsonl")).split("\n")
        check(len(lines) == frames + 1 and lines[-1] == "", f"D1_e10_rx_tx: {len(lines) - 1} lines, expected {frames}")
        origin = 1700010000  # 1700000000 + 0 + 10*1000
        for i, line in enumerate(lines[:-1]):
            r = json.loads(line)
            check(list(r) == ["timestamp", "subcarriers", "rssi"] and r["rssi"] == 0, f"frame {i}: keys {list(r)}")
            check(line.startswith('{"timestamp": %s, ' % repr(origin + i / 100)), f"frame {i} timestamp: {line[:40]}")
            check(r["timestamp"] == round(origin + i * 0.01, 2), f"frame {i}: timestamp {r['timestamp']}")
            check(len(r["subcarriers"]) == 56, f"frame {i}: {len(r['subcarriers'])} subcarriers")
            want = [round(float(v), 4) for v in amps[i]]
            check(r["subcarriers"] == want, f"frame {i}: amplitudes {r['subcarriers'][:3]}..., want {want[:3]}...")
            if failures:
                break
        check(lines[249].startswith('{"timestamp": 1700010002.49, '), f"last frame: {lines[249][:40]}")
        d1_csv = ("1700009999.995,1700010001.195,SEATED_RX\n"
                  "1700010001.195,1700010001.995,STANDING_UP_RX\n"
                  "1700010001.995,1700010002.495,WALKING_TX\n")
        expect_file(os.path.join(out, "D1_e10_rx_tx.labels.csv"), d1_csv)
        expect_file(os.path.join(out, "D1.labels.csv"), d1_csv)
        expect_file(os.path.join(out, "D1_e10_rx_tx.csi.meta.json"),
                    '{"id": "D1_e10_rx_tx", "label": "activity", "frame_count": 250}')

        # --- --session, --layout subcarriers-first, --label-case as-is ---
        d3 = os.path.join(tmp, "anything")
        os.makedirs(d3)
        np.save(os.path.join(d3, "e02_tx_rx-x.npy"), np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]))  # 3 subcarriers, 2 frames
        save_labels(os.path.join(d3, "e02_tx_rx-y.npy"), ["turn_rx", "Turn_RX"])
        rc, err = run("--in", d3, "--out", out, "--session", "D4", "--subcarriers", "3",
                      "--layout", "subcarriers-first", "--label-case", "as-is")
        check(rc == 0, f"D4 conversion exit {rc}: {err}")
        expect_file(os.path.join(out, "D4_e02_tx_rx.csi.jsonl"),  # 1700000000 + 300000 + 2000 + 100
                    '{"timestamp": 1700302100.0, "subcarriers": [1.0, 3.0, 5.0], "rssi": 0}\n'
                    '{"timestamp": 1700302100.01, "subcarriers": [2.0, 4.0, 6.0], "rssi": 0}\n')
        expect_file(os.path.join(out, "D4.labels.csv"),
                    "1700302099.995,1700302100.005,turn_rx\n1700302100.005,1700302100.015,Turn_RX\n")

        # --- inputs it refuses: exit 1, naming the file and the problem ---
        def refused(name, x, y, want, *extra, y_raw=False):
            d = os.path.join(tmp, "bad", name, "D1")
            os.makedirs(d)
            np.save(os.path.join(d, "e01_rx_tx-x.npy"), x)
            if y is not None:
                if y_raw:
                    np.save(os.path.join(d, "e01_rx_tx-y.npy"), y, allow_pickle=True)
                else:
                    save_labels(os.path.join(d, "e01_rx_tx-y.npy"), y)
            rc, err = run("--in", d, "--out", os.path.join(tmp, "bad", name, "out"), *extra)
            check(rc == 1, f"{name}: exit {rc}, expected 1 ({err.strip()})")
            check(want in err and "e01_rx_tx-" in err, f"{name}: stderr {err.strip()!r} lacks {want!r}")

        refused("wide", np.zeros((4, 64)), ["a"] * 4, "64 subcarriers per frame, expected 56")
        refused("transposed", np.zeros((56, 9)), ["a"] * 9, "try --layout subcarriers-first")
        refused("three_d", np.zeros((4, 56, 2)), ["a"] * 4, "expected a 2-D real array")
        refused("complex", np.zeros((4, 56), dtype=np.complex64), ["a"] * 4, "expected a 2-D real array")
        refused("nan", np.full((4, 56), np.nan), ["a"] * 4, "NaN or infinity")
        refused("short_labels", np.zeros((4, 56)), ["a"] * 3, "3 labels for 4 frames")
        refused("int_labels", np.zeros((2, 56)), np.array([1, 2]), "expected a class name", y_raw=True)
        refused("comma_label", np.zeros((2, 56)), ["a,b", "a"], "holds a comma")
        refused("empty_label", np.zeros((2, 56)), ["", "a"], "is empty")
        refused("labels_2d", np.zeros((2, 56)), np.array([["a", "b"], ["c", "d"]], dtype=object), "labels of shape (2, 2)",
                y_raw=True)
        refused("no_labels", np.zeros((2, 56)), None, "missing")

        empty = os.path.join(tmp, "empty", "D1")
        os.makedirs(empty)
        rc, err = run("--in", empty, "--out", os.path.join(tmp, "empty", "out"))
        check(rc == 1 and "no eXX_" in err, f"empty folder: exit {rc}, {err.strip()!r}")
        rc, err = run("--in", os.path.join(tmp, "missing", "D1"), "--out", os.path.join(tmp, "o"))
        check(rc == 2, f"missing folder: exit {rc}, expected 2 ({err.strip()})")
        rc, err = run("--in", d2, "--out", os.path.join(tmp, "o"), "--session", "X7")
        check(rc == 2 and "expected D1..D9" in err, f"bad session: exit {rc}, {err.strip()!r}")
        rc, err = run("--in", d2)
        check(rc == 2 and "--out" in err, f"no --out: exit {rc}, {err.strip()!r}")

    if failures:
        print(f"converter_test: {len(failures)} check(s) failed", file=sys.stderr)
        return 1
    print("converter_test: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
