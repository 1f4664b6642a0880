# Helpers of the tools' end-to-end tests (cmake -P scripts): include() it
# after setting W (the working folder the programs run in).

# run(<exit status> <out var> <program> <args...>): runs it in ${W} (at most
# RUN_TIMEOUT seconds, default 600: a hang fails) and stops the script unless
# it exits <exit status>; stdout and stderr in <out var>.
function(run want_rc out_var)
  if(NOT DEFINED RUN_TIMEOUT)
    set(RUN_TIMEOUT 600)
  endif()
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err WORKING_DIRECTORY "${W}"
                  TIMEOUT ${RUN_TIMEOUT})
  if(NOT rc STREQUAL "${want_rc}")
    message(FATAL_ERROR "`${ARGN}` exited ${rc}, expected ${want_rc}\nstdout:\n${out}\nstderr:\n${err}")
  endif()
  message(STATUS "ok (${rc}): ${ARGN}")
  set(${out_var} "${out}${err}" PARENT_SCOPE)
endfunction()

function(expect_match text regex what)
  if(NOT text MATCHES "${regex}")
    message(FATAL_ERROR "${what}: output does not match '${regex}':\n${text}")
  endif()
endfunction()

function(expect_same_file a b what)
  file(SHA256 "${a}" ha)
  file(SHA256 "${b}" hb)
  if(NOT ha STREQUAL hb)
    message(FATAL_ERROR "${what}: ${a} (${ha}) and ${b} (${hb}) differ")
  endif()
endfunction()

# Every line of eval_blob's --windows dump (node, line, time, probabilities)
# must appear, digit for digit, in csi_replay's; `count_var` gets the number
# of eval lines.
function(expect_windows_replayed eval_dump replay_dump what count_var)
  file(STRINGS "${W}/${eval_dump}" lines)
  file(READ "${W}/${replay_dump}" replayed_text)
  foreach(line IN LISTS lines)
    string(FIND "${replayed_text}" "${line}\n" at)
    if(at EQUAL -1)
      message(FATAL_ERROR "${what}: eval_blob window '${line}' is not in csi_replay's output (same window, same numbers)")
    endif()
  endforeach()
  list(LENGTH lines n)
  set(${count_var} ${n} PARENT_SCOPE)
endfunction()
