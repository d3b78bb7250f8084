#!/usr/bin/env bash
# The Slurm world-size check on a real (local, one-node) Slurm cluster: tests/integration/slurm/cluster.sh.
# usage: slurm_world.sh PROGRAM      (PROGRAM = build/tests/mpi_world_check)
#   1. srun --mpi=pmix -n 2            -> one world of 2 ranks, exit 0
#   2. srun --mpi=none -n 2, no MPI    -> each task alone ("rank 0 of 1"): the clear error, exit != 0
#      (Open MPI 4 refuses srun without PMI by itself; DAGALIGN_FORCE_MPI=0 makes each task a world of
#      one, as Open MPI 5 singletons would be)
#   3. sbatch -n 2 without srun        -> one process for 2 tasks: the error, job exit != 0
#   4. sbatch -n 2 with mpirun -np 2   -> mpirun decides the world (check skipped), exit 0
set -u
prog=${1:?usage: slurm_world.sh PROGRAM}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/integration/slurm/cluster.sh
source "$here/../slurm/cluster.sh"
dir=$(mktemp -d /tmp/dagalign-slurm-world.XXXXXX)
trap 'cluster_stop "$dir" >/dev/null 2>&1; rm -rf "$dir"' EXIT
cluster_start "$dir" || { echo "FAIL: could not start the local Slurm cluster"; exit 1; }
fail=0
check() {  # check NAME WANT_RC(0|nonzero) OUTPUT_FILE RC PATTERN COUNT
  local name=$1 want=$2 out=$3 rc=$4 pat=$5 count=$6 n
  n=$(grep -c -- "$pat" "$out")
  echo "== $name: exit $rc, $n line(s) matching '$pat'"
  sed 's/^/   | /' "$out"
  if { [ "$want" = 0 ] && [ "$rc" -ne 0 ]; } || { [ "$want" != 0 ] && [ "$rc" -eq 0 ]; }; then
    echo "FAIL: $name: exit code $rc, expected $want"; fail=1
  fi
  if [ "$n" -ne "$count" ]; then echo "FAIL: $name: expected $count line(s) matching '$pat'"; fail=1; fi
}
env_tag=$(cluster_submit_env "$dir")
mpi_env="OMPI_ALLOW_RUN_AS_ROOT=1,OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1,OMPI_MCA_rmaps_base_oversubscribe=1"

timeout 120 srun -n 2 --mpi=pmix --export="ALL,$env_tag" "$prog" >"$dir/1.out" 2>&1
check "srun --mpi=pmix" 0 "$dir/1.out" $? "world check: 2 rank(s) answered" 2

timeout 120 srun -n 2 --mpi=none --export="ALL,$env_tag,DAGALIGN_FORCE_MPI=0" "$prog" >"$dir/2.out" 2>&1
check "srun, tasks alone" nonzero "$dir/2.out" $? "SLURM_STEP_NUM_TASKS=2 but the MPI world has 1 rank(s)" 2

timeout 120 sbatch --wait -n 2 -o "$dir/3.out" --export="ALL,$env_tag" --wrap "$prog" >/dev/null 2>&1
check "sbatch without srun" nonzero "$dir/3.out" $? "SLURM_NTASKS=2 but the MPI world has 1 rank(s)" 1

timeout 120 sbatch --wait -n 2 -o "$dir/4.out" --export="ALL,$env_tag,$mpi_env" \
  --wrap "mpirun -np 2 --bind-to none $prog" >/dev/null 2>&1
check "sbatch + mpirun -np 2" 0 "$dir/4.out" $? "world check: 2 rank(s) answered" 2

[ "$fail" = 0 ] && echo "slurm_world: all 4 launches behaved"
exit $fail
