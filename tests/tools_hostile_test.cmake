# Hostile arguments and failing disks against the tools (issue 18: items 5,
# 8, 9 and 10), run by CTest:
#   cmake -DBIN=<dir of the tools> [-DEXAMPLES=<dir of the examples>] -DWORK_DIR=<scratch> -P tools_hostile_test.cmake
# - every numeric flag has a range: out of range, negative, overflowing or
#   non-finite values are usage errors (exit 2) naming the value, never an
#   abort (134), a bad_alloc, a hang, a silent truncation or NaN output;
# - eval_blob and csi_replay run a sidecar's gate: a missing gate file is an
#   I/O error (2), a wrong-size one invalid (1), a gated model is evaluated gated (and both tools
#   agree);
# - a failed write (a file size limit standing in for a full disk, a missing
#   folder) leaves no half-written file and an existing one as it was.
# Small simulated data; a one-epoch tiny model; about 10 s in a release build.

foreach(var BIN WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "tools_hostile_test.cmake: -D${var}=... is required")
  endif()
endforeach()
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
set(W "${WORK_DIR}")
set(RUN_TIMEOUT 60)  # the old csi_simulate --seconds 1e300 ran until the disk was full
include("${CMAKE_CURRENT_LIST_DIR}/tool_test_helpers.cmake")

set(SIM "${BIN}/csi_simulate")
set(TRAIN "${BIN}/train_blob")
set(EVAL "${BIN}/eval_blob")
set(REPLAY "${BIN}/csi_replay")
set(U64MAX 18446744073709551615)

# refused(<what> <value regex> <program> <args...>): exit 2 naming the value.
function(refused what value)
  run(2 out ${ARGN})
  expect_match("${out}" "${value}" "${what}: the message names the value")
endfunction()

# --- item 5: csi_simulate's numbers ---
refused("--nodes 2^64-1 (was an uncaught length_error)" "--nodes: ${U64MAX} is outside \\[1, 1024\\]" "${SIM}" --out x --nodes ${U64MAX})
refused("--nodes 1e11 (was bad_alloc)" "100000000000 is outside" "${SIM}" --out x --nodes 100000000000)
refused("--segments 2^64-1 (was bad_alloc)" "--segments: ${U64MAX} is outside" "${SIM}" --out x --segments ${U64MAX})
refused("--seconds 1e300 (hung)" "--seconds: 1e300 is outside \\[0.001, 86400\\]" "${SIM}" --out x --seconds 1e300)
refused("--start nan (wrote nan timestamps)" "--start: 'nan' is not a finite number" "${SIM}" --out x --start nan)
refused("--start inf" "'inf' is not a finite number" "${SIM}" --out x --start inf)
refused("--nodes -1" "--nodes: -1 is outside" "${SIM}" --out x --nodes -1)
refused("--classes 7" "--classes: 7 is outside \\[0, 3\\]" "${SIM}" --out x --classes 0,7)
# Each flag in range, the product over the cap: invalid settings (1), no file.
run(1 out "${SIM}" --out big --segments 100000 --seconds 86400 --rate 10000)
expect_match("${out}" "raw_csi records asked for, at most 1e\\+07" "record cap")
if(EXISTS "${W}/big.csi.jsonl")
  message(FATAL_ERROR "csi_simulate over its record cap left big.csi.jsonl")
endif()

# --- a small recording and a tiny model for the rest ---
run(0 out "${SIM}" --out sim --seed 3 --segments 3 --seconds 4 --classes 0,3)
# A narrow attention window (2) so that the gate has tokens to prune.
set(SHAPE --epochs 1 --head-dim 8 --layers 1 --attn-window 2 --block-size 4 --quiet)
# A v1 model: its sidecar carries the attention options and the gate files below (a v2 blob carries its own).
run(0 out "${TRAIN}" --data sim.csi.jsonl --task labels=sim.labels.csv ${SHAPE} --arch v1 --window 16 --stride 8 --seed 1
    --out m.rvne)

# --- items 3 and 9, the tools' side: no silent truncation or wrap ---
set(TRAIN_ARGS "${TRAIN}" --data sim.csi.jsonl --task labels=sim.labels.csv ${SHAPE} --out t.rvne)
refused("train_blob --subcarriers 2^32+64 (was stored as 64)" "--subcarriers: 4294967360 is outside \\[0, 65535\\]" ${TRAIN_ARGS} --subcarriers 4294967360)
refused("train_blob --threads -5 (meant the default)" "--threads: -5 is outside \\[0, 1024\\]" ${TRAIN_ARGS} --threads -5)
refused("train_blob --stride 2^64-1 (read out of bounds)" "--stride: ${U64MAX} is outside" ${TRAIN_ARGS} --window 4 --stride ${U64MAX})
refused("train_blob --window 2^64" "--window: 18446744073709551616 is outside" ${TRAIN_ARGS} --window 18446744073709551616)
refused("train_blob --lr nan" "--lr: 'nan' is not a finite number" ${TRAIN_ARGS} --lr nan)
refused("train_blob --val-fraction nan (CLI::Range let NaN through)" "--val-fraction: 'nan' is not a finite number" ${TRAIN_ARGS} --val-fraction nan)
refused("train_blob --seed -1 (was 2^64-1)" "--seed: -1 is outside" ${TRAIN_ARGS} --seed -1)
set(EVAL_ARGS "${EVAL}" --model m.rvne --data sim.csi.jsonl --task labels=sim.labels.csv)
refused("eval_blob --stride 2^64-1" "--stride: ${U64MAX} is outside" ${EVAL_ARGS} --stride ${U64MAX})
refused("eval_blob --threads -5" "--threads: -5 is outside" ${EVAL_ARGS} --threads -5)
if(DEFINED EXAMPLES AND EXISTS "${EXAMPLES}/track_streams")
  refused("track_streams --tracks 2^20" "--tracks: 1048576 is outside \\[1, 65536\\]" "${EXAMPLES}/track_streams" --tracks 1048576)
  refused("track_streams 65536 x 65536" "--tracks 65536 x --frames 65536 is more than" "${EXAMPLES}/track_streams" --tracks 65536 --frames 65536)
endif()

# --- item 8: the sidecar's gate reaches eval_blob and csi_replay ---
file(READ "${W}/m.rvne.json" sidecar)
file(COPY_FILE "${W}/m.rvne" "${W}/g.rvne")
# write_gated(<gate json>): g.rvne's sidecar = m.rvne's plus this gate.
function(write_gated gate)
  string(JSON gated SET "${sidecar}" gate "${gate}")
  file(WRITE "${W}/g.rvne.json" "${gated}")
endfunction()
set(GATE "\"input_dim\": 8, \"hidden_dim\": 4, \"top_k\": 2, \"mode\": \"prune\"")
write_gated("{${GATE}, \"weights\": \"no_such_gate.bin\"}")
run(2 out "${EVAL}" --model g.rvne --data sim.csi.jsonl --task labels=sim.labels.csv)
expect_match("${out}" "io_error: no_such_gate.bin: cannot open" "eval_blob, missing gate file (an I/O error)")
run(2 out "${REPLAY}" --model g.rvne --data sim.csi.jsonl)
expect_match("${out}" "io_error: no_such_gate.bin: cannot open" "csi_replay, missing gate file (an I/O error)")
file(WRITE "${W}/short_gate.bin" "0123456789")
write_gated("{${GATE}, \"weights\": \"short_gate.bin\"}")
run(1 out "${EVAL}" --model g.rvne --data sim.csi.jsonl --task labels=sim.labels.csv)
expect_match("${out}" "'gate.weights'.*short_gate.bin" "eval_blob, wrong-size gate file")
run(1 out "${REPLAY}" --model g.rvne --data sim.csi.jsonl)
expect_match("${out}" "'gate.weights'.*short_gate.bin" "csi_replay, wrong-size gate file")
# No weights file: the reference's initial gate weights. Gated numbers differ
# from the ungated model's, and both tools compute the same gated windows.
write_gated("{${GATE}}")
run(0 out "${EVAL}" --model m.rvne --data sim.csi.jsonl --task labels=sim.labels.csv --windows ungated.txt)
run(0 out "${EVAL}" --model g.rvne --data sim.csi.jsonl --task labels=sim.labels.csv --windows gated_eval.txt)
run(0 out "${REPLAY}" --model g.rvne --data sim.csi.jsonl --windows gated_replay.txt)
expect_windows_replayed(gated_eval.txt gated_replay.txt "gated model" n_gated)
file(SHA256 "${W}/ungated.txt" h_ungated)
file(SHA256 "${W}/gated_eval.txt" h_gated)
if(h_ungated STREQUAL h_gated OR n_gated LESS 10)
  message(FATAL_ERROR "eval_blob gave the gated model the ungated numbers (or ${n_gated} < 10 windows): the gate is not run")
endif()

# --- item 10: failed writes leave nothing half-written ---
# A file size limit of 512 bytes (sh's ulimit -f, SIGXFSZ ignored so write()
# fails with EFBIG) stands in for a full disk.
set(LIMITED sh -c "ulimit -f 1 && trap '' XFSZ && exec \"$@\"" sh)
# expect_untouched(<file> <text> <what>): the file still holds exactly text,
# and no temporary is left beside it.
function(expect_untouched file text what)
  file(READ "${W}/${file}" now)
  if(NOT now STREQUAL "${text}")
    message(FATAL_ERROR "${what}: ${file} was overwritten by a failed write:\n${now}")
  endif()
  file(GLOB left "${W}/${file}.tmp-*")
  if(left)
    message(FATAL_ERROR "${what}: temporaries left: ${left}")
  endif()
endfunction()
foreach(tool eval replay)
  file(WRITE "${W}/old_${tool}.txt" "the old dump\n")
endforeach()
run(2 out ${LIMITED} ${EVAL_ARGS} --windows old_eval.txt)
expect_match("${out}" "old_eval.txt: writing the temporary" "eval_blob, full disk")
expect_untouched(old_eval.txt "the old dump\n" "eval_blob --windows, full disk")
run(2 out ${LIMITED} "${REPLAY}" --model m.rvne --data sim.csi.jsonl --windows old_replay.txt)
expect_untouched(old_replay.txt "the old dump\n" "csi_replay --windows, full disk")
run(2 out "${EVAL}" --model m.rvne --data sim.csi.jsonl --task labels=sim.labels.csv --windows no_dir/x.txt)
expect_match("${out}" "no_dir/x.txt: cannot create a temporary" "eval_blob, missing folder")
if(EXISTS "${W}/no_dir")
  message(FATAL_ERROR "eval_blob into a missing folder created something")
endif()
foreach(ext csi.jsonl labels.csv csi.meta.json)
  file(WRITE "${W}/old.${ext}" "old ${ext}\n")
endforeach()
run(2 out ${LIMITED} "${SIM}" --out old --seconds 30)
foreach(ext csi.jsonl labels.csv csi.meta.json)
  expect_untouched(old.${ext} "old ${ext}\n" "csi_simulate, full disk")
endforeach()
run(2 out "${SIM}" --out no_dir/sim)
if(EXISTS "${W}/no_dir")
  message(FATAL_ERROR "csi_simulate into a missing folder created something")
endif()
message(STATUS "tools_hostile_test: all checks passed")
