# slurm_cluster.sh - start and stop a private single-host SLURM cluster (munge + slurmctld +
# slurmd) for the tests, following shared/notes/local-slurm.md. Sourced, not run; needs root.
# Everything lives in a fresh `mktemp -d` folder with its own ports, so two runs never share pid
# files or sockets. Daemons are stopped by the pids in their pid files, never by name.
#
#   cluster_start          start the daemons, export SLURM_CONF, wait until the node is idle and
#                          install an EXIT trap that calls cluster_stop. Unsets the caller's other
#                          SLURM_* variables (a test run inside a real job must not talk to it).
#                          Returns 1 with the reason in CLUSTER_ERROR on failure.
#   cluster_log_tails      the last lines of the daemons' logs, as "#" lines.
#   cluster_stop           cancel every job, stop the daemons by pid, remove the folder. Idempotent.
#   cluster_wait_job ID S  wait up to S seconds until job ID has ended (COMPLETED, FAILED, ...);
#                          prints the final JobState, returns 1 on timeout.
#   cluster_job_field ID F one field of `scontrol show job ID` (e.g. ExitCode, Restarts).
#
# munge is shared by everything on the machine: it is started only when `munge -n | unmunge` fails,
# and stopped at the end (by its pid file) only if this run started it and no other test cluster
# (another nnsweep-slurm-* folder with a live slurmctld) may be using it.

CLUSTER_DIR=""
CLUSTER_ERROR=""
CLUSTER_NODE=""
CLUSTER_STARTED_MUNGE=0

# Prints a TCP port nobody listens on (the kernel's choice for port 0).
cluster_free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])'
}

# Prints the pid in pid file $1 if that process is alive; returns 1 otherwise.
cluster_live_pid() {
  local pid
  [ -s "$1" ] || return 1
  pid=$(tr -dc '0-9' < "$1")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

# Sends TERM to the pid in pid file $1, waits up to 10 s, then KILL.
cluster_stop_pidfile() {
  local pid i
  pid=$(cluster_live_pid "$1") || return 0
  kill -TERM "$pid" 2>/dev/null
  for i in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null
}

cluster_fail() {
  CLUSTER_ERROR=$1
  return 1
}

# Prints the last lines of the daemons' logs as "#" lines (for a failure report).
cluster_log_tails() {
  local f
  [ -n "$CLUSTER_DIR" ] || return 0
  for f in "$CLUSTER_DIR"/slurmctld.log "$CLUSTER_DIR"/slurmd.log; do
    [ -s "$f" ] && { echo "#   --- tail of $f"; tail -n 12 "$f" | sed 's/^/#   /'; }
  done
}

cluster_start_munge() {
  munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && return 0
  if ! mkdir -p /run/munge /var/log/munge /var/lib/munge ||
     ! chown munge:munge /run/munge /var/log/munge /var/lib/munge; then
    cluster_fail "cannot create /run/munge (not root?)"
    return 1
  fi
  if ! runuser -u munge -- /usr/sbin/munged 2>"$CLUSTER_DIR/munged.err"; then
    cluster_fail "munged did not start: $(head -c 300 "$CLUSTER_DIR/munged.err")"
    return 1
  fi
  CLUSTER_STARTED_MUNGE=1
  local i
  for i in $(seq 1 50); do
    munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  cluster_fail "munged started but 'munge -n | unmunge' fails"
}

# cluster_conf_common CTLD_PORT SLURMD_PORT: the slurm.conf lines every test cluster shares (this
# one and test_two_nodes.sh's), after its own names, directories and nodes: root, munge, no
# cgroups, cores as the unit, requeue allowed, no accounting, one partition of every node.
cluster_conf_common() {
  cat <<EOF
SlurmctldPort=$1
SlurmdPort=$2
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
JobRequeue=1
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
# Not in the note, for the tests' speed: a requeued job waits cred_expire (default 120 s) before it
# may start again, then for the next periodic scheduler pass (default 60 s).
AuthInfo=cred_expire=10
SchedulerParameters=sched_interval=2,bf_interval=2
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
EOF
}

cluster_start() {
  CLUSTER_ERROR=""
  if [ "$(id -u)" -ne 0 ]; then cluster_fail "needs root to start slurmctld/slurmd"; return 1; fi
  local tool
  for tool in munged slurmctld slurmd sbatch srun squeue scontrol sinfo; do
    command -v "$tool" >/dev/null || PATH=$PATH:/usr/sbin
    command -v "$tool" >/dev/null || { cluster_fail "$tool not found (install slurm-wlm munge)"; return 1; }
  done
  CLUSTER_DIR=$(mktemp -d "${TMPDIR:-/tmp}/nnsweep-slurm-XXXXXX") || { cluster_fail "mktemp failed"; return 1; }
  chmod 755 "$CLUSTER_DIR"
  local prev
  prev=$(trap -p EXIT)
  if [ -n "$prev" ]; then
    eval "set -- $prev"          # trap -- 'COMMAND' EXIT
    # shellcheck disable=SC2064   # the earlier command is expanded now, on purpose
    trap "cluster_stop; $3" EXIT
  else
    trap cluster_stop EXIT
  fi
  trap 'exit 130' INT
  trap 'exit 143' TERM

  local v
  for v in $(compgen -e | grep '^SLURM_'); do unset "$v"; done
  cluster_start_munge || return 1
  CLUSTER_NODE=$(hostname -s)
  local cpus mem_mb ctld_port slurmd_port
  cpus=$(getconf _NPROCESSORS_ONLN)   # not nproc: it obeys OMP_NUM_THREADS
  mem_mb=$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 * 0.8 }' /proc/meminfo)
  if ! ctld_port=$(cluster_free_port) || ! slurmd_port=$(cluster_free_port); then
    cluster_fail "cannot find free ports"
    return 1
  fi
  mkdir -p "$CLUSTER_DIR/state" "$CLUSTER_DIR/spool"
  { cat <<EOF
ClusterName=nnsweep-test
SlurmctldHost=$CLUSTER_NODE
StateSaveLocation=$CLUSTER_DIR/state
SlurmdSpoolDir=$CLUSTER_DIR/spool
SlurmctldPidFile=$CLUSTER_DIR/slurmctld.pid
SlurmdPidFile=$CLUSTER_DIR/slurmd.pid
SlurmctldLogFile=$CLUSTER_DIR/slurmctld.log
SlurmdLogFile=$CLUSTER_DIR/slurmd.log
NodeName=$CLUSTER_NODE CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
EOF
    cluster_conf_common "$ctld_port" "$slurmd_port"; } > "$CLUSTER_DIR/slurm.conf"
  export SLURM_CONF=$CLUSTER_DIR/slurm.conf
  slurmctld -i -f "$SLURM_CONF" >"$CLUSTER_DIR/slurmctld.err" 2>&1 ||
    { cluster_fail "slurmctld did not start: $(head -c 300 "$CLUSTER_DIR/slurmctld.err")"; return 1; }
  slurmd -f "$SLURM_CONF" >"$CLUSTER_DIR/slurmd.err" 2>&1 ||
    { cluster_fail "slurmd did not start: $(head -c 300 "$CLUSTER_DIR/slurmd.err")"; return 1; }
  local state=""
  for _ in $(seq 1 60); do
    state=$(sinfo -h -n "$CLUSTER_NODE" -o %T 2>/dev/null)
    [ "$state" = idle ] && return 0
    sleep 0.5
  done
  cluster_fail "node $CLUSTER_NODE not idle after 30 s (sinfo says '${state:-nothing}')"
}

cluster_stop() {
  [ -n "$CLUSTER_DIR" ] || return 0
  local ids
  if cluster_live_pid "$CLUSTER_DIR/slurmctld.pid" >/dev/null; then
    ids=$(squeue -h -o %i 2>/dev/null)
    if [ -n "$ids" ]; then
      # shellcheck disable=SC2086
      scancel $ids 2>/dev/null
      for _ in $(seq 1 50); do
        [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break
        sleep 0.2
      done
    fi
  fi
  cluster_stop_pidfile "$CLUSTER_DIR/slurmd.pid"
  cluster_stop_pidfile "$CLUSTER_DIR/slurmctld.pid"
  if [ "$CLUSTER_STARTED_MUNGE" = 1 ]; then
    # Another test cluster started meanwhile may be using this munged: then leave it running.
    local other busy=0
    for other in "$(dirname "$CLUSTER_DIR")"/nnsweep-slurm-*/slurmctld.pid; do
      [ "$other" != "$CLUSTER_DIR/slurmctld.pid" ] && cluster_live_pid "$other" >/dev/null && busy=1
    done
    [ "$busy" = 0 ] && cluster_stop_pidfile /run/munge/munged.pid
    CLUSTER_STARTED_MUNGE=0
  fi
  rm -rf "$CLUSTER_DIR"
  CLUSTER_DIR=""
}

cluster_job_field() {
  scontrol show job -o "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}

cluster_wait_job() {
  local id=$1 timeout=$2 state="" t=0
  while [ "$t" -lt $((timeout * 2)) ]; do
    state=$(cluster_job_field "$id" JobState)
    case "$state" in
      COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE|PREEMPTED)
        echo "$state"; return 0 ;;
    esac
    sleep 0.5
    t=$((t + 1))
  done
  echo "${state:-unknown}"
  return 1
}
