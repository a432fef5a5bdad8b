# test_two_nodes.sh - a two-node SLURM cluster on this one machine, and a node lost mid-run.
# Two slurmd "nodes" (node1, node2), each in its own network and UTS namespace, joined by veth
# pairs to a bridge on the host; slurmctld and munge on the host; Open MPI over TCP between the
# nodes (btl self,tcp on the bridge's subnet). With srun across both nodes: an NNGP sweep
# (single-rank groups), one ScaLAPACK group spanning both nodes and a data-parallel CNN run give
# the same files (h5compare --all) as the single-node run. Then an NNGP job (slurm/nngp.sbatch, 1
# rank per node) loses node1 mid-run: every process in node1's namespace (slurmd, slurmstepd, the
# batch script, srun, rank 0) gets SIGKILL; slurmctld marks the node down and the job ends
# NODE_FAIL; every item checkpointed before the kill is still in the file; the same command
# resubmitted on the surviving node takes over the lock rank 0 left on node1 (its job no longer
# runs: run_lock.c) and finishes with the uninterrupted run's file; node1 comes back (a reboot:
# its /tmp emptied, slurmd started) and the cluster runs on both nodes again.
# Everything it makes (namespaces, interfaces, daemons, the /run/netns mount, files) is removed
# at exit, by name and pid. Needs root, slurm-wlm, munge, iproute2 (ip netns), util-linux
# (nsenter, unshare); says "not ok" with the reason when the machine cannot do it. About 70 s
# on 2 cores (the node is seen down about 15 s after the kill, its job NODE_FAIL about 23 s).
# Notes: ../shared/notes/local-slurm.md, "Two nodes on one machine".
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
. tests/slurm_cluster.sh   # its helpers only (munge, free ports, pid files, job fields)
NNSWEEP=$(readlink -f "$NNSWEEP")
export NNSWEEP_BIN=$NNSWEEP   # read by slurm/common.sh
H5CMP="/usr/bin/python3 tests/h5compare.py"
T0=$SECONDS

# --- the cluster ---------------------------------------------------------------------------------
# Names: N_DIR=$TMPDIR/nnsweep-slurm-ID (the pattern slurm_cluster.sh looks for before it stops a
# munged it started), namespaces nnsweep-ID-node1/2, interfaces nnID-br (bridge), nnID-h1/h2
# (host ends), nnID-n1/n2 (node ends); a free 10.a.b.0/24: .1 the host, .2 node1, .3 node2.
N_DIR="" N_ID="" N_NET="" N_MADE_RUN_NETNS=0
NODES="node1 node2"
ns_of() { echo "nnsweep-$N_ID-$1"; }
if_of() { echo "nn$N_ID-$1"; }
addr_of() { case $1 in host) echo "$N_NET.1" ;; node1) echo "$N_NET.2" ;; node2) echo "$N_NET.3" ;; esac; }

# in_ns NODE COMMAND...: COMMAND in NODE's network namespace. Not `ip -n` or `ip netns exec`: they
# make / a slave mount in a new mount namespace, which fails in a chroot (/ is no mount point
# there; tests/fresh_machine.sh runs this test in one), and `ip netns exec` also remounts /sys
# without /sys/fs/cgroup, where slurmd refuses to start.
in_ns() { local node=$1; shift; nsenter --net="/run/netns/$(ns_of "$node")" "$@"; }

# A child subreaper around each node's slurmd: slurmstepd and the tasks are reparented to it and
# reaped when killed (this machine's PID 1 reaps no orphan; every killed process would stay a
# zombie). It lives on the host, outside the node's namespace, so killing the node spares it.
REAPER='"""reaper COMMAND...: runs COMMAND as a child subreaper and reaps every orphan below it;
exits with COMMAND'"'"'s status once no child is left."""
import ctypes, os, sys
if ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) != 0:   # PR_SET_CHILD_SUBREAPER
    sys.exit("reaper: prctl(PR_SET_CHILD_SUBREAPER) failed")
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[1], sys.argv[1:])
    finally:
        os._exit(127)
status = 1
while True:
    try:
        p, st = os.wait()
    except ChildProcessError:
        break
    if p == pid:
        status = os.waitstatus_to_exitcode(st)
sys.exit(status if status >= 0 else 128 - status)'

# node_start NODE: slurmd -D in NODE's network namespace and a new UTS namespace named NODE.
node_start() {
  local node=$1
  /usr/bin/python3 -c "$REAPER" nsenter --net="/run/netns/$(ns_of "$node")" unshare --uts \
    sh -c "hostname $node && exec slurmd -D -f $SLURM_CONF -N $node" \
    >>"$N_DIR/slurmd-$node.out" 2>&1 &
  echo $! > "$N_DIR/reaper-$node.pid"
}

# node_pids NODE: the pids of every process in NODE's network namespace.
node_pids() { ip netns pids "$(ns_of "$1")" 2>/dev/null | tr '\n' ' '; }

# node_kill NODE: SIGKILL to every process in NODE's network namespace until none is left, then
# waits for its reaper to end. Prints how many processes were killed.
node_kill() {
  local pids n=0 pid
  for _ in $(seq 1 50); do
    pids=$(node_pids "$1")
    [ -n "${pids// /}" ] || break
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null
    n=$((n + $(wc -w <<<"$pids")))
    sleep 0.1
  done
  if pid=$(cluster_live_pid "$N_DIR/reaper-$1.pid"); then
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  echo "$n"
  [ -z "$(node_pids "$1")" ]
}

# node_state NODE: sinfo's state of NODE (idle, allocated, down*, ...).
node_state() { sinfo -h -n "$1" -o %T 2>/dev/null; }

# wait_node NODE PATTERN SECONDS: waits until NODE's state matches the shell PATTERN.
wait_node() {
  local st=""
  for _ in $(seq 1 $(($3 * 4))); do
    st=$(node_state "$1")
    # shellcheck disable=SC2254   # PATTERN is a pattern
    case "$st" in $2) return 0 ;; esac
    sleep 0.25
  done
  echo "node $1 is '${st:-unknown}'"
  return 1
}

nodes_fail() { CLUSTER_ERROR=$1; return 1; }

nodes_start() {
  CLUSTER_ERROR=""
  [ "$(id -u)" -eq 0 ] || { nodes_fail "needs root (network namespaces, slurmd)"; return 1; }
  local tool
  for tool in ip nsenter unshare munged slurmctld slurmd sbatch srun squeue scontrol sinfo; do
    command -v "$tool" >/dev/null || PATH=$PATH:/usr/sbin:/sbin
    command -v "$tool" >/dev/null ||
      { nodes_fail "$tool not found (install iproute2 util-linux slurm-wlm munge)"; return 1; }
  done
  N_DIR=$(mktemp -d "${TMPDIR:-/tmp}/nnsweep-slurm-XXXXXX") || { nodes_fail "mktemp failed"; return 1; }
  chmod 755 "$N_DIR"
  # shellcheck disable=SC2034   # read by cluster_start_munge (slurm_cluster.sh)
  CLUSTER_DIR=$N_DIR
  N_ID=${N_DIR##*-}
  local v
  for v in $(compgen -e | grep '^SLURM_'); do unset "$v"; done
  local a b
  for _ in $(seq 1 100); do
    a=$((RANDOM % 200 + 20)) b=$((RANDOM % 254 + 1))
    ip -4 route show | grep -q "^10\.$a\.$b\." || ip -4 addr show | grep -q "inet 10\.$a\.$b\." ||
      { N_NET=10.$a.$b; break; }
  done
  [ -n "$N_NET" ] || { nodes_fail "no free 10.a.b.0/24 subnet"; return 1; }
  mountpoint -q /run/netns 2>/dev/null || N_MADE_RUN_NETNS=1   # `ip netns add` mounts it
  cluster_start_munge || return 1
  local br
  br=$(if_of br)
  { ip link add "$br" type bridge && ip addr add "$(addr_of host)/24" dev "$br" &&
      ip link set "$br" up; } 2>"$N_DIR/ip.err" ||
    { nodes_fail "cannot create bridge $br: $(head -c 300 "$N_DIR/ip.err")"; return 1; }
  local node x ns
  for node in $NODES; do
    x=${node#node} ns=$(ns_of "$node")
    { ip netns add "$ns" &&
        ip link add "$(if_of "h$x")" type veth peer name "$(if_of "n$x")" &&
        ip link set "$(if_of "n$x")" netns "$ns" &&
        ip link set "$(if_of "h$x")" master "$br" && ip link set "$(if_of "h$x")" up &&
        in_ns "$node" ip addr add "$(addr_of "$node")/24" dev "$(if_of "n$x")" &&
        in_ns "$node" ip link set "$(if_of "n$x")" up && in_ns "$node" ip link set lo up; } 2>"$N_DIR/ip.err" ||
      { nodes_fail "cannot make $node's namespace $ns and veth pair: $(head -c 300 "$N_DIR/ip.err")"; return 1; }
    mkdir -p "$N_DIR/spool-$node" "$N_DIR/tmp-$node"
  done
  local cpus mem ctld_port slurmd_port
  cpus=$(getconf _NPROCESSORS_ONLN)
  mem=$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 * 0.4 }' /proc/meminfo)
  if ! ctld_port=$(cluster_free_port) || ! slurmd_port=$(cluster_free_port); then
    nodes_fail "cannot find free ports"; return 1
  fi
  mkdir -p "$N_DIR/state"
  # SlurmctldHost=NAME(ADDR): the nodes reach the controller at the bridge's address (the host's
  # name resolves to 127.0.0.1 here, which is the node's own loopback inside a namespace).
  # TmpFS per node: the PMIx plugin makes TmpFS/spmix_appdir_UID_JOB.STEP on every node, and
  # two nodes sharing /tmp collide. Short timeouts so a lost node is seen in seconds.
  { cat <<EOF
ClusterName=nnsweep-2n
SlurmctldHost=$(hostname -s)($(addr_of host))
SlurmdTimeout=5
KillWait=5
MessageTimeout=5
StateSaveLocation=$N_DIR/state
SlurmdSpoolDir=$N_DIR/spool-%n
TmpFS=$N_DIR/tmp-%n
SlurmctldPidFile=$N_DIR/slurmctld.pid
SlurmdPidFile=$N_DIR/slurmd-%n.pid
SlurmctldLogFile=$N_DIR/slurmctld.log
SlurmdLogFile=$N_DIR/slurmd-%n.log
NodeName=node1 NodeHostname=node1 NodeAddr=$(addr_of node1) CPUs=$cpus RealMemory=$mem State=UNKNOWN
NodeName=node2 NodeHostname=node2 NodeAddr=$(addr_of node2) CPUs=$cpus RealMemory=$mem State=UNKNOWN
EOF
    cluster_conf_common "$ctld_port" "$slurmd_port"; } > "$N_DIR/slurm.conf"
  export SLURM_CONF=$N_DIR/slurm.conf
  slurmctld -i -f "$SLURM_CONF" >"$N_DIR/slurmctld.err" 2>&1 ||
    { nodes_fail "slurmctld did not start: $(head -c 300 "$N_DIR/slurmctld.err")"; return 1; }
  for node in $NODES; do node_start "$node"; done
  for node in $NODES; do
    wait_node "$node" idle 30 >"$N_DIR/wait.out" ||
      { nodes_fail "$(cat "$N_DIR/wait.out") after 30 s"; return 1; }
  done
}

# Prints the last lines of the daemons' logs as "#" lines.
nodes_log_tails() {
  local f
  [ -n "$N_DIR" ] || return 0
  for f in "$N_DIR"/slurmctld.log "$N_DIR"/slurmd-node*.log "$N_DIR"/slurmd-node*.out; do
    [ -s "$f" ] && { echo "#   --- tail of $f"; tail -n 12 "$f" | sed 's/^/#   /'; }
  done
}

# Cancels the jobs, stops both slurmd (TERM by pid, then KILL to whatever is left in the
# namespace), slurmctld (by pid) and munged if this test started it and no other test cluster
# uses it; deletes the namespaces, interfaces, /run/netns's mount if this test made it, and the
# folder. Idempotent.
nodes_stop() {
  [ -n "$N_DIR" ] || return 0
  local ids node pid
  if cluster_live_pid "$N_DIR/slurmctld.pid" >/dev/null; then
    ids=$(squeue -h -o %i 2>/dev/null)
    if [ -n "$ids" ]; then
      # shellcheck disable=SC2086
      scancel $ids 2>/dev/null
      for _ in $(seq 1 50); do [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break; sleep 0.2; done
    fi
  fi
  for node in $NODES; do
    cluster_stop_pidfile "$N_DIR/slurmd-$node.pid"
    node_kill "$node" >/dev/null
    if pid=$(cluster_live_pid "$N_DIR/reaper-$node.pid"); then kill -KILL "$pid" 2>/dev/null; fi
    ip netns del "$(ns_of "$node")" 2>/dev/null
    ip link del "$(if_of "h${node#node}")" 2>/dev/null
  done
  ip link del "$(if_of br)" 2>/dev/null
  cluster_stop_pidfile "$N_DIR/slurmctld.pid"
  if [ "$CLUSTER_STARTED_MUNGE" = 1 ]; then
    local other busy=0
    for other in "$(dirname "$N_DIR")"/nnsweep-slurm-*/slurmctld.pid; do
      [ "$other" != "$N_DIR/slurmctld.pid" ] && cluster_live_pid "$other" >/dev/null && busy=1
    done
    [ "$busy" = 0 ] && cluster_stop_pidfile /run/munge/munged.pid
    CLUSTER_STARTED_MUNGE=0
  fi
  # /run/netns: unmounted (and removed) only when this test mounted it and no namespace of
  # another user is in it (a namespace still mounted there would make umount fail anyway).
  if [ "$N_MADE_RUN_NETNS" = 1 ] && mountpoint -q /run/netns &&
     [ -z "$(ls -A /run/netns 2>/dev/null)" ]; then
    umount /run/netns && rmdir /run/netns
  fi
  N_MADE_RUN_NETNS=0
  rm -rf "$N_DIR"
  N_DIR=""
}

# What this test made and is still there, one item a line (nothing: all gone).
leftovers() {
  local node
  for node in $NODES; do
    [ -e "/run/netns/$(ns_of "$node")" ] && echo "namespace $(ns_of "$node")"
    ip link show "$(if_of "h${node#node}")" >/dev/null 2>&1 && echo "interface $(if_of "h${node#node}")"
  done
  ip link show "$(if_of br)" >/dev/null 2>&1 && echo "interface $(if_of br)"
  [ -n "$1" ] && [ -e "$1" ] && echo "folder $1"
  local p
  for p in "$@"; do
    [ "$p" -eq "$p" ] 2>/dev/null && kill -0 "$p" 2>/dev/null && echo "process $p"
  done
  ps -eo pid,args | grep -F -- "$N_ID" | grep -v grep | sed 's/^/process /'
}

trap 'nodes_stop; rm -rf "$TMP"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

h5() { /usr/bin/python3 "$TMP/h5tool.py" "$@"; }
cat > "$TMP/h5tool.py" <<'PY'
"""h5tool.py progress F | hosts F | kept BEFORE AFTER REF: small reads of nnsweep results files
(a file being replaced by its atomic rename is retried for up to 5 s).
progress: "DONE TOTAL STATE". hosts: the hostnames attribute. kept: every item done in BEFORE is
done in AFTER, with the values of REF (the uninterrupted run) in every per-item array."""
import sys, time
import h5py
import numpy as np

def opened(path):
    for _ in range(50):
        try:
            return h5py.File(path, "r")
        except OSError:
            time.sleep(0.1)
    return h5py.File(path, "r")

def main(cmd, *paths):
    f = opened(paths[0])
    if cmd == "progress":
        done = f["/nngp/item_done"][()]
        print(int(done.sum()), done.size, f.attrs["state"])
    elif cmd == "hosts":
        h = f.attrs["hostnames"]
        print(h.decode() if isinstance(h, bytes) else h)
    elif cmd == "kept":
        after, ref = opened(paths[1]), opened(paths[2])
        before_done = f["/nngp/item_done"][()].astype(bool)
        after_done = after["/nngp/item_done"][()].astype(bool)
        lost = np.flatnonzero(before_done & ~after_done)
        if lost.size:
            print(f"items done before the kill but not after: {lost.tolist()}")
            return 1
        nsw, nsb = ref["/nngp/test_accuracy"].shape[1:]
        names = ["test_accuracy", "log_marginal_likelihood", "noise_used", "status"]
        for name in names:
            x = after["/nngp/" + name][()].reshape(-1, nsw * nsb)[:, after_done]
            y = ref["/nngp/" + name][()].reshape(-1, nsw * nsb)[:, after_done]
            if not np.array_equal(x, y, equal_nan=True):
                print(f"/nngp/{name} of the done items differs from the uninterrupted run")
                return 1
        print(f"{int(before_done.sum())} items done before the kill, {int(after_done.sum())} "
              f"in the file after it, all with the uninterrupted run's values ({', '.join(names)})")
    return 0

sys.exit(main(*sys.argv[1:]))
PY

# --- 0. the cluster -------------------------------------------------------------------------------
if [ ! -x "$NNSWEEP" ]; then not_ok "no executable $NNSWEEP (build it first)"; exit 1; fi
if ! nodes_start; then
  not_ok "a two-node cluster starts on this machine: $CLUSTER_ERROR"
  nodes_log_tails
  exit 1
fi
ok "a two-node cluster starts in $((SECONDS - T0)) s: node1 $(addr_of node1), node2 $(addr_of node2) (own network and UTS namespaces), slurmctld on the host at $(addr_of host); both idle"
SUBNET=$N_NET.0/24
# on_nodes COMMAND...: COMMAND with Open MPI restricted to TCP on the nodes' subnet.
on_nodes() {
  OMPI_MCA_btl=self,tcp OMPI_MCA_btl_tcp_if_include=$SUBNET OMPI_MCA_oob_tcp_if_include=$SUBNET "$@"
}
# (--kill-on-bad-exit: a rank that dies ends the step at once; its peer would wait for it.)
srun2() { on_nodes timeout 120 srun --nodes=2 --ntasks-per-node=1 --mpi=pmix --kill-on-bad-exit=1 "$@"; }
# where_am_i: "RANK HOST ADDRESS" of a task.
where_am_i() {
  # shellcheck disable=SC2016   # expanded by the task's shell, on its node
  timeout 60 srun --nodes=2 --ntasks-per-node=1 sh -c \
    'echo $SLURM_PROCID $(hostname) $(ip -4 -o addr show | grep -o "inet 10[.0-9]*" | cut -c6-)' |
    sort | tr '\n' ' '
}
expect 0 "^0 node1 $(addr_of node1) 1 node2 $(addr_of node2) $" \
  "srun puts one task on each node, each with its own host name and address" -- where_am_i

# --- 1-3. the same files as on one node -------------------------------------------------------------
# same_as_one_node DESC JOB KIND NAME: KIND (nngp|cnn) of JOB with mpirun -np 2 on this host and
# with srun over both nodes (1 rank each), into $TMP/NAME-one.h5 and NAME-two.h5: every dataset
# and attribute bit-identical, and both nodes named in the file's hostnames.
same_as_one_node() {
  local desc=$1 job=$2 kind=$3 name=$4
  check "$desc: mpirun -np 2 on one node (reference)" -- \
    mpirun -np 2 "$NNSWEEP" "$kind" --quiet "$job" --out "$TMP/$name-one.h5"
  if ! srun2 "$NNSWEEP" "$kind" "$job" --out "$TMP/$name-two.h5" >"$TMP/$name-two.log" 2>&1; then
    not_ok "$desc: srun over node1 and node2"
    show_output "$TMP/$name-two.log"
    nodes_log_tails
    return 1
  fi
  expect 0 "node1.*node2|node2.*node1" "$desc: srun over node1 and node2 (the file names both hosts)" -- \
    h5 hosts "$TMP/$name-two.h5"
  check "$desc: both files identical (h5compare --all)" -- \
    $H5CMP --all "$TMP/$name-one.h5" "$TMP/$name-two.h5"
}
same_as_one_node "NNGP, single-rank groups" tests/jobs/nngp-small.ini nngp small
sed 's/^\[nngp\]/[nngp]\nsolver = scalapack\ngroup_size = 2/' tests/jobs/nngp-small.ini > "$TMP/pgp.ini"
same_as_one_node "NNGP, one ScaLAPACK group over both nodes" "$TMP/pgp.ini" nngp pgp
expect 0 "ScaLAPACK grid 1x2" "... the group was a 1x2 process grid" -- cat "$TMP/pgp-two.log"
same_as_one_node "CNN, data-parallel over both nodes" tests/jobs/cnn-resume.ini cnn cnn

# --- 4. a node lost mid-run -------------------------------------------------------------------------
cat > "$TMP/long.ini" <<'INI'
; 80 items of 1000 train / 500 test, 10 depths: about 10 s on 2 ranks, long enough to kill mid-run
[data]
dataset = fashion-mnist
classes = 0, 6
train = 1000
test = 500
[nngp]
depth = 1:10
sigma_w2 = linspace(0.5, 5, 10)
sigma_b2 = linspace(0, 2, 8)
INI
check "the long NNGP job uninterrupted with mpirun -np 2 on one node (reference)" -- \
  mpirun -np 2 "$NNSWEEP" nngp --quiet "$TMP/long.ini" --out "$TMP/long-ref.h5"
OUT=$TMP/lost.h5
# --no-requeue: the job is to end with the node (the script's own --requeue would make SLURM
# requeue it; see the notes for what then happens on the node that comes back).
id=$(on_nodes sbatch --parsable --no-requeue --nodes=2 --ntasks=2 --ntasks-per-node=1 \
       --output="$TMP/lost.log" slurm/nngp.sbatch "$TMP/long.ini" "$OUT")
p=""
for _ in $(seq 1 600); do
  p=$(h5 progress "$OUT" 2>/dev/null)
  case "$p" in [3-9]" "*" running"|[1-9][0-9]*" running") break ;; *complete) break ;; esac
  sleep 0.2
done
cp "$OUT" "$TMP/before-kill.h5" 2>/dev/null
if [[ "$p" =~ ^[0-9]+\ [0-9]+\ running$ ]] && [ "${p%% *}" -ge 3 ]; then
  ok "job $id runs on both nodes and has checkpointed items ($p)"
else
  not_ok "job $id did not reach a running state with 3 checkpointed items (progress: ${p:-no file})"
  sed 's/^/#   /' "$TMP/lost.log" 2>/dev/null | tail -20
fi
pids=$(node_pids node1)
names=$(ps -o comm= -p "$(tr ' ' ',' <<<"${pids% }")" | sort | paste -sd ' ')
t_kill=$SECONDS
if n=$(node_kill node1); then
  ok "SIGKILL to every process of node1 ($n: $names); its namespace is empty"
else
  not_ok "SIGKILL to every process of node1: still running there: $(node_pids node1)"
fi
if wait_node node1 'down*' 90 >"$TMP/out"; then
  ok "slurmctld sees node1 down $((SECONDS - t_kill)) s after the kill"
else
  not_ok "slurmctld sees node1 down: $(cat "$TMP/out") 90 s after the kill"
  nodes_log_tails
fi
state=$(cluster_wait_job "$id" 90)
if [ "$state" = NODE_FAIL ]; then
  ok "the job ends with NODE_FAIL $((SECONDS - t_kill)) s after the kill"
else
  not_ok "the job ends with NODE_FAIL (JobState: $state)"
fi
check "nothing checkpointed is lost: the file after the kill keeps every item done before it" -- \
  h5 kept "$TMP/before-kill.h5" "$OUT" "$TMP/long-ref.h5"
expect 0 "^host=node1$" "rank 0's lock is left behind, naming node1" -- cat "$OUT.lock"

# The same command again, on the surviving node: node1 is still down.
id2=$(on_nodes sbatch --parsable --no-requeue --nodes=1 --nodelist=node2 --ntasks=2 \
        --output="$TMP/resume.log" slurm/nngp.sbatch "$TMP/long.ini" "$OUT")
state=$(cluster_wait_job "$id2" 120)
if [ "$state" = COMPLETED ] && [ "$(cluster_job_field "$id2" ExitCode)" = 0:0 ]; then
  ok "the job resubmitted on node2 alone completes"
else
  not_ok "the job resubmitted on node2 alone completes (JobState $state, ExitCode $(cluster_job_field "$id2" ExitCode))"
  sed 's/^/#   /' "$TMP/resume.log" 2>/dev/null | tail -20
fi
expect 0 "taking over the lock of a run that is gone \(host node1, pid [0-9]+, SLURM job $id: SLURM says NODE_FAIL\)" \
  "... taking over the lock of the run on the lost node (SLURM says its job ended: NODE_FAIL)" -- \
  cat "$TMP/resume.log"
expect 0 "items x 10 depths.*\(resumed\)" "... resuming from the checkpointed items" -- cat "$TMP/resume.log"
check "... and its file equals the uninterrupted run's (h5compare --all)" -- \
  $H5CMP --all "$TMP/long-ref.h5" "$OUT"
[ ! -e "$OUT.lock" ] && ok "... leaving no lock" || not_ok "... leaving no lock"

# node1 comes back: a reboot empties its /tmp (TmpFS), then slurmd registers again and
# ReturnToService=2 makes the node available.
rm -rf "${N_DIR:?}/tmp-node1" && mkdir -p "$N_DIR/tmp-node1"
t_back=$SECONDS
was=$(node_state node1)
node_start node1
if wait_node node1 idle 60 >"$TMP/out"; then
  ok "node1 back: $was until its slurmd started again, idle $((SECONDS - t_back)) s later"
else
  not_ok "node1 back: $(cat "$TMP/out") 60 s after its slurmd started again"
  nodes_log_tails
fi
same_as_one_node "after the loss, NNGP over both nodes again" tests/jobs/nngp-small.ini nngp again

left=$(squeue -h -o %i)
if [ -z "$left" ]; then ok "no jobs left in the queue"; else not_ok "jobs left in the queue: $left"; fi

# --- 5. everything removed ---------------------------------------------------------------------------
dir=$N_DIR
pids="$(cat "$N_DIR"/reaper-*.pid 2>/dev/null) $(cat "$N_DIR"/slurmd-*.pid "$N_DIR"/slurmctld.pid 2>/dev/null)"
nodes_stop
# shellcheck disable=SC2086
rest=$(leftovers "$dir" $pids)
if [ -z "$rest" ]; then
  ok "everything the test made is gone (namespaces, interfaces, daemons, folder) after $((SECONDS - T0)) s"
else
  not_ok "left behind: $(echo "$rest" | tr '\n' ';')"
fi
