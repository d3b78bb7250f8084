# Data-parallel equivalence (label mpi): 2 ranks vs 1 rank with the same global batch, DAG-DB and DDPO.
add_executable(compare_params ${CMAKE_CURRENT_SOURCE_DIR}/train_mpi/compare_params.cpp)
target_link_libraries(compare_params PRIVATE dagalign_weights)
foreach(algo dagdb ddpo)
  add_test(NAME mpi.equivalence_${algo}
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/train_mpi/equivalence.sh $<TARGET_FILE:dagalign>
                   $<TARGET_FILE:compare_params> ${MPIEXEC_EXECUTABLE} ${algo} ${CMAKE_CURRENT_BINARY_DIR}/equivalence_${algo})
  set_tests_properties(mpi.equivalence_${algo} PROPERTIES LABELS mpi TIMEOUT 300 ENVIRONMENT "${DAGALIGN_MPI_ENV}")
endforeach()
