#!/usr/bin/env bash
# A single-node SLURM on this machine, for tests: munged, slurmctld and slurmd as root,
# everything (config, munge key, state, logs, pid files) in one folder.
#
#   bash scripts/slurm-local.sh start [DIR]   # DIR default: /tmp/jetlab-slurm
#   export SLURM_CONF=DIR/slurm.conf          # what sbatch, squeue, sinfo need (start prints it)
#   bash scripts/slurm-local.sh stop [DIR]    # cancels its jobs, kills the three daemons by their pid files
#
# start returns once sinfo shows the node idle (or fails, printing the daemons' logs).
# The cluster: one node (this host, its CPUs and memory as slurmd -C reports them), one
# partition "debug"; no cgroups (proctrack/linuxproc, task/none), no accounting
# (sacct has nothing to say: jetlab.sweep follows jobs with squeue and the tasks' exit files).
# Ports: JETLAB_SLURM_PORT (slurmctld, default 16817) and the next one (slurmd).
# Needs Debian's slurm-wlm and munge (scripts/install-deps.sh) and root.
set -euo pipefail

action=${1:-}
dir=${2:-/tmp/jetlab-slurm}
port=${JETLAB_SLURM_PORT:-16817}

die() { echo "slurm-local.sh: $*" >&2; exit 1; }

stop() {
  local name pid
  # jobs first, so that no task outlives slurmd
  if [ -e "$dir/slurm.conf" ] && [ -e "$dir/slurmctld.pid" ] && kill -0 "$(cat "$dir/slurmctld.pid")" 2>/dev/null; then
    SLURM_CONF="$dir/slurm.conf" scancel --quiet --user="$(id -un)" 2>/dev/null || true
    for _ in $(seq 50); do
      [ -z "$(SLURM_CONF="$dir/slurm.conf" squeue -h 2>/dev/null)" ] && break
      sleep 0.1
    done
  fi
  for name in slurmd slurmctld munged; do
    pid=$(cat "$dir/$name.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    fi
    rm -f "$dir/$name.pid"
  done
}

logs() {
  local f
  for f in "$dir"/log/*.log; do
    [ -f "$f" ] && { echo "== $f"; tail -n 15 "$f"; }
  done
}

start() {
  [ "$(id -u)" -eq 0 ] || die "start needs root (slurmd runs the jobs as their users)"
  local tool
  for tool in munged mungekey slurmctld slurmd sinfo; do
    command -v "$tool" >/dev/null || die "$tool is not installed (apt-get install slurm-wlm munge, or scripts/install-deps.sh)"
  done
  if [ -e "$dir/slurmctld.pid" ] && kill -0 "$(cat "$dir/slurmctld.pid")" 2>/dev/null; then
    die "a SLURM from $dir is running already (bash $0 stop $dir)"
  fi
  local p
  for p in "$port" $((port + 1)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      die "port $p is in use (set JETLAB_SLURM_PORT to another port)"
    fi
  done
  mkdir -p "$dir"/{munge,state,spool,log}
  chmod 0755 "$dir" "$dir/munge"
  rm -f "$dir/munge/munge.key"
  mungekey --create --keyfile="$dir/munge/munge.key" >/dev/null
  chmod 0600 "$dir/munge/munge.key"

  local node name host
  node=$(slurmd -C | head -n 1)   # NodeName=<host> CPUs=... RealMemory=...
  name=${node#NodeName=}
  name=${name%% *}
  host=$(hostname -s)
  cat >"$dir/slurm.conf" <<EOF
# written by scripts/slurm-local.sh: one node, no cgroups, no accounting
ClusterName=jetlab
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1
MinJobAge=30
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=$name Default=YES MaxTime=INFINITE State=UP
EOF
  export SLURM_CONF="$dir/slurm.conf"

  munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
    --pid-file="$dir/munged.pid" --log-file="$dir/log/munged.log" --seed-file="$dir/munge/munge.seed" ||
    { logs; die "munged did not start"; }
  slurmctld -f "$SLURM_CONF" || { logs; stop; die "slurmctld did not start"; }
  slurmd -f "$SLURM_CONF" || { logs; stop; die "slurmd did not start"; }
  for _ in $(seq 150); do
    if [ "$(sinfo -h -o %t 2>/dev/null)" = idle ]; then
      echo "SLURM up: export SLURM_CONF=$SLURM_CONF"
      return 0
    fi
    sleep 0.2
  done
  sinfo 2>&1 || true
  logs
  stop
  die "the node did not become idle within 30 s"
}

case $action in
  start) start ;;
  stop) stop ;;
  *) die "usage: bash $0 start|stop [DIR]" ;;
esac
