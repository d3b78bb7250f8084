# MPI tests: programs run by `mpirun -np 2` (label mpi). tests/integration/mpi/test_*.cpp are gtest programs (one
# executable each, common/mpi_gtest_main.cpp as main); tests/integration/mpi/abort_on_throw.cpp is driven by
# tests/integration/mpi/expect_abort.sh, which checks exit code and wall time. Open MPI runs as root and
# oversubscribed through its environment variables (harmless for other MPIs).
set(DAGALIGN_MPI_ENV
  OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
  OMPI_MCA_hwloc_base_binding_policy=none OMP_NUM_THREADS=1)

file(GLOB mpi_gtests CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/mpi/test_*.cpp)
foreach(src ${mpi_gtests})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src} ${CMAKE_CURRENT_LIST_DIR}/mpi/common/mpi_gtest_main.cpp)
  target_link_libraries(${name} PRIVATE dagalign_dist GTest::gtest)
  target_compile_options(${name} PRIVATE ${DAGALIGN_WARNINGS})
  add_test(NAME mpi.${name} COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} 2 $<TARGET_FILE:${name}>)
  set_tests_properties(mpi.${name} PROPERTIES LABELS mpi TIMEOUT 120 ENVIRONMENT "${DAGALIGN_MPI_ENV}")
endforeach()

add_executable(mpi_abort_on_throw ${CMAKE_CURRENT_LIST_DIR}/mpi/abort_on_throw.cpp)
target_link_libraries(mpi_abort_on_throw PRIVATE dagalign_dist)
target_compile_options(mpi_abort_on_throw PRIVATE ${DAGALIGN_WARNINGS})
# A rank that throws (the code's own path), dies of SIGKILL, calls exit(1) without MPI_Finalize, or hangs
# (then the collective timeout DAGALIGN_MPI_TIMEOUT_S=5 of the waiting rank ends the job).
foreach(mode throw kill exit hang)
  set(arg "")
  if(NOT mode STREQUAL "throw")
    set(arg --${mode})
  endif()
  add_test(NAME mpi.abort_on_${mode}
           COMMAND ${CMAKE_CURRENT_LIST_DIR}/mpi/expect_abort.sh ${MPIEXEC_EXECUTABLE} 60
                   $<TARGET_FILE:mpi_abort_on_throw> ${arg})
  set_tests_properties(mpi.abort_on_${mode} PROPERTIES LABELS mpi TIMEOUT 120 ENVIRONMENT DAGALIGN_MPI_TIMEOUT_S=5)
endforeach()

# The collectives again, through their nonblocking twins (the timeout path).
add_test(NAME mpi.test_mpi_collectives_with_timeout
         COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} 2 $<TARGET_FILE:test_mpi_collectives>)
set_tests_properties(mpi.test_mpi_collectives_with_timeout PROPERTIES LABELS mpi TIMEOUT 120
                     ENVIRONMENT "${DAGALIGN_MPI_ENV};DAGALIGN_MPI_TIMEOUT_S=60")

# Start-up program for the Slurm launch test (label slurm: a local one-node cluster, tests/integration/slurm/cluster.sh).
add_executable(mpi_world_check ${CMAKE_CURRENT_LIST_DIR}/mpi/world_check.cpp)
target_link_libraries(mpi_world_check PRIVATE dagalign_dist)
target_compile_options(mpi_world_check PRIVATE ${DAGALIGN_WARNINGS})
add_test(NAME slurm.world_size_check
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/mpi/slurm_world.sh $<TARGET_FILE:mpi_world_check>)
set_tests_properties(slurm.world_size_check PROPERTIES LABELS slurm TIMEOUT 600 RESOURCE_LOCK slurm_cluster)
