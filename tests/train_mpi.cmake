# Data-parallel equivalence (label mpi): 2 ranks vs 1 rank with the same global batch, DAG-DB and DDPO, on the
# 2-D world and on the tiny text-to-image model (tests/train_mpi/equivalence.sh).
add_executable(compare_params ${CMAKE_CURRENT_SOURCE_DIR}/train_mpi/compare_params.cpp)
target_link_libraries(compare_params PRIVATE dagalign_weights)
foreach(world toy2d tiny-shapes)
  foreach(algo dagdb ddpo)
    if(world STREQUAL "toy2d")
      set(name mpi.equivalence_${algo})
    else()
      set(name mpi.equivalence_${world}_${algo})
    endif()
    add_test(NAME ${name}
             COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/train_mpi/equivalence.sh $<TARGET_FILE:dagalign>
                     $<TARGET_FILE:compare_params> ${MPIEXEC_EXECUTABLE} ${algo}
                     ${CMAKE_CURRENT_BINARY_DIR}/equivalence_${world}_${algo} ${world})
    set_tests_properties(${name} PROPERTIES LABELS mpi TIMEOUT 300 ENVIRONMENT "${DAGALIGN_MPI_ENV}")
  endforeach()
endforeach()
