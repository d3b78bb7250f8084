#!/usr/bin/env bash
# Every shipped configuration parses and validates: `dagalign <command> --config F --check` exits 0 for each
# .ini under configs/ and jobs/ (pretrain*.ini with `pretrain`, the rest with `train`), from the repository
# root as their relative paths expect. jobs/sd15/ is left out until its keys exist (the SD 1.5 GPU job).
# usage: check_configs.sh DAGALIGN SOURCE_DIR
set -euo pipefail
exe=$1
cd "$2"
n=0
fail=0
for f in configs/*/*.ini jobs/*/*.ini; do
  case $f in jobs/sd15/*) continue ;; esac
  cmd=train
  case $(basename "$f") in pretrain*) cmd=pretrain ;; esac
  if out=$("$exe" "$cmd" --config "$f" --check 2>&1); then
    n=$((n + 1))
  else
    echo "FAIL: dagalign $cmd --config $f --check"
    echo "$out" | tail -n 5
    fail=1
  fi
done
echo "$n configurations validated"
exit $fail
