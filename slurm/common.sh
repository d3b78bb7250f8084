#!/usr/bin/env bash
# Shared by the sbatch templates of slurm/ (sourced, not run): locates the checkout and the binary, and
# builds the "dagalign train" command line from a config file and overrides.
#
# Variables the templates honour (pass them with sbatch --export=ALL,NAME=value or set them before
# sbatch, which exports the submitting environment by default):
#   DAGALIGN_ROOT   the checkout (default: the submit directory, $SLURM_SUBMIT_DIR)
#   DAGALIGN_BIN    the dagalign binary (default: $DAGALIGN_ROOT/build/dagalign)
#   CONFIG          the INI file when no argument gives one
#   RUN_DIR         the run directory (default: $DAGALIGN_ROOT/runs/<job name>-<job id>; a requeued job
#                   keeps its id, so it finds its own checkpoints); --run.dir among the overrides wins
#   PREEMPT_SIGNAL  USR2 (default) or TERM; must match the #SBATCH --signal line
#   DAGALIGN_MAX_REQUEUES, DAGALIGN_NO_REQUEUE   see slurm/requeue-step.sh

# $1: key (e.g. --run.dir); the rest: arguments. Prints the value that follows the key, if present.
dagalign_arg_value() {
  local key=$1
  shift
  while [ $# -gt 0 ]; do
    case "$1" in
      "$key") echo "${2:-}"; return 0 ;;
      "$key="*) echo "${1#*=}"; return 0 ;;
    esac
    shift
  done
  return 1
}

# Sets DAGALIGN_ROOT, DAGALIGN_BIN, PREEMPT_SIGNAL and exports the site environment of every template.
dagalign_setup() {
  DAGALIGN_ROOT=${DAGALIGN_ROOT:-${SLURM_SUBMIT_DIR:-$PWD}}
  DAGALIGN_BIN=${DAGALIGN_BIN:-$DAGALIGN_ROOT/build/dagalign}
  PREEMPT_SIGNAL=${PREEMPT_SIGNAL:-USR2}
  export DAGALIGN_ROOT DAGALIGN_BIN PREEMPT_SIGNAL
  [ -x "$DAGALIGN_BIN" ] || { echo "error: DAGALIGN_BIN=$DAGALIGN_BIN is not an executable" >&2; exit 2; }
  # HDF5 >= 1.10 locks files with flock(); Lustre and NFS refuse it (errno 37/524) and every open fails.
  # Each rank writes its own files, so locking buys nothing here.
  export HDF5_USE_FILE_LOCKING=FALSE
  # The CPU's widest OpenBLAS kernels, malloc thresholds, passive OpenMP (tools/cpu-env.sh; results do not
  # depend on the kernels' rounding), and one LibTorch/OpenMP thread per allocated CPU of the task.
  # shellcheck source=tools/cpu-env.sh
  source "$DAGALIGN_ROOT/tools/cpu-env.sh"
  export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}
  # NCCL's proxy thread used to swallow SIGUSR1 (NVIDIA/nccl#704): USR2 is the default preemption signal.
  unset NCCL_PROXY_DUMP_SIGNAL
}

# dagalign_train_cmd CONFIG [OVERRIDES...]: fills the array TRAIN_CMD with
#   $DAGALIGN_BIN train --config CONFIG [--run.dir RUN_DIR] [--run.preempt_signal SIG] OVERRIDES...
# adding --run.dir / --run.preempt_signal only when the overrides do not set them; sets RUN_DIR and
# exports CHECKPOINT_DIR and DAGALIGN_DONE_FILE (for requeue-step.sh) from the effective run directory.
dagalign_train_cmd() {
  local config=${1:-${CONFIG:-}}
  [ $# -gt 0 ] && shift
  [ -n "$config" ] || { echo "error: no config: give FILE.ini as the first argument or CONFIG=FILE.ini" >&2; exit 2; }
  [ -f "$config" ] || { echo "error: config file '$config' not found (cwd $PWD)" >&2; exit 2; }
  TRAIN_CMD=("$DAGALIGN_BIN" train --config "$config")
  local v
  if v=$(dagalign_arg_value --run.dir "$@"); then
    RUN_DIR=$v
  else
    RUN_DIR=${RUN_DIR:-$DAGALIGN_ROOT/runs/${SLURM_JOB_NAME:-dagalign}-${SLURM_JOB_ID:-local}}
    TRAIN_CMD+=(--run.dir "$RUN_DIR")
  fi
  if v=$(dagalign_arg_value --run.preempt_signal "$@"); then
    [ "${v#SIG}" = "$PREEMPT_SIGNAL" ] ||
      echo "warning: --run.preempt_signal $v differs from PREEMPT_SIGNAL=$PREEMPT_SIGNAL" >&2
  else
    TRAIN_CMD+=(--run.preempt_signal "$PREEMPT_SIGNAL")
  fi
  TRAIN_CMD+=("$@")
  mkdir -p "$RUN_DIR"
  # what a finished run writes (the trainer's contract), checked by requeue-step.sh after status 0
  export RUN_DIR CHECKPOINT_DIR=$RUN_DIR/checkpoints DAGALIGN_DONE_FILE=$RUN_DIR/params-final.safetensors
}

# Prints where the job runs, for the log (one line per restart: the log is opened in append mode).
dagalign_banner() {
  echo "=== $(date -u +%FT%TZ) job ${SLURM_JOB_ID:-?}${SLURM_ARRAY_TASK_ID:+ (array ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID})}" \
       "restart ${SLURM_RESTART_COUNT:-0} on ${SLURM_JOB_NODELIST:-$(hostname)}:" \
       "${SLURM_NTASKS:-?} tasks, run dir $RUN_DIR ==="
  echo "=== ${TRAIN_CMD[*]} ==="
}
