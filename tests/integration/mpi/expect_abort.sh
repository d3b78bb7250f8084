#!/bin/bash
# A rank that throws mid-run must end the whole job with a non-zero exit within 60 s.
# usage: expect_abort.sh MPIEXEC LIMIT_S PROGRAM [ARGS...]
# Runs `MPIEXEC -np 2 PROGRAM ARGS` under `timeout` (limit + 30 s), then checks: exit code non-zero and
# not a hang ended by timeout, wall time < limit, and rank 1's error message in the output.
set -u
mpiexec=$1 limit=$2
shift 2
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_hwloc_base_binding_policy=none
log=$(mktemp)
t0=$(date +%s%N)
timeout -k 5 $((limit + 30)) "$mpiexec" -np 2 "$@" >"$log" 2>&1
rc=$?
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
elapsed=$((ms / 1000)).$(printf %03d $((ms % 1000)))
cat "$log"
echo "expect_abort: exit code $rc after $elapsed s (limit $limit s)"
fail=0
if [ "$rc" -eq 0 ]; then echo "FAIL: the job exited 0"; fail=1; fi
# timeout exits 124 (or 137 after -k); a rank killed by SIGKILL also makes mpirun exit 137, so judge by time.
if [ "$rc" -eq 124 ] || [ "$ms" -ge $(((limit + 30) * 1000)) ]; then echo "FAIL: the job hung until timeout killed it"; fail=1; fi
if [ "$ms" -ge $((limit * 1000)) ]; then echo "FAIL: took $elapsed s >= $limit s"; fail=1; fi
if ! grep -q "reward process died in step 3" "$log"; then echo "FAIL: rank 1's error is not in the output"; fail=1; fi
rm -f "$log"
exit $fail
