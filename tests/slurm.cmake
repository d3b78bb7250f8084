# Slurm tests (label "slurm"): a local one-node cluster (munged + slurmctld + slurmd, started and stopped by
# tests/slurm/cluster.sh under a temporary directory) runs 2-task jobs through slurm/cpu-single-node.sbatch,
# preempts them with the template's signal, and checks requeue, resume and the final parameters.
# They need root (SlurmUser=root) and install slurm-wlm/munge with apt when missing. RESOURCE_LOCK keeps
# two clusters from running at once on the 2 CPUs.

# The harness self-test: a stand-in trainer (tests/slurm/standin_trainer.c, an MPI program obeying the
# trainer's preemption contract) so that the Slurm machinery is tested independently of the trainer.
add_executable(slurm_standin_trainer ${CMAKE_CURRENT_SOURCE_DIR}/slurm/standin_trainer.c)
target_link_libraries(slurm_standin_trainer PRIVATE MPI::MPI_C)
target_compile_options(slurm_standin_trainer PRIVATE -Wall -Wextra)

add_test(NAME slurm.harness_preempt_requeue
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/slurm/preempt-test.sh
                 --bin $<TARGET_FILE:slurm_standin_trainer> --config ${CMAKE_CURRENT_SOURCE_DIR}/slurm/standin.ini
                 --epochs 20 -- --standin.steps 20 --standin.step_ms 250 --standin.ckpt_every 5)
set_tests_properties(slurm.harness_preempt_requeue PROPERTIES LABELS slurm TIMEOUT 900 RESOURCE_LOCK slurm_cluster)

# Lint of every shell script of the Slurm area (shellcheck comes from tools/install-deps.sh).
find_program(SHELLCHECK shellcheck)
if(SHELLCHECK)
  file(GLOB slurm_scripts ${CMAKE_SOURCE_DIR}/slurm/*.sh ${CMAKE_SOURCE_DIR}/slurm/*.sbatch
       ${CMAKE_SOURCE_DIR}/jobs/*.sh ${CMAKE_CURRENT_SOURCE_DIR}/slurm/*.sh)
  add_test(NAME slurm.shellcheck COMMAND ${SHELLCHECK} -x ${slurm_scripts} WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  set_tests_properties(slurm.shellcheck PROPERTIES LABELS "slurm;unit" TIMEOUT 120)
endif()
