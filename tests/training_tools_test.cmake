# End-to-end test of the training tools (tools/train_blob, eval_blob,
# csi_replay, csi_simulate), run by CTest:
#   cmake -DBIN=<dir of the tools> -DWORK_DIR=<scratch> -DDATA=<tests/data> [-DOPENMP=ON] -P training_tools_test.cmake
# On small simulated recordings generated here (nothing committed):
# train -> eval -> replay; eval_blob and csi_replay score the same windows
# with the same numbers; same seed twice -> byte-identical blob and sidecar;
# 1 and 2 OpenMP threads -> identical blob (OPENMP builds); cross-session:
# train on session A (2 classes), evaluate on session B (3 classes in
# another order) -> eval uses the sidecar's classes and counts the unknown
# ones, and its confusion matrix agrees with per_class; exit statuses 1
# and 2. The real ESP32 recording of tests/data (RuView, MIT) runs end to end
# for motion and order (one epoch: the numbers are docs/training.md's).

foreach(var BIN WORK_DIR DATA)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "training_tools_test.cmake: -D${var}=... is required")
  endif()
endforeach()
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
set(W "${WORK_DIR}")

include("${CMAKE_CURRENT_LIST_DIR}/tool_test_helpers.cmake")  # run, expect_match, expect_same_file, expect_windows_replayed

set(SIM "${BIN}/csi_simulate")
set(TRAIN "${BIN}/train_blob")
set(EVAL "${BIN}/eval_blob")
set(REPLAY "${BIN}/csi_replay")
# A small model keeps the suite fast (ASan builds run it too).
set(SMALL --window 16 --stride 8 --epochs 3 --head-dim 8 --layers 1 --quiet)

# --- two sessions of one simulated room setting ---
run(0 out "${SIM}" --out simA --seed 1 --segments 3 --seconds 4 --classes 0,3)
run(0 out "${SIM}" --out simB --seed 2 --segments 2 --seconds 4 --classes 3,1,0 --start 1800001000)

# --- train on A (labels CSV) ---
run(0 out "${TRAIN}" --data simA.csi.jsonl --task labels=simA.labels.csv ${SMALL} --seed 5 --out a.rvne --json
    --export-f16 a16.rvne)
string(JSON classes GET "${out}" classes)
expect_match("${classes}" "^\\[ *\"rate_0.25Hz\", *\"rate_2Hz\" *\\]$" "train classes")
foreach(key accuracy majority_baseline accuracy_ci95 per_class verdict)
  string(JSON v ERROR_VARIABLE e GET "${out}" test ${key})
  if(e)
    message(FATAL_ERROR "train_blob --json: test.${key} missing: ${e}")
  endif()
endforeach()
file(READ "${W}/a.rvne.json" sidecar)
foreach(key window stride classes training)  # a v2 sidecar: the blob carries attention, pool, features
  string(JSON v ERROR_VARIABLE e GET "${sidecar}" ${key})
  if(e)
    message(FATAL_ERROR "sidecar key ${key} missing: ${e}")
  endif()
endforeach()

# --- determinism: same seed twice; 1 and 2 OpenMP threads ---
run(0 out "${TRAIN}" --data simA.csi.jsonl --task labels=simA.labels.csv ${SMALL} --seed 5 --out a2.rvne)
expect_same_file("${W}/a.rvne" "${W}/a2.rvne" "same seed, blob")
expect_same_file("${W}/a.rvne.json" "${W}/a2.rvne.json" "same seed, sidecar")
run(0 out "${TRAIN}" --data simA.csi.jsonl --task labels=simA.labels.csv ${SMALL} --seed 6 --out a3.rvne)
file(SHA256 "${W}/a.rvne" h5)
file(SHA256 "${W}/a3.rvne" h6)
if(h5 STREQUAL h6)
  message(FATAL_ERROR "seeds 5 and 6 wrote the same blob: the seed is not used")
endif()
if(OPENMP)
  run(0 out "${TRAIN}" --data simA.csi.jsonl --task labels=simA.labels.csv ${SMALL} --seed 5 --out t1.rvne --threads 1)
  run(0 out "${TRAIN}" --data simA.csi.jsonl --task labels=simA.labels.csv ${SMALL} --seed 5 --out t2.rvne --threads 2)
  expect_same_file("${W}/t1.rvne" "${W}/t2.rvne" "1 vs 2 OpenMP threads")
  expect_same_file("${W}/t1.rvne" "${W}/a.rvne" "2 threads vs the default")
endif()

# --- cross-session: evaluate on B (its labels: 2 Hz, 0.5 Hz, 0.25 Hz) ---
run(0 out "${EVAL}" --model a.rvne --data simB.csi.jsonl --task labels=simB.labels.csv --json --windows ev.txt)
string(JSON classes GET "${out}" classes)
expect_match("${classes}" "^\\[ *\"rate_0.25Hz\", *\"rate_2Hz\" *\\]$" "eval classes (the sidecar's)")
string(JSON k0 MEMBER "${out}" per_class 0)
string(JSON k1 MEMBER "${out}" per_class 1)
string(JSON i4 GET "${out}" per_class rate_2Hz index)
if(NOT k0 STREQUAL "rate_0.25Hz" OR NOT k1 STREQUAL "rate_2Hz" OR NOT i4 EQUAL 1)
  message(FATAL_ERROR "eval per_class is not the sidecar's classes in order: ${k0}, ${k1}, rate_2Hz index ${i4}")
endif()
string(JSON unknown GET "${out}" skipped_unknown_label)
string(JSON n GET "${out}" windows)
if(NOT unknown GREATER 0 OR NOT n GREATER 0)
  message(FATAL_ERROR "eval on B: ${unknown} windows of the unknown class skipped, ${n} scored; expected both > 0")
endif()
foreach(key accuracy majority_baseline accuracy_ci95 verdict)
  string(JSON v GET "${out}" ${key})
endforeach()
# The confusion matrix: rows true, columns predicted, in the order of classes;
# its rows, columns and diagonal are per_class's windows, predicted, correct.
string(JSON nrows LENGTH "${out}" confusion)
if(NOT nrows EQUAL 2)
  message(FATAL_ERROR "eval confusion has ${nrows} rows, expected 2 (the sidecar's classes)")
endif()
set(total 0)
foreach(t 0 1)
  string(JSON ncols LENGTH "${out}" confusion ${t})
  if(NOT ncols EQUAL 2)
    message(FATAL_ERROR "eval confusion row ${t} has ${ncols} columns, expected 2")
  endif()
  string(JSON tname MEMBER "${out}" per_class ${t})
  string(JSON want_rows GET "${out}" per_class ${tname} windows)
  string(JSON want_cols GET "${out}" per_class ${tname} predicted)
  string(JSON want_diag GET "${out}" per_class ${tname} correct)
  set(row 0)
  set(col 0)
  foreach(p 0 1)
    string(JSON v GET "${out}" confusion ${t} ${p})
    string(JSON vt GET "${out}" confusion ${p} ${t})
    math(EXPR row "${row} + ${v}")
    math(EXPR col "${col} + ${vt}")
  endforeach()
  string(JSON diag GET "${out}" confusion ${t} ${t})
  if(NOT row EQUAL want_rows OR NOT col EQUAL want_cols OR NOT diag EQUAL want_diag)
    message(FATAL_ERROR "eval confusion, class ${tname}: row sum ${row}, column sum ${col}, diagonal ${diag}; "
                        "per_class says windows ${want_rows}, predicted ${want_cols}, correct ${want_diag}")
  endif()
  math(EXPR total "${total} + ${row}")
endforeach()
if(NOT total EQUAL n)
  message(FATAL_ERROR "eval confusion counts ${total} windows, ${n} were scored")
endif()
string(JSON all_windows GET "${out}" dataset windows)
run(0 out "${EVAL}" --model a16.rvne --data simB.csi.jsonl --task labels=simB.labels.csv)
expect_match("${out}" "accuracy [0-9.]+ \\[95% " "fp16 export evaluates")

# --- replay B: the same windows and numbers as eval_blob ---
run(0 out "${REPLAY}" --model a.rvne --data simB.csi.jsonl --windows rp.txt --json)
string(JSON replayed GET "${out}" speed windows)
string(JSON fps GET "${out}" speed frames_per_s)
if(NOT replayed EQUAL all_windows)
  message(FATAL_ERROR "csi_replay classified ${replayed} windows, eval_blob made ${all_windows}")
endif()
expect_windows_replayed(ev.txt rp.txt "labels model" n_ev)
if(NOT n_ev EQUAL n)
  message(FATAL_ERROR "eval_blob --windows wrote ${n_ev} lines for ${n} scored windows")
endif()
message(STATUS "eval_blob's ${n_ev} windows are in csi_replay's ${replayed}, digit for digit")

# --- order task, pool last, streamed replay ---
run(0 out "${TRAIN}" --data simA.csi.jsonl --task order ${SMALL} --pool last --seed 3 --out o.rvne --json)
string(JSON classes GET "${out}" classes)
expect_match("${classes}" "^\\[ *\"permuted\", *\"recorded\" *\\]$" "order classes")
run(0 out "${EVAL}" --model o.rvne --data simB.csi.jsonl --task order --json)
string(JSON n GET "${out}" windows)
string(JSON base GET "${out}" majority_baseline)
if(NOT n GREATER 0 OR NOT base STREQUAL "0.5")
  message(FATAL_ERROR "order eval: ${n} windows, majority baseline ${base} (expected > 0 and exactly 0.5)")
endif()
run(0 out "${REPLAY}" --model o.rvne --data simB.csi.jsonl --stream)
expect_match("${out}" "frames/s, [0-9.]+x real time" "streamed replay speed")
expect_match("${out}" "stream vs windowed forward: argmax agrees on [0-9]+ of [0-9]+" "stream comparison")

# --- v2 (the default): the blob carries featuriser, pool and attention; the sidecar does not ---
run(0 out "${BIN}/rvne" info a.rvne --json)
string(JSON ver GET "${out}" version)
string(JSON fk GET "${out}" descriptor featuriser kind)
string(JSON fs GET "${out}" descriptor featuriser standardised)
string(JSON dpool GET "${out}" descriptor pool)
if(NOT ver EQUAL 2 OR NOT fk STREQUAL "csi-amplitude" OR NOT fs STREQUAL "ON" OR NOT dpool STREQUAL "mean")
  message(FATAL_ERROR "train_blob (default --arch v2): blob version ${ver}, featuriser ${fk} standardised ${fs}, "
                      "pool ${dpool}; expected 2, csi-amplitude, ON, mean")
endif()
file(READ "${W}/a.rvne.json" sidecar_a)
foreach(key attention pool features gate)
  string(JSON v ERROR_VARIABLE missing GET "${sidecar_a}" ${key})
  if(NOT missing)
    message(FATAL_ERROR "v2 sidecar of a.rvne has '${key}' (the blob carries it)")
  endif()
endforeach()
run(2 out "${TRAIN}" --data simA.csi.jsonl --task order --out m.rvne --arch v3)
expect_match("${out}" "--arch: expected v1 or v2, found v3" "bad --arch")

# --- v1: constant feature and attention options travel in the sidecar ---
run(0 out "${TRAIN}" --data simA.csi.jsonl --task order ${SMALL} --arch v1 --constant-feature --attn-window 2
    --block-size 8 --seed 3 --out c.rvne)
run(0 out "${BIN}/rvne" info c.rvne --json)
string(JSON in_dim GET "${out}" input_dim)
if(NOT in_dim EQUAL 17)
  message(FATAL_ERROR "--constant-feature: blob input_dim ${in_dim}, expected 16 measured + 1")
endif()
file(READ "${W}/c.rvne.json" sidecar)
string(JSON fv GET "${sidecar}" features version)
string(JSON fc ERROR_VARIABLE fc_missing GET "${sidecar}" features constants constant_feature)
string(JSON aw GET "${sidecar}" attention window)
string(JSON ab GET "${sidecar}" attention block_size)
if(NOT fv EQUAL 2 OR NOT fc STREQUAL "ON" OR NOT aw EQUAL 2 OR NOT ab EQUAL 8)
  message(FATAL_ERROR "sidecar of c.rvne: features version ${fv}, constant_feature ${fc}, attention window ${aw}, "
                      "block ${ab}; expected 2, ON, 2, 8")
endif()
run(0 out "${EVAL}" --model c.rvne --data simB.csi.jsonl --task order --windows evc.txt)
run(0 out "${REPLAY}" --model c.rvne --data simB.csi.jsonl --windows rpc.txt)
expect_windows_replayed(evc.txt rpc.txt "constant-feature model" n_evc)
if(NOT n_evc GREATER 0)
  message(FATAL_ERROR "constant-feature model: eval_blob --windows wrote no line")
endif()
run(2 out "${TRAIN}" --data simA.csi.jsonl --task order --out m.rvne --block-size 0)
expect_match("${out}" "--block-size" "bad block size named")

# --- exit statuses: 1 invalid model or data, 2 usage or I/O ---
file(WRITE "${W}/junk.rvne" "not a blob")
run(1 out "${EVAL}" --model junk.rvne --data simB.csi.jsonl --task order)
file(COPY_FILE "${W}/a.rvne" "${W}/swapped.rvne")
file(COPY_FILE "${W}/o.rvne.json" "${W}/swapped.rvne.json")
run(1 out "${REPLAY}" --model swapped.rvne --data simB.csi.jsonl)
expect_match("${out}" "blob_sha256" "a sidecar of another blob is refused")
file(COPY_FILE "${W}/c.rvne" "${W}/nosidecar.rvne")  # v1: its featuriser is in the sidecar (a v2 blob carries its own)
run(1 out "${EVAL}" --model nosidecar.rvne --data simB.csi.jsonl --task order)
run(1 out "${TRAIN}" --data simA.csi.jsonl --task meta ${SMALL} --out m.rvne)
expect_match("${out}" "one class" "meta task on a one-label recording")
run(1 out "${TRAIN}" --data simA.csi.jsonl --task motion ${SMALL} --out m.rvne)
expect_match("${out}" "no vitals" "motion task without vitals")
run(2 out "${TRAIN}" --data simA.csi.jsonl --task order --out m.rvne --bogus)
expect_match("${out}" "--bogus" "bad flag named")
run(2 out "${TRAIN}" --data simA.csi.jsonl --task sideways --out m.rvne)
expect_match("${out}" "--task" "bad task named")
run(2 out "${TRAIN}" --data missing.csi.jsonl --task order --out m.rvne)
expect_match("${out}" "missing.csi.jsonl" "missing data file named")
run(2 out "${EVAL}" --model missing.rvne --data simB.csi.jsonl --task order)
run(2 out "${EVAL}" --model a.rvne --data simB.csi.jsonl --task order --part middle)
run(2 out "${REPLAY}" --model a.rvne --data simB.csi.jsonl --stream)
expect_match("${out}" "pool last" "--stream on a pool-mean model")
run(2 out "${REPLAY}" --model a.rvne --data missing.csi.jsonl)
foreach(tool TRAIN EVAL REPLAY SIM)
  run(0 out "${${tool}}" --help)
  run(0 out "${${tool}}" --version)
endforeach()

# --- the real ESP32 recording end to end (motion and order; one epoch) ---
set(real "${DATA}/ruview-cfda8db/pretrain-1775182186.first72s.csi.jsonl")
if(NOT EXISTS "${real}")
  message(FATAL_ERROR "${real} is missing (tests/data/README.md)")
endif()
foreach(task motion order)
  run(0 out "${TRAIN}" --data "${real}" --task ${task} --window 32 --stride 16 --epochs 1 --quiet --out real_${task}.rvne --json)
  string(JSON n GET "${out}" test windows)
  if(NOT n GREATER 0)
    message(FATAL_ERROR "real recording, ${task}: no held-out window")
  endif()
  run(0 out "${EVAL}" --model real_${task}.rvne --data "${real}" --task ${task} --part test --json)
  string(JSON verdict GET "${out}" verdict)
  message(STATUS "real recording, ${task}: ${verdict}")
endforeach()

# --- a version 2 blob and its v2 sidecar (issue 19) ---
# Untrained weights (init_random_blob --arch v2: the v2 benchmark shape,
# whose featuriser takes the recording's 64-subcarrier frames); the sidecar
# keeps classes, window, stride and training only. The tools must run the
# blob's own featuriser (no `features` key), pool (last: --stream works
# without a `pool` key) and attention; a sidecar that contradicts the blob
# is refused naming the key.
if(DEFINED INIT)
  run(0 out "${INIT}" v2.rvne --arch v2 --seed 0x19)
  # v2_sidecar(<blob> <extra JSON members, each ending in ", ">): writes BLOB.json.
  function(v2_sidecar blob extra)
    file(SHA256 "${W}/${blob}" sha)
    file(WRITE "${W}/${blob}.json"
         "{\"format\": \"aether-sidecar/1\", \"blob_sha256\": \"${sha}\", ${extra}"
         "\"window\": 24, \"stride\": 12, \"training\": {\"note\": \"init_random_blob --arch v2, untrained\"}}\n")
  endfunction()
  # The order task's labels, sorted, plus two the data never has: 4 classes as the blob.
  set(v2_classes "\"classes\": [\"permuted\", \"recorded\", \"still\", \"walking\"], ")
  v2_sidecar(v2.rvne "${v2_classes}")
  run(0 out "${EVAL}" --model v2.rvne --data "${real}" --task order --json --windows ev2.txt)
  string(JSON classes GET "${out}" classes)
  expect_match("${classes}" "^\\[ *\"permuted\", *\"recorded\", *\"still\", *\"walking\" *\\]$" "v2 eval classes (the sidecar's)")
  string(JSON n GET "${out}" windows)
  string(JSON v2_windows GET "${out}" window)
  string(JSON all_windows GET "${out}" dataset windows)
  if(NOT n GREATER 0 OR NOT v2_windows EQUAL 24)
    message(FATAL_ERROR "v2 eval: ${n} windows of ${v2_windows} frames; expected > 0 of 24 (the sidecar's window)")
  endif()
  run(0 out "${REPLAY}" --model v2.rvne --data "${real}" --windows rp2.txt --json)
  string(JSON replayed GET "${out}" speed windows)
  if(NOT replayed EQUAL all_windows)
    message(FATAL_ERROR "v2: csi_replay classified ${replayed} windows, eval_blob made ${all_windows}")
  endif()
  expect_windows_replayed(ev2.txt rp2.txt "v2 model" n_ev2)
  if(NOT n_ev2 GREATER 0)
    message(FATAL_ERROR "v2 model: eval_blob --windows wrote no line")
  endif()
  message(STATUS "v2: eval_blob's ${n_ev2} windows are in csi_replay's ${replayed}, digit for digit")
  # pool last comes from the blob (the sidecar has no `pool`): --stream runs.
  run(0 out "${REPLAY}" --model v2.rvne --data "${real}" --stream)
  expect_match("${out}" "stream vs windowed forward: argmax agrees on [0-9]+ of ${replayed} " "v2 streamed replay")
  # fp16 blob, and no sidecar at all (the blob is self-describing; classes numbered, window 32).
  run(0 out "${BIN}/rvne" convert v2.rvne v2h.rvne --dtype f16)
  v2_sidecar(v2h.rvne "${v2_classes}")
  run(0 out "${EVAL}" --model v2h.rvne --data "${real}" --task order)
  expect_match("${out}" "accuracy [0-9.]+ \\[95% " "v2 fp16 blob evaluates")
  file(COPY_FILE "${W}/v2.rvne" "${W}/v2bare.rvne")
  run(0 out "${REPLAY}" --model v2bare.rvne --data "${real}" --json)
  string(JSON bare_window GET "${out}" window)
  string(JSON bare_class GET "${out}" classes 3)
  if(NOT bare_window EQUAL 32 OR NOT bare_class STREQUAL "3")
    message(FATAL_ERROR "v2 blob without a sidecar: window ${bare_window}, class 3 '${bare_class}'; expected 32, '3'")
  endif()
  # Contradictions: each key the blob carries, and a wrong class count.
  file(COPY_FILE "${W}/v2.rvne" "${W}/v2bad.rvne")
  set(contradictions
      "attention|\"attention\": {\"backend\": \"sparse\", \"window\": 32, \"block_size\": 16, \"global_tokens\": [0], \"causal\": true}, "
      "pool|\"pool\": \"last\", "
      "features|\"features\": {\"name\": \"csi-amplitude\", \"version\": 1, \"constants\": {\"input_dim\": 16}}, "
      "gate|\"gate\": {\"input_dim\": 32, \"hidden_dim\": 4, \"top_k\": 8}, "
      "classes|\"classes\": [\"a\", \"b\", \"c\"], ")
  foreach(case IN LISTS contradictions)
    string(FIND "${case}" "|" bar)
    string(SUBSTRING "${case}" 0 ${bar} key)
    math(EXPR from "${bar} + 1")
    string(SUBSTRING "${case}" ${from} -1 member)
    v2_sidecar(v2bad.rvne "${member}")
    run(1 out "${EVAL}" --model v2bad.rvne --data "${real}" --task order)
    expect_match("${out}" "v2bad.rvne.json: key '${key}'" "v2 sidecar with '${key}' refused by eval_blob, key named")
    run(1 out "${REPLAY}" --model v2bad.rvne --data "${real}")
    expect_match("${out}" "key '${key}'" "v2 sidecar with '${key}' refused by csi_replay, key named")
  endforeach()
else()
  message(WARNING "training_tools_test.cmake: no -DINIT (built without the examples): the version 2 checks did not run")
endif()
