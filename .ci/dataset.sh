#!/usr/bin/env bash
# Real-dataset step: the public stability-csi-har ESP32 activity dataset
# (IPIN 2023, ODC-By 1.0; docs/training.md, "A real dataset"), trained and
# scored with the tools of BUILD_DIR under the published protocol.
#
# usage: .ci/dataset.sh BUILD_DIR DATASET_DIR   (relative paths: to the repo)
#   BUILD_DIR    a build with tools/train_blob and tools/eval_blob (CI: the
#                native-test build, build/native-test)
#   DATASET_DIR  the converted recordings (D1_eXX_DIR.csi.jsonl + .csi.meta.json,
#                D1.labels.csv, D2_*, D2.labels.csv), as
#                tools/stability_csi_har_to_jsonl.py writes them
# Environment: PYTHON (default python3).
#
#  1. installs python3-numpy when no interpreter here imports numpy (apt-get,
#     as the other .ci scripts install their packages);
#  2. runs the converter's test (tests/dataset/converter_test.py);
#  3. for each seed: train_blob on D1T (runs e01-e08, both directions) with
#     TRAIN_FLAGS, eval_blob --json on D1E (runs e09-e10) and on D2 (the
#     session recorded 10 minutes later);
#  4. prints a table (seed, D1E and D2 accuracy, their means), D2's
#     confusion matrix per seed, and each bar met or not; then the same
#     seeds trained as v1 (V1_FLAGS), a table only, for comparison.
# The bars are enforced (ENFORCE=1, since the v2 defaults meet them): a
# missed bar fails the step (exit 3). With ENFORCE=0 "below bar" is printed
# and the exit status stays 0. Exit status otherwise non-zero only when a
# tool, the converter test or an input is wrong.
# Models, logs and JSON go to a temporary folder, removed at the end
# (KEEP=1 keeps it and prints its path).
set -euo pipefail

# --- what is trained and the bars (accuracy, percent) ---
TRAIN_FLAGS="--window 50 --stride 25 --test-fraction 0"   # the v2 defaults (train::V2Defaults)
V1_FLAGS="--arch v1 --window 50 --stride 25 --test-fraction 0 --constant-feature"  # v1, reported beside (no bar)
SEEDS="1 2 3"
BAR_D1E_MEAN=95   # mean over the seeds of D1E accuracy
BAR_D2_MEAN=65    # mean over the seeds of D2 accuracy
BAR_D1E_MIN=92    # no seed below this on D1E
BAR_D2_MIN=60     # no seed below this on D2
ENFORCE=1         # 0: report "below bar" and exit 0; 1: exit 3 when a bar is missed (met since the high-pass featuriser)

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fail() { echo "dataset.sh: FAILED: $*" >&2; exit 1; }
[ $# -eq 2 ] || { echo "usage: .ci/dataset.sh BUILD_DIR DATASET_DIR" >&2; exit 2; }
build="$1"
data="$2"
case "$build" in /*) ;; *) build="$root/$build" ;; esac
case "$data" in /*) ;; *) data="$root/$data" ;; esac
train="$build/tools/train_blob"
eval="$build/tools/eval_blob"
for t in "$train" "$eval"; do
  [ -x "$t" ] || fail "$t is missing (build it: cmake --build $1 --target train_blob eval_blob)"
done
[ -d "$data" ] || fail "$data: no such folder"

shopt -s nullglob
d1t=("$data"/D1_e0[1-8]_*.csi.jsonl)
d1e=("$data"/D1_e09_*.csi.jsonl "$data"/D1_e10_*.csi.jsonl)
d2=("$data"/D2_*.csi.jsonl)
shopt -u nullglob
[ "${#d1t[@]}" -eq 16 ] || fail "$data: ${#d1t[@]} D1T recordings (D1_e01..e08), expected 16"
[ "${#d1e[@]}" -eq 4 ] || fail "$data: ${#d1e[@]} D1E recordings (D1_e09, e10), expected 4"
[ "${#d2[@]}" -eq 4 ] || fail "$data: ${#d2[@]} D2 recordings, expected 4"
for f in D1.labels.csv D2.labels.csv; do [ -f "$data/$f" ] || fail "$data/$f is missing"; done

# --- 1. numpy, only when missing ---
py="${PYTHON:-python3}"
if ! "$py" -c 'import numpy' >/dev/null 2>&1; then
  if ! /usr/bin/python3 -c 'import numpy' >/dev/null 2>&1; then
    echo "dataset.sh: installing python3-numpy"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-numpy >/dev/null
  fi
  py=/usr/bin/python3  # the interpreter Debian's python3-numpy installs into
  "$py" -c 'import numpy' || fail "$py cannot import numpy"
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/aether-dataset.XXXXXX")"
if [ "${KEEP:-0}" = 1 ]; then
  trap 'echo "dataset.sh: outputs kept in $tmp"' EXIT
else
  trap 'rm -rf "$tmp"' EXIT
fi

# --- 2. the converter's test ---
t0=$SECONDS
"$py" "$root/tests/dataset/converter_test.py" "$root/tools/stability_csi_har_to_jsonl.py"
echo "dataset.sh: converter test $((SECONDS - t0)) s"

# --- 3. train on D1T, score D1E and D2, per seed ---
# train_and_score DIR FLAGS: DIR/seedS.rvne, DIR/d1eS.json, DIR/d2S.json per seed.
train_and_score() {
  local dir="$1" seed
  # shellcheck disable=SC2206  # FLAGS is a list of flags
  local flags=($2)
  mkdir -p "$dir"
  for seed in $SEEDS; do
    t0=$SECONDS
    "$train" --data "${d1t[@]}" --task "labels=$data/D1.labels.csv" "${flags[@]}" --seed "$seed" \
      --out "$dir/seed$seed.rvne" --quiet --json >"$dir/train$seed.json" \
      || fail "train_blob $2, seed $seed (exit $?)"
    "$eval" --model "$dir/seed$seed.rvne" --data "${d1e[@]}" --task "labels=$data/D1.labels.csv" --json \
      >"$dir/d1e$seed.json" || fail "eval_blob on D1E, seed $seed (exit $?)"
    "$eval" --model "$dir/seed$seed.rvne" --data "${d2[@]}" --task "labels=$data/D2.labels.csv" --json \
      >"$dir/d2$seed.json" || fail "eval_blob on D2, seed $seed (exit $?)"
    echo "dataset.sh: $2, seed $seed trained and scored in $((SECONDS - t0)) s"
  done
}
train_and_score "$tmp" "$TRAIN_FLAGS"
train_and_score "$tmp/v1" "$V1_FLAGS"

# --- 4. table, D2 confusion, bars ---
set +e
"$py" - "$tmp" "$SEEDS" "$TRAIN_FLAGS" "$BAR_D1E_MEAN" "$BAR_D2_MEAN" "$BAR_D1E_MIN" "$BAR_D2_MIN" <<'EOF'
import json, sys
tmp, seeds, flags = sys.argv[1], sys.argv[2].split(), sys.argv[3]
bar_d1e_mean, bar_d2_mean, bar_d1e_min, bar_d2_min = map(float, sys.argv[4:8])

def load(name):
    with open(f"{tmp}/{name}") as f:
        return json.load(f)

rows = []
for s in seeds:
    d1e, d2 = load(f"d1e{s}.json"), load(f"d2{s}.json")
    rows.append((s, d1e, d2))
    for name, r in (("D1E", d1e), ("D2", d2)):
        if r.get("skipped_unknown_label"):
            print(f"seed {s}, {name}: {r['skipped_unknown_label']} windows of a class D1T lacks were skipped")

print(f"\nstability-csi-har, train D1T (runs e01-e08), flags: {flags}")
print(f"| seed | D1E acc | D1E windows | D2 acc | D2 windows |")
print(f"|------|---------|-------------|--------|------------|")
for s, d1e, d2 in rows:
    print(f"| {s:>4} | {100 * d1e['accuracy']:6.1f}% | {d1e['windows']:>11} | {100 * d2['accuracy']:5.1f}% | {d2['windows']:>10} |")
d1e_acc = [100 * r[1]["accuracy"] for r in rows]
d2_acc = [100 * r[2]["accuracy"] for r in rows]
mean = lambda v: sum(v) / len(v)
print(f"| mean | {mean(d1e_acc):6.1f}% | {'':>11} | {mean(d2_acc):5.1f}% | {'':>10} |")
print(f"majority baseline: D1E {100 * rows[0][1]['majority_baseline']:.1f}%, D2 {100 * rows[0][2]['majority_baseline']:.1f}%")

for s, _, d2 in rows:
    names = d2["classes"]
    m = d2.get("confusion")
    if m is None:
        print("eval_blob --json has no confusion matrix"); sys.exit(1)
    print(f"\nD2 confusion, seed {s} (rows: true class, columns: predicted, in the row order)")
    print(f"{'':>18} " + " ".join(f"{j:>4}" for j in range(len(names))) + "  recall")
    for i, (n, row) in enumerate(zip(names, m)):
        tot = sum(row)
        rec = f"{100 * row[i] / tot:5.1f}%" if tot else "    -"
        print(f"{i:>2} {n:<15} " + " ".join(f"{v:>4}" for v in row) + f"  {rec}")

print()
below = 0
for what, value, bar in (("D1E mean", mean(d1e_acc), bar_d1e_mean), ("D2 mean", mean(d2_acc), bar_d2_mean),
                         ("D1E lowest seed", min(d1e_acc), bar_d1e_min), ("D2 lowest seed", min(d2_acc), bar_d2_min)):
    ok = value >= bar
    below += not ok
    print(f"bar {what:<16} {value:5.1f}% >= {bar:g}%: {'met' if ok else 'below bar'}")
sys.exit(3 if below else 0)
EOF
rc=$?
set -e
case $rc in
  0) echo "dataset.sh: every bar met" ;;
  3) if [ "$ENFORCE" = 1 ]; then fail "below bar (ENFORCE=1)"; fi
     echo "dataset.sh: below bar (reporting only, ENFORCE=0)" ;;
  *) fail "the report could not be made (exit $rc)" ;;
esac

# v1 beside it (no bars): the same seeds, the reference's architecture.
"$py" - "$tmp/v1" "$SEEDS" "$V1_FLAGS" <<'EOF'
import json, sys
tmp, seeds, flags = sys.argv[1], sys.argv[2].split(), sys.argv[3]
acc = lambda n: 100 * json.load(open(f"{tmp}/{n}"))["accuracy"]
print(f"\nv1 for comparison, flags: {flags}")
print("| seed | D1E acc | D2 acc |\n|------|---------|--------|")
rows = [(s, acc(f"d1e{s}.json"), acc(f"d2{s}.json")) for s in seeds]
for s, a, b in rows:
    print(f"| {s:>4} | {a:6.1f}% | {b:5.1f}% |")
print(f"| mean | {sum(r[1] for r in rows) / len(rows):6.1f}% | {sum(r[2] for r in rows) / len(rows):5.1f}% |")
EOF
