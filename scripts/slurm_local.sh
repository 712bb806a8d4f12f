#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for the grid tests (Debian 12's slurm-wlm 22.05 + munge, run as root without
# systemd or cgroups; about 15 s from a cold start to a finished 4-task job array).
#   bash scripts/slurm_local.sh start    start munged, slurmctld and slurmd (idempotent); returns once the node is up
#   bash scripts/slurm_local.sh stop     stop the daemons this script started
#   bash scripts/slurm_local.sh status   print sinfo
# Needs root and Debian's slurm-wlm + munge (`bash scripts/setup.sh --test` installs them). Daemon state, logs and
# pid files live under $SLURM_LOCAL_DIR (default /tmp/ur4rec-slurm); the config goes to /etc/slurm/slurm.conf,
# where Slurm's commands look for it, and a config this script did not write is never overwritten.
set -euo pipefail

state=${SLURM_LOCAL_DIR:-/tmp/ur4rec-slurm}
conf=/etc/slurm/slurm.conf
marker="# written by ur4rec-lab scripts/slurm_local.sh"
munge_pid=/run/munge/munged.pid
host=$(hostname -s)

die() {
  echo "slurm_local: $*" >&2
  exit 1
}
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
node_state() { sinfo -h -N -n "$host" -o "%t" 2>/dev/null | head -n1; }

stop_daemon() { # pidfile
  alive "$1" || return 0
  local pid
  pid=$(cat "$1")
  kill "$pid"
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  die "process $pid ($1) did not stop"
}

write_conf() {
  if [ -f "$conf" ] && ! grep -qF "$marker" "$conf"; then
    die "$conf exists and was not written by this script; not touching it"
  fi
  local mem
  mem=$(awk '/MemTotal/ { m = int($2 / 1024 * 0.9); print (m < 8000 ? m : 8000) }' /proc/meminfo)
  mkdir -p "$(dirname "$conf")"
  cat >"$conf" <<EOF
$marker
ClusterName=ur4rec
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
ReturnToService=2
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/slurmd
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
NodeName=$host CPUs=$(nproc) RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
}

start_munge() {
  alive "$munge_pid" && return 0
  local key=/etc/munge/munge.key
  if [ ! -s "$key" ]; then
    mkdir -p /etc/munge
    head -c 1024 /dev/urandom >"$key"
  fi
  chown munge:munge "$key"
  chmod 400 "$key"
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge
  runuser -u munge -- /usr/sbin/munged
  touch "$state/munged.ours"
}

start() {
  for bin in slurmctld slurmd munged sinfo; do
    command -v "$bin" >/dev/null || die "$bin is not installed: run bash scripts/setup.sh --test"
  done
  [ "$(id -u)" = 0 ] || die "needs root (the daemons run as root)"
  mkdir -p "$state/ctld" "$state/slurmd" "$state/log"
  start_munge
  if alive "$state/slurmctld.pid" && alive "$state/slurmd.pid"; then
    echo "slurm_local: already running (node $host: $(node_state))"
    return 0
  fi
  write_conf
  alive "$state/slurmctld.pid" || /usr/sbin/slurmctld
  alive "$state/slurmd.pid" || /usr/sbin/slurmd
  for _ in $(seq 120); do
    case "$(node_state)" in
      idle) echo "slurm_local: started (node $host idle; state in $state)" && return 0 ;;
      down* | drain* | drng*) scontrol update NodeName="$host" State=RESUME >/dev/null 2>&1 || true ;;
    esac
    sleep 0.5
  done
  die "node $host did not become idle in 60 s (state: $(node_state)); see $state/log/"
}

stop() {
  stop_daemon "$state/slurmd.pid"
  stop_daemon "$state/slurmctld.pid"
  if [ -f "$state/munged.ours" ]; then
    stop_daemon "$munge_pid"
    rm -f "$state/munged.ours"
  fi
  echo "slurm_local: stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) sinfo ;;
  *) die "usage: $0 start|stop|status" ;;
esac
