#!/usr/bin/env bash
# A one-node Slurm cluster (munged + slurmctld + slurmd) that lives entirely in one directory, for tests.
#
#   source tests/integration/slurm/cluster.sh; cluster_start DIR; ...; cluster_stop DIR     (from a test script)
#   tests/integration/slurm/cluster.sh start DIR | stop DIR                                 (by hand)
#
# cluster_start installs slurm and munge with apt when they are missing (a fresh Debian machine), creates
# /etc/munge/munge.key when it is missing, writes DIR/slurm.conf from slurm.conf.in (this host's name,
# 2 CPUs, two free TCP ports, state/spool/log/pid files under DIR), starts munged on its own socket
# DIR/munge/munge.socket, then slurmctld -c (clean state) and slurmd, all in the foreground (-F/-D) as
# children of the calling shell, records their PIDs in DIR/pids/, and waits until the node is idle.
# Clients must use the same configuration: cluster_start exports SLURM_CONF=DIR/slurm.conf.
# Every process it starts carries DAGALIGN_SLURM_TEST_DIR=DIR in its environment, and so do jobs
# submitted through cluster_submit_env; cluster_stop uses this tag to find strays (slurmstepd and job
# tasks, which slurmd double-forks away from its own tree) after stopping the daemons by their PIDs.
# Needs root (SlurmUser=root) and the commands of slurm-wlm and munge.

_cluster_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

cluster_log() { echo "[cluster] $*" >&2; }

# Installs slurm and munge when one of their commands is missing.
cluster_install() {
  local c missing=0
  for c in slurmctld slurmd srun sbatch squeue scontrol scancel sinfo munged munge unmunge; do
    command -v "$c" >/dev/null 2>&1 || missing=1
  done
  [ "$missing" = 0 ] && return 0
  cluster_log "installing slurm-wlm and munge with apt-get"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  DEBIAN_FRONTEND=noninteractive $sudo apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
      slurm-wlm slurm-client munge >&2
}

# Creates the munge key (1 KiB of random bytes, munge:munge, 0600) when the package did not.
cluster_munge_key() {
  local key=/etc/munge/munge.key
  [ -s "$key" ] && return 0
  cluster_log "creating $key"
  install -d -o munge -g munge -m 0700 /etc/munge
  (umask 077 && dd if=/dev/urandom of="$key" bs=1024 count=1 status=none)
  chown munge:munge "$key"
  chmod 0600 "$key"
}

# Prints a TCP port nobody listens on now.
cluster_free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Waits up to $2 seconds (in 0.1 s steps) for the command "$3..." to succeed.
cluster_wait_for() {
  local what=$1 secs=$2 i
  shift 2
  for ((i = 0; i < secs * 10; i++)); do
    "$@" && return 0
    sleep 0.1
  done
  cluster_log "timed out after ${secs}s waiting for $what"
  return 1
}

cluster_alive() { kill -0 "$1" 2>/dev/null; }

cluster_start() {
  local dir=$1 host cpus=${CLUSTER_CPUS:-2} munge_socket
  if [ -z "$dir" ] || [ ! -d "$dir" ]; then cluster_log "cluster_start: no directory '$dir'"; return 1; fi
  dir=$(cd "$dir" && pwd)
  [ "$(id -u)" -eq 0 ] || { cluster_log "the local cluster runs its daemons as root (SlurmUser=root)"; return 1; }
  cluster_install || return 1
  cluster_munge_key || return 1
  host=$(hostname -s)
  chmod 0755 "$dir"
  mkdir -p "$dir/pids" "$dir/state" "$dir/spool/slurmd" "$dir/log"
  install -d -o munge -g munge -m 0755 "$dir/munge"
  munge_socket=$dir/munge/munge.socket
  if ! setpriv --reuid=munge --regid=munge --init-groups test -w "$dir/munge"; then
    cluster_log "$dir/munge is not reachable by the munge user: make $dir and its parents o+x"
    return 1
  fi

  # munged as the munge user (setpriv execs, so $! is munged itself), on this test's own socket.
  env DAGALIGN_SLURM_TEST_DIR="$dir" setpriv --reuid=munge --regid=munge --init-groups \
    /usr/sbin/munged -F --socket="$munge_socket" --pid-file="$dir/munge/munged.pid" \
    --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed" >"$dir/log/munged.stderr" 2>&1 &
  echo $! >"$dir/pids/munged"
  if ! cluster_wait_for "munged on $munge_socket" 10 \
      sh -c "munge -S '$munge_socket' -n 2>/dev/null | unmunge -S '$munge_socket' >/dev/null 2>&1"; then
    cat "$dir/munge/munged.log" "$dir/log/munged.stderr" >&2 2>/dev/null
    cluster_kill_wait "$(cat "$dir/pids/munged")" 5
    rm -f "$dir/pids/munged"
    # Fall back to a munged already serving the standard socket (e.g. the system's), if any.
    munge_socket=/run/munge/munge.socket.2
    if munge -S "$munge_socket" -n 2>/dev/null | unmunge -S "$munge_socket" >/dev/null 2>&1; then
      cluster_log "own munged failed; using the running munged on $munge_socket (not stopped by cluster_stop)"
    else
      return 1
    fi
  fi

  sed -e "s|@DIR@|$dir|g" -e "s|@HOST@|$host|g" -e "s|@CPUS@|$cpus|g" \
      -e "s|@MUNGE_SOCKET@|$munge_socket|g" \
      -e "s|@CTLD_PORT@|$(cluster_free_port)|g" -e "s|@SLURMD_PORT@|$(cluster_free_port)|g" \
      "$_cluster_here/slurm.conf.in" >"$dir/slurm.conf"
  export SLURM_CONF=$dir/slurm.conf

  env DAGALIGN_SLURM_TEST_DIR="$dir" slurmctld -D -c -f "$SLURM_CONF" >>"$dir/log/slurmctld.stderr" 2>&1 &
  echo $! >"$dir/pids/slurmctld"
  cluster_wait_for "slurmctld" 30 sh -c "scontrol ping 2>/dev/null | grep -q UP" || {
      tail -n 30 "$dir/log/slurmctld.log" "$dir/log/slurmctld.stderr" >&2
      return 1
    }
  env DAGALIGN_SLURM_TEST_DIR="$dir" slurmd -D -f "$SLURM_CONF" -N "$host" >>"$dir/log/slurmd.stderr" 2>&1 &
  echo $! >"$dir/pids/slurmd"
  if ! cluster_wait_for "node $host idle" 60 sh -c "sinfo -h -n '$host' -o %T | grep -qx idle"; then
    sinfo -N -l >&2
    tail -n 30 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" "$dir/log/slurmd.stderr" >&2
    return 1
  fi
  cluster_log "up: $host, $cpus CPUs, SLURM_CONF=$SLURM_CONF"
}

# The environment options for sbatch/srun so that job processes carry the cluster's tag.
cluster_submit_env() { echo "DAGALIGN_SLURM_TEST_DIR=$1"; }

# PIDs (other than this shell's) whose environment holds DAGALIGN_SLURM_TEST_DIR=DIR.
cluster_tagged_pids() {
  local dir=$1 f pid
  for f in /proc/[0-9]*/environ; do
    pid=${f#/proc/}
    pid=${pid%/environ}
    [ "$pid" = "$$" ] || [ "$pid" = "$BASHPID" ] && continue
    if tr '\0' '\n' 2>/dev/null <"$f" | grep -qxF "DAGALIGN_SLURM_TEST_DIR=$dir"; then
      echo "$pid"
    fi
  done
}

# Sends TERM to PID, waits up to $2 s for it to go, then KILL.
cluster_kill_wait() {
  local pid=$1 secs=${2:-15}
  cluster_alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null
  if ! cluster_wait_for "pid $pid to exit" "$secs" sh -c "! kill -0 $pid 2>/dev/null"; then
    kill -KILL "$pid" 2>/dev/null
    cluster_wait_for "pid $pid to die" 5 sh -c "! kill -0 $pid 2>/dev/null"
  fi
  wait "$pid" 2>/dev/null  # reap it when it is our child
  return 0
}

# Cancels every job, stops slurmd, slurmctld and munged by their PIDs, then ends any process still
# tagged with this cluster. Returns 1 if something is still running afterwards.
cluster_stop() {
  local dir=$1 name pid left
  if [ -z "$dir" ] || [ ! -d "$dir" ]; then return 0; fi
  dir=$(cd "$dir" && pwd)
  export SLURM_CONF=$dir/slurm.conf
  pid=$(cat "$dir/pids/slurmctld" 2>/dev/null)
  if [ -n "$pid" ] && cluster_alive "$pid"; then
    local jobs
    mapfile -t jobs < <(squeue -h -o %i 2>/dev/null)
    if [ "${#jobs[@]}" -gt 0 ]; then
      scancel --full --quiet "${jobs[@]}" 2>/dev/null
      # shellcheck disable=SC2016  # expanded by that sh
      cluster_wait_for "jobs to end" 30 sh -c '[ -z "$(squeue -h -o %i 2>/dev/null)" ]'
    fi
  fi
  for name in slurmd slurmctld munged; do
    pid=$(cat "$dir/pids/$name" 2>/dev/null) || continue
    cluster_kill_wait "$pid" 15
    rm -f "$dir/pids/$name"
  done
  left=$(cluster_tagged_pids "$dir")
  if [ -n "$left" ]; then
    cluster_log "ending leftover processes of this cluster: $(echo "$left" | tr '\n' ' ')"
    for pid in $left; do cluster_kill_wait "$pid" 5; done
  fi
  left=$(cluster_tagged_pids "$dir")
  if [ -n "$left" ]; then
    cluster_log "still running after stop: $left"
    return 1
  fi
  cluster_log "stopped; nothing of $dir is running"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -u
  case "${1:-}" in
    start) cluster_start "${2:?usage: cluster.sh start DIR}" ;;
    stop) cluster_stop "${2:?usage: cluster.sh stop DIR}" ;;
    *) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
  esac
fi
