# Data-parallel equivalence (labels mpi, rounding): 2 ranks vs 1 rank doing both ranks' work, DAG-DB and DDPO,
# on the 2-D world and on the tiny text-to-image model, compared bitwise (tests/integration/mpi_train/equivalence.sh);
# kill-and-resume on the tiny text-to-image model, 1 and 2 ranks (tests/integration/mpi_train/kill_resume.py); replay
# (tests/integration/mpi_train/replay_tiny.py).
add_executable(compare_params ${CMAKE_CURRENT_LIST_DIR}/mpi_train/compare_params.cpp)
target_link_libraries(compare_params PRIVATE dagalign_weights)
function(equivalence_test name world algo accum)
  add_test(NAME ${name}
           COMMAND ${CMAKE_CURRENT_LIST_DIR}/mpi_train/equivalence.sh $<TARGET_FILE:dagalign>
                   $<TARGET_FILE:compare_params> ${MPIEXEC_EXECUTABLE} ${algo}
                   ${CMAKE_CURRENT_BINARY_DIR}/${name} ${world} ${accum})
  set_tests_properties(${name} PROPERTIES LABELS "mpi;rounding" TIMEOUT 300 ENVIRONMENT "${DAGALIGN_MPI_ENV}")
endfunction()
foreach(algo dagdb ddpo)
  equivalence_test(mpi.equivalence_${algo} toy2d ${algo} 1)
  equivalence_test(mpi.equivalence_tiny-shapes_${algo} tiny-shapes ${algo} 1)
endforeach()
equivalence_test(mpi.equivalence_dagdb_accum3 toy2d dagdb 3)
foreach(ranks 1 2)
  set(name mpi.kill_resume_tiny-shapes_${ranks}rank)
  add_test(NAME ${name}
           COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/mpi_train/kill_resume.py $<TARGET_FILE:dagalign>
                   $<TARGET_FILE:compare_params> ${MPIEXEC_EXECUTABLE} ${CMAKE_CURRENT_BINARY_DIR}/${name} ${ranks} ${ranks} 4)
  set_tests_properties(${name} PROPERTIES LABELS "mpi;rounding" TIMEOUT 600 ENVIRONMENT "${DAGALIGN_MPI_ENV}")
endforeach()
# Replay on the tiny text-to-image model, 1 and 2 ranks: a stored epoch replayed from the checkpoint before it
# equals the on-policy epoch (DAG-DB, DAG-KL, DDPO); replay preempted and resumed equals an uninterrupted one.
foreach(ranks 1 2)
  set(name mpi.replay_tiny-shapes_${ranks}rank)
  add_test(NAME ${name}
           COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/mpi_train/replay_tiny.py $<TARGET_FILE:dagalign>
                   $<TARGET_FILE:compare_params> ${MPIEXEC_EXECUTABLE} ${CMAKE_CURRENT_BINARY_DIR}/${name} ${ranks})
  set_tests_properties(${name} PROPERTIES LABELS "mpi" TIMEOUT 600 ENVIRONMENT "${DAGALIGN_MPI_ENV}")
endforeach()
set_tests_properties(mpi.replay_tiny-shapes_2rank PROPERTIES LABELS "mpi;rounding")
