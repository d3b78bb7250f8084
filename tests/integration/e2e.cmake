# End-to-end tests (labels unit): the real `dagalign` binary on the tiny 2-D run, driven by
# tests/integration/e2e/e2e.py under Debian's /usr/bin/python3 (h5py) and h5dump: SIGKILL at random moments (3 x 4
# trials) then resume, exact resume (2 + 2 epochs, preemption signal with exit 75), replay of a stored
# epoch == the on-policy epoch, replay errors naming the file.
set(E2E_PY ${CMAKE_CURRENT_LIST_DIR}/e2e/e2e.py)
foreach(seed 1 2 3)
  add_test(NAME e2e.kill_resume_${seed}
           COMMAND /usr/bin/python3 ${E2E_PY} kill $<TARGET_FILE:dagalign> ${CMAKE_CURRENT_BINARY_DIR}/e2e-kill-${seed} ${seed} 4)
  set_tests_properties(e2e.kill_resume_${seed} PROPERTIES LABELS "unit;rounding" TIMEOUT 120)
endforeach()
foreach(case resume resume_metrics replay mix errors)
  add_test(NAME e2e.${case} COMMAND /usr/bin/python3 ${E2E_PY} ${case} $<TARGET_FILE:dagalign> ${CMAKE_CURRENT_BINARY_DIR}/e2e-${case})
  set_tests_properties(e2e.${case} PROPERTIES LABELS unit TIMEOUT 120)
endforeach()
set_tests_properties(e2e.resume e2e.replay PROPERTIES LABELS "unit;rounding")
# resume_metrics: metrics.jsonl of a 2 + 2 epoch run holds epochs 1..4, each once.
# Replay on 2 ranks (label mpi): both ranks' stored files through one glob reproduce the 2-rank epoch.
add_test(NAME mpi.e2e_replay COMMAND /usr/bin/python3 ${E2E_PY} replay_mpi $<TARGET_FILE:dagalign>
         ${CMAKE_CURRENT_BINARY_DIR}/e2e-replay-mpi ${MPIEXEC_EXECUTABLE})
set_tests_properties(mpi.e2e_replay PROPERTIES LABELS "mpi;rounding" TIMEOUT 300)
# Every shipped .ini parses and validates (`--check`), without training.
add_test(NAME e2e.configs_check COMMAND ${CMAKE_CURRENT_LIST_DIR}/e2e/check_configs.sh $<TARGET_FILE:dagalign> ${CMAKE_SOURCE_DIR})
set_tests_properties(e2e.configs_check PROPERTIES LABELS unit TIMEOUT 120)
