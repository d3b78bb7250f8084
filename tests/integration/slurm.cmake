# Slurm tests (label "slurm"): a local one-node cluster (munged + slurmctld + slurmd, started and stopped by
# tests/integration/slurm/cluster.sh under a temporary directory) runs 2-task jobs through slurm/cpu-single-node.sbatch,
# preempts them with the template's signal, and checks requeue, resume and the final parameters.
# They need root (SlurmUser=root) and install slurm-wlm/munge with apt when missing. RESOURCE_LOCK keeps
# two clusters from running at once on the 2 CPUs.

# The harness self-test: a stand-in trainer (tests/integration/slurm/standin_trainer.c, an MPI program obeying the
# trainer's preemption contract) so that the Slurm machinery is tested independently of the trainer.
add_executable(slurm_standin_trainer ${CMAKE_CURRENT_LIST_DIR}/slurm/standin_trainer.c)
target_link_libraries(slurm_standin_trainer PRIVATE MPI::MPI_C)
target_compile_options(slurm_standin_trainer PRIVATE -Wall -Wextra)

set(standin_args --bin $<TARGET_FILE:slurm_standin_trainer> --config ${CMAKE_CURRENT_LIST_DIR}/slurm/standin.ini
                 --epochs 16 --epoch-regex "standin. step ([0-9]+) state")
set(standin_run --standin.steps 16 --standin.step_ms 150 --standin.ckpt_every 4)
add_test(NAME slurm.harness_preempt_requeue
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/slurm/preempt-test.sh ${standin_args} -- ${standin_run})
# The same with the ranks exiting 0.5 s apart and not ignoring SIGTERM: srun --kill-on-bad-exit kills the
# late rank (step status 143) and slurm/requeue-step.sh must still requeue from the preemption checkpoint.
add_test(NAME slurm.harness_kill_on_bad_exit_race
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/slurm/preempt-test.sh ${standin_args} --expect-kill-race
                 -- ${standin_run} --standin.ignore_term_on_stop false --standin.exit_skew_ms 500)
# TERM as the preemption signal (PREEMPT_SIGNAL=TERM): it must reach the tasks through Slurm, not srun,
# which turns a TERM into SIGKILL for the tasks.
add_test(NAME slurm.harness_preempt_term
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/slurm/preempt-test.sh ${standin_args} --signal TERM -- ${standin_run})
set_tests_properties(slurm.harness_preempt_requeue slurm.harness_kill_on_bad_exit_race slurm.harness_preempt_term PROPERTIES
                     LABELS slurm TIMEOUT 900 RESOURCE_LOCK slurm_cluster)

# Lint of every shell script of the Slurm area (shellcheck comes from tools/install-deps.sh).
find_program(SHELLCHECK shellcheck)
if(SHELLCHECK)
  file(GLOB slurm_scripts ${CMAKE_SOURCE_DIR}/slurm/*.sh ${CMAKE_SOURCE_DIR}/slurm/*.sbatch
       ${CMAKE_SOURCE_DIR}/jobs/*.sh ${CMAKE_CURRENT_LIST_DIR}/slurm/*.sh)
  add_test(NAME slurm.shellcheck COMMAND ${SHELLCHECK} -x ${slurm_scripts} WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  set_tests_properties(slurm.shellcheck PROPERTIES LABELS "slurm;unit" TIMEOUT 120)
endif()

# The same with the real trainer: dagalign train on the 2-D world (configs/toy2d/dagdb.ini), 8 short epochs,
# a checkpoint every epoch, one LibTorch thread per rank (so that the mpirun and srun runs are bit-identical).
# Resume evidence: the rank-0 "epoch k/N" lines of the job log (both runs, append mode) name every epoch
# once, and metrics.jsonl holds every epoch exactly once.
add_test(NAME slurm.train_preempt_requeue
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/slurm/preempt-test.sh
                 --bin $<TARGET_FILE:dagalign> --config ${CMAKE_SOURCE_DIR}/configs/toy2d/dagdb.ini --epochs 8
                 --epoch-regex "^0: epoch ([0-9]+)/"
                 -- --train.epochs 8 --toy2d.pretrain_steps 100 --sample.batch_size 32 --sample.batches_per_epoch 2
                    --train.batch_size 32 --train.grad_accum 2 --run.checkpoint_every 1 --run.threads 1)
set_tests_properties(slurm.train_preempt_requeue PROPERTIES LABELS "slurm;rounding" TIMEOUT 900
                     RESOURCE_LOCK slurm_cluster)
