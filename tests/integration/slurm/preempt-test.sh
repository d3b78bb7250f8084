#!/usr/bin/env bash
# Preemption and requeue on a real (local, one-node) Slurm cluster:
#  1. runs the trainer uninterrupted with mpirun -np 2, outside Slurm (the reference);
#  2. starts munged + slurmctld + slurmd (tests/integration/slurm/cluster.sh) and submits the same training as a
#     2-task job through slurm/cpu-single-node.sbatch (srun --mpi=pmix);
#  3. once the job has written its first checkpoint, sends the preemption signal the way Slurm does for
#     "#SBATCH --signal=B:USR2@..." (scancel --batch --signal=USR2: the batch shell only);
#  4. observes the requeue (Restarts=1, the step exited 75) and the completion (COMPLETED, ExitCode 0:0);
#  5. checks that the final parameters equal the reference (cmp) and that metrics.jsonl holds every epoch
#     exactly once (the requeued run resumed from the checkpoint instead of starting over);
#  6. stops the daemons by their PIDs and checks that nothing of the cluster is left running (also on
#     failure or interruption: trap EXIT).
#
#   tests/integration/slurm/preempt-test.sh --bin BINARY --config FILE.ini --epochs N [--signal USR2|TERM] [--metrics M]
#                               [--expect-kill-race] [-- --section.key value ...]
# --signal: the preemption signal (PREEMPT_SIGNAL of the templates; default USR2).
# --metrics every-epoch-once (default) | no-repeats: what metrics.jsonl must show after the two runs.
# --epoch-regex RE: a Python regex whose group 1 is the number of a finished epoch in the job log (which
#   holds both runs, --open-mode=append); every epoch 1..N must appear exactly once: the requeued run
#   resumed after the preempted one instead of starting over (a restart repeats the first epochs).
# --expect-kill-race: the ranks exit apart and do not ignore SIGTERM, so srun --kill-on-bad-exit kills
# the late one; the job must be requeued all the same (slurm/requeue-step.sh's checkpoint rule).
# The overrides after "--" go to both runs (keep the run short: seconds per epoch). The binary follows
# the trainer's contract: "BIN train --config F --run.dir D --run.preempt_signal USR2 ...", checkpoint and
# exit 75 on the signal, resume from run.dir/checkpoints by itself, write run.dir/params-final.safetensors.
# KEEP_SLURM_TEST=1 keeps the temporary directory (always kept, and named, when the test fails).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
bin="" config="" epochs="" kill_race=0 signal=${PREEMPT_SIGNAL:-USR2} metrics=every-epoch-once epoch_regex=""
while [ $# -gt 0 ]; do
  case "$1" in
    --metrics) metrics=$2; shift 2 ;;
    --epoch-regex) epoch_regex=$2; shift 2 ;;
    --signal) signal=$2; shift 2 ;;
    --expect-kill-race) kill_race=1; shift ;;
    --bin) bin=$2; shift 2 ;;
    --config) config=$2; shift 2 ;;
    --epochs) epochs=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "usage: $0 --bin BINARY --config FILE.ini --epochs N [-- overrides...]" >&2; exit 2 ;;
  esac
done
overrides=("$@")
[ -x "$bin" ] || { echo "error: --bin '$bin' is not an executable" >&2; exit 2; }
[ -f "$config" ] || { echo "error: --config '$config' not found" >&2; exit 2; }
[[ "$epochs" =~ ^[0-9]+$ ]] || { echo "error: --epochs N is required" >&2; exit 2; }
bin=$(realpath "$bin")
config=$(realpath "$config")

# shellcheck source=tests/integration/slurm/cluster.sh
source "$here/cluster.sh"
tmp=$(mktemp -d /tmp/dagalign-slurm-test.XXXXXX)
chmod 0755 "$tmp"  # munged runs as the munge user and must reach $tmp/cluster/munge
cluster=$tmp/cluster
mkdir -p "$cluster"
t_start=$(date +%s)
status=1
job=""
say() { echo "[preempt-test +$(($(date +%s) - t_start))s] $*"; }
fail() { say "FAIL: $*"; exit 1; }

cleanup() {
  local stop_rc
  trap - EXIT INT TERM
  if [ "$status" != 0 ]; then
    say "--- job log ---"
    cat "$tmp"/job-*.out 2>/dev/null | tail -n 60
    [ -n "$job" ] && [ -f "$cluster/slurm.conf" ] && SLURM_CONF=$cluster/slurm.conf scontrol show job "$job" 2>/dev/null
    say "--- slurmctld.log (tail) ---"
    tail -n 20 "$cluster/log/slurmctld.log" 2>/dev/null
  fi
  cluster_stop "$cluster"
  stop_rc=$?
  if [ "$stop_rc" != 0 ]; then
    say "FAIL: processes of the test cluster were still running after the stop"
    status=1
  fi
  if [ "$status" = 0 ] && [ "${KEEP_SLURM_TEST:-0}" != 1 ]; then
    rm -rf "$tmp"
  else
    say "kept $tmp"
  fi
  say "$([ "$status" = 0 ] && echo PASSED || echo FAILED) in $(($(date +%s) - t_start)) s"
  exit "$status"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 1' INT TERM

# Waits up to $2 seconds for "$3..." to succeed, polling every 0.2 s.
poll() {
  local secs=$1 i
  shift
  for ((i = 0; i < secs * 5; i++)); do
    "$@" && return 0
    sleep 0.2
  done
  return 1
}
job_field() {  # job_field NAME: the value of NAME= in "scontrol show job"
  scontrol show job "$job" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$1=//p" | head -n 1
}

# --- 1. reference run, outside Slurm ---------------------------------------------------------------
unset_slurm=()
for v in $(compgen -e | grep '^SLURM_'); do unset_slurm+=(-u "$v"); done
say "reference: mpirun -np 2 $bin train --config $config ${overrides[*]}"
if ! env "${unset_slurm[@]}" OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
    mpirun --oversubscribe --bind-to none -np 2 \
    "$bin" train --config "$config" --run.dir "$tmp/ref" "${overrides[@]}" >"$tmp/ref.log" 2>&1; then
  tail -n 30 "$tmp/ref.log"
  fail "the reference run failed"
fi
[ -s "$tmp/ref/params-final.safetensors" ] || fail "the reference run wrote no params-final.safetensors"
say "reference done"

# --- 2. cluster and job ----------------------------------------------------------------------------
cluster_start "$cluster" || fail "the local cluster did not start"
export SLURM_CONF=$cluster/slurm.conf
job=$(cd "$tmp" && env DAGALIGN_SLURM_TEST_DIR="$cluster" DAGALIGN_BIN="$bin" DAGALIGN_ROOT="$root" PREEMPT_SIGNAL="$signal" \
      sbatch --parsable --job-name=preempt-test --ntasks=2 --time=00:15:00 --output="$tmp/job-%j.out" \
      "$root/slurm/cpu-single-node.sbatch" "$config" --run.dir "$tmp/job" "${overrides[@]}") ||
  fail "sbatch failed"
say "submitted job $job"

# --- 3. preempt once the first checkpoint exists ---------------------------------------------------
terminal() { case "$(job_field JobState)" in COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY) return 0 ;; esac; return 1; }
has_checkpoint() { [ -n "$(ls -A "$tmp/job/checkpoints" 2>/dev/null)" ] || terminal; }
if ! poll 180 has_checkpoint || terminal; then
  fail "no checkpoint in $tmp/job/checkpoints after 180 s, or the job ended (state $(job_field JobState))"
fi
[ "$(job_field JobState)" = RUNNING ] || fail "job is $(job_field JobState), not RUNNING, at its first checkpoint"
say "first checkpoint written; scancel --batch --signal=$signal $job"
scancel --batch --signal="$signal" "$job" || fail "scancel --signal failed"

# --- 4. requeue, then completion --------------------------------------------------------------------
requeued() { [ "$(job_field Restarts)" = 1 ] && [ "$(job_field JobState)" = PENDING ]; }
requeued_or_ended() { requeued || terminal; }
poll 120 requeued_or_ended
requeued || fail "job not requeued: state $(job_field JobState), restarts $(job_field Restarts)"
say "requeued: $(job_field JobState) ($(job_field Reason)), Restarts=$(job_field Restarts)"
# Slurm holds a requeued job for about two minutes (EligibleTime = requeue time + 121 s); release it as
# soon as the old steps have cleaned up on the node (their sockets, e.g. stepd.slurm.pmix.<job>.0, gone):
# a step launched while they linger fails with "pmixp_usock_create_srv: Address already in use".
old_steps_gone() {
  local f
  for f in "$cluster/spool/slurmd"/*; do
    [[ "$f" =~ [._]${job}\.[0-9]+$ ]] && return 1
  done
  return 0
}
poll 60 old_steps_gone || fail "the first run's steps did not clean up within 60 s: $(ls "$cluster/spool/slurmd")"
scontrol update JobId="$job" StartTime=now || fail "scontrol update StartTime=now failed"
poll 300 terminal || fail "job did not finish within 300 s of the requeue (state $(job_field JobState))"
state=$(job_field JobState) restarts=$(job_field Restarts) exitcode=$(job_field ExitCode)
say "finished: JobState=$state Restarts=$restarts ExitCode=$exitcode"
[ "$state" = COMPLETED ] || fail "JobState=$state, expected COMPLETED"
[ "$restarts" = 1 ] || fail "Restarts=$restarts, expected 1"
[ "$exitcode" = 0:0 ] || fail "ExitCode=$exitcode, expected 0:0"
log=$(ls "$tmp"/job-*.out)
if [ "$kill_race" = 1 ]; then
  # srun --kill-on-bad-exit terminated the late rank: status 143, requeued through the checkpoint rule
  grep -q "after the preemption checkpoint .*: treating it as exit 75" "$log" ||
    fail "the log does not show the kill-on-bad-exit race being recognised"
else
  grep -q "step exited with status 75" "$log" || fail "the log does not show the step exiting with 75"
fi
grep -q "scontrol requeue $job" "$log" || fail "the log does not show the requeue"
[ "$(grep -c "step exited with status 0" "$log")" = 1 ] || fail "the log does not show one completed step"

# --- 5. same result as the uninterrupted run, every epoch once --------------------------------------
cmp "$tmp/ref/params-final.safetensors" "$tmp/job/params-final.safetensors" ||
  fail "params-final.safetensors differs from the uninterrupted run's"
say "params-final.safetensors identical to the uninterrupted run's ($(stat -c %s "$tmp/job/params-final.safetensors") bytes)"
/usr/bin/python3 - "$tmp/job/metrics.jsonl" "$epochs" "$metrics" <<'EOF' || fail "metrics.jsonl: the requeued run did not resume where it stopped"
import json, sys
path, n, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
epochs = [json.loads(line)["epoch"] for line in open(path) if line.strip()]
if mode == "every-epoch-once":
    if sorted(epochs) != list(range(1, n + 1)):
        sys.exit(f"epochs in {path}: {epochs}, expected each of 1..{n} once")
    print(f"metrics.jsonl: epochs 1..{n} each once, over the two runs of the job")
elif mode == "no-repeats":  # a restart from scratch would repeat the epochs before the preemption
    if len(set(epochs)) != len(epochs) or max(epochs) != n or epochs != sorted(epochs):
        sys.exit(f"epochs in {path}: {epochs}, expected increasing epochs up to {n}, none twice")
    print(f"metrics.jsonl: no epoch twice, last {n} (epochs {epochs})")
else:
    sys.exit(f"--metrics {mode}: every-epoch-once or no-repeats")
EOF
if [ -n "$epoch_regex" ]; then
  /usr/bin/python3 - "$log" "$epochs" "$epoch_regex" <<'EOF' || fail "the job log: the requeued run did not resume where it stopped"
import re, sys
path, n, rx = sys.argv[1], int(sys.argv[2]), re.compile(sys.argv[3])
seen = [int(m.group(1)) for line in open(path, errors="replace") if (m := rx.search(line))]
if sorted(seen) != list(range(1, n + 1)):
    sys.exit(f"epochs in the job log {path} (regex {sys.argv[3]!r}): {seen}, expected each of 1..{n} once")
print(f"job log: epochs 1..{n} each once over the two runs")
EOF
fi
status=0
