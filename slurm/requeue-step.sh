#!/usr/bin/env bash
# Runs one job step and requeues the job when the step stops early for preemption.
#
# Usage, as the last command of a batch script (exec keeps the batch shell's PID, which is what
# "#SBATCH --signal=B:SIG@secs" and "scancel --batch --signal=SIG" signal):
#   exec slurm/requeue-step.sh srun ... dagalign train ...
#
# What it does:
#  - runs the step command in the background and waits for it;
#  - on $PREEMPT_SIGNAL (default USR2; TERM accepted) it passes the signal on to every task and keeps
#    waiting: the trainer sets a flag, the ranks agree at the next step boundary, write a checkpoint and
#    exit with 75 (EX_TEMPFAIL). With srun the signal goes to the tasks through Slurm
#    (scancel --signal=SIG $SLURM_JOB_ID: every step, not the batch shell), not to srun itself: srun
#    turns a TERM into "forcing job termination" (SIGKILL to the tasks, measured on 22.05). With any other
#    launcher (mpirun forwards USR1/USR2 to the ranks) the signal goes to the launcher's process;
#  - when the step exits with 75, it requeues the job (scontrol requeue; an array task as
#    ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}). The requeued job runs the batch script again from
#    the top in the same run directory, and the trainer resumes from the newest checkpoint by itself
#    (run.resume = auto);
#  - kill-on-bad-exit race: srun --kill-on-bad-exit=1 terminates the other tasks of the step as soon as
#    the first task exits non-zero, so a rank that exits 75 a moment after another shows as "killed by
#    SIGTERM" and srun returns 143. When this script did forward a preemption signal, the step ended by
#    a signal (128+n), and a checkpoint newer than the signal exists in $CHECKPOINT_DIR, the job is
#    requeued as well (the checkpoint is the one written for the preemption);
#  - status 0 without $DAGALIGN_DONE_FILE (the run's final output) becomes 1: srun of Slurm 22.05 returns
#    0 when a step fails to launch (e.g. "pmixp_usock_create_srv: Address already in use" after a too
#    quick restart), which would otherwise mark an unfinished run COMPLETED;
#  - any other exit status is passed through unchanged (0 done, 1 failure, 2 config error ...).
#
# Environment:
#   PREEMPT_SIGNAL         signal name without SIG, the one of --signal=B:...   (USR2)
#   CHECKPOINT_DIR         directory the trainer writes checkpoints to         (unset: no race rule)
#   DAGALIGN_DONE_FILE     file a finished run has written                     (unset: not checked)
#   DAGALIGN_MAX_REQUEUES  stop requeueing after this many restarts            (20)
#   DAGALIGN_NO_REQUEUE=1  only report the preemption, exit 75 (for trying scripts by hand)
set -uo pipefail

readonly EX_TEMPFAIL=75
sig=${PREEMPT_SIGNAL:-USR2}
sig=${sig#SIG}
max_requeues=${DAGALIGN_MAX_REQUEUES:-20}
restarts=${SLURM_RESTART_COUNT:-0}
say() { echo "[requeue-step $(date -u +%H:%M:%S)] $*" >&2; }

[ $# -gt 0 ] || { say "usage: requeue-step.sh COMMAND [ARG...]"; exit 2; }
kill -l "$sig" >/dev/null 2>&1 || { say "PREEMPT_SIGNAL='$sig' is not a signal name"; exit 2; }

child=""
launcher=$(basename "$1")
preempted_at=""  # epoch seconds of the first forwarded preemption signal
interrupted=0

# shellcheck disable=SC2317  # invoked from the traps below
forward() {  # $1: signal name
  interrupted=1
  if [ "$1" = "$sig" ] && [ -z "$preempted_at" ]; then
    preempted_at=$(date +%s)
    say "got SIG$1 (preemption): forwarding it to the step (pid $child)"
  else
    say "got SIG$1: forwarding it to the step (pid $child)"
  fi
  [ -n "$child" ] || return 0
  if [ "$launcher" = srun ] && [ -n "${SLURM_JOB_ID:-}" ]; then
    scancel --signal="$1" "$SLURM_JOB_ID" || kill -s "$1" "$child" 2>/dev/null
  else
    kill -s "$1" "$child" 2>/dev/null
  fi
}
# shellcheck disable=SC2064  # expand $sig now
trap "forward $sig" "$sig"
# Slurm sends TERM to the batch shell and the steps on scancel, time limit and preemption without a
# user signal; forward it too (harmless when the tasks got it already) and keep waiting for the step.
[ "$sig" = TERM ] || trap "forward TERM" TERM

say "job ${SLURM_JOB_ID:-?} restart ${restarts}: $*"
"$@" &
child=$!
# a preemption signal that came while the step was being started: pass it on now
[ -z "$preempted_at" ] || forward "$sig"
# wait returns >128 when a trapped signal interrupts it; the step is still running then: wait again.
while :; do
  interrupted=0
  wait "$child"
  rc=$?
  [ "$interrupted" = 1 ] && kill -0 "$child" 2>/dev/null && continue
  [ "$interrupted" = 1 ] && { wait "$child" 2>/dev/null; r2=$?; [ "$r2" -ne 127 ] && rc=$r2; }
  break
done
say "step exited with status $rc"
if [ "$rc" -eq 0 ] && [ -n "${DAGALIGN_DONE_FILE:-}" ] && [ ! -e "$DAGALIGN_DONE_FILE" ]; then
  say "the step reported success but $DAGALIGN_DONE_FILE does not exist: the run did not finish (failing)"
  exit 1
fi

requeue=0
if [ "$rc" -eq "$EX_TEMPFAIL" ]; then
  requeue=1
elif [ -n "$preempted_at" ] && [ "$rc" -gt 128 ] && [ -n "${CHECKPOINT_DIR:-}" ] && [ -d "$CHECKPOINT_DIR" ]; then
  newest=$(find "$CHECKPOINT_DIR" -type f -newermt "@$preempted_at" -print -quit 2>/dev/null)
  if [ -n "$newest" ]; then
    say "a task was killed (status $rc) after the preemption checkpoint $newest: treating it as exit $EX_TEMPFAIL"
    requeue=1
  fi
fi
[ "$requeue" = 1 ] || exit "$rc"

if [ "${DAGALIGN_NO_REQUEUE:-0}" = 1 ] || [ -z "${SLURM_JOB_ID:-}" ]; then
  say "preempted and checkpointed; not requeueing (DAGALIGN_NO_REQUEUE or not in a Slurm job)"
  exit "$EX_TEMPFAIL"
fi
if [ "$restarts" -ge "$max_requeues" ]; then
  say "preempted after $restarts restarts (DAGALIGN_MAX_REQUEUES=$max_requeues): not requeueing again"
  exit "$EX_TEMPFAIL"
fi
if [ -n "${SLURM_ARRAY_JOB_ID:-}" ] && [ -n "${SLURM_ARRAY_TASK_ID:-}" ]; then
  id=${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}
else
  id=$SLURM_JOB_ID
fi
say "checkpointed for preemption: scontrol requeue $id (restart $((restarts + 1)))"
if ! scontrol requeue "$id"; then
  say "scontrol requeue $id failed; resubmit by hand to resume: the run directory holds the checkpoint"
  exit "$EX_TEMPFAIL"
fi
# slurmctld now ends this batch script and puts the job back in the queue; its exit status is ignored.
exit 0
