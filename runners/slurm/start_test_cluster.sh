#!/bin/bash
# A one-node Slurm cluster on this machine, for gitramp's slurm backend tests.
#
#   runners/slurm/start_test_cluster.sh
#
# Installs Debian's slurmctld, slurmd, slurm-client and munge if missing, writes a
# one-node slurm.conf for this host (its CPUs and memory, cons_tres with
# CR_Core_Memory, cgroup process tracking where the cgroup v1 hierarchy is writable,
# gitramp's epilog), makes a munge key, starts munged, slurmctld and slurmd in the
# background (no systemd needed) and waits until `sinfo` shows the node idle.
# Idempotent: when the daemons already run with this configuration it only checks
# the node and returns in well under a second. Needs root (it installs packages and
# starts daemons). Logs: /var/log/slurm/. Not a production configuration: see
# runners/HPC.md for a computing centre's.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CONF_DIR=/etc/slurm
CONF="$CONF_DIR/slurm.conf"
EPILOG="$CONF_DIR/gitramp-epilog.sh"
NODE="$(hostname -s)"
PARTITION="${GITRAMP_TEST_PARTITION:-gitramp}"
WAIT="${GITRAMP_TEST_CLUSTER_WAIT:-60}"  # seconds to wait for the node to come up

log() { echo "start_test_cluster: $*" >&2; }

if [ "$(id -u)" != 0 ]; then
    log "must run as root (it installs packages and starts the Slurm daemons)"
    exit 1
fi

# ---------------------------------------------------------------- packages
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null \
        || ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
    log "installing slurmctld slurmd slurm-client munge"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends slurmctld slurmd slurm-client munge \
        >/tmp/gitramp-slurm-apt.log 2>&1 || {
        apt-get update -q >/dev/null 2>&1
        apt-get install -y -q --no-install-recommends slurmctld slurmd slurm-client munge \
            >/tmp/gitramp-slurm-apt.log 2>&1
    }
fi

# ---------------------------------------------------------------- configuration
CPUS="$(nproc)"
MEM_MB="$(free -m | awk '/^Mem:/ {print $2}')"
REAL_MB=$(( MEM_MB * 9 / 10 ))  # leave the rest to the system and the Docker engine

# Process tracking: cgroup where this host lets root make cgroups in the v1
# freezer and memory hierarchies (then --mem is enforced by the kernel), else
# linuxproc (the parent-child tree) with memory enforced by polling.
PROCTRACK="${GITRAMP_TEST_PROCTRACK:-}"
if [ -z "$PROCTRACK" ]; then
    PROCTRACK=linuxproc
    if [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" = tmpfs ] \
            && mkdir -p /sys/fs/cgroup/freezer/gitramp-probe 2>/dev/null \
            && rmdir /sys/fs/cgroup/freezer/gitramp-probe \
            && mkdir -p /sys/fs/cgroup/memory/gitramp-probe 2>/dev/null \
            && rmdir /sys/fs/cgroup/memory/gitramp-probe; then
        PROCTRACK=cgroup
    fi
fi
if [ "$PROCTRACK" = cgroup ]; then
    TRACK="ProctrackType=proctrack/cgroup
TaskPlugin=task/cgroup
JobAcctGatherType=jobacct_gather/cgroup"
else
    TRACK="ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherParams=OverMemoryKill
JobAcctGatherFrequency=task=2"
fi

mkdir -p "$CONF_DIR" /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
install -m 0755 "$HERE/epilog.sh" "$EPILOG.new"
if cmp -s "$EPILOG.new" "$EPILOG"; then rm -f "$EPILOG.new"; else mv "$EPILOG.new" "$EPILOG"; fi

NEW="$(mktemp)"
trap 'rm -f "$NEW"' EXIT
cat >"$NEW" <<CONF
# Written by gitramp's runners/slurm/start_test_cluster.sh: a one-node test cluster.
ClusterName=gitramp-test
SlurmctldHost=$NODE
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CryptoType=crypto/munge
MpiDefault=none
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
$TRACK
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
# End states stay visible to squeue/scontrol for 10 minutes (no slurmdbd here).
MinJobAge=600
KillWait=5
InactiveLimit=0
ReturnToService=1
# A job on a node that fails or is set down is requeued only when it asks for it
# (gitramp's backend submits with --no-requeue and resubmits itself, a bounded number of times).
JobRequeue=0
Epilog=$EPILOG
NodeName=$NODE CPUs=$CPUS RealMemory=$REAL_MB State=UNKNOWN
PartitionName=$PARTITION Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
CONF
if [ "$PROCTRACK" = cgroup ]; then
    CGROUP_CONF="CgroupPlugin=cgroup/v1
CgroupAutomount=no
ConstrainCores=yes
ConstrainRAMSpace=yes
ConstrainSwapSpace=yes
AllowedSwapSpace=0"
    if ! printf '%s\n' "$CGROUP_CONF" | cmp -s - "$CONF_DIR/cgroup.conf"; then
        printf '%s\n' "$CGROUP_CONF" >"$CONF_DIR/cgroup.conf"
        rm -f "$CONF"  # forces a restart below
    fi
fi

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
node_state() { sinfo -h -n "$NODE" -o %T 2>/dev/null | head -n1; }

CHANGED=0
if ! cmp -s "$NEW" "$CONF"; then
    CHANGED=1
    cp "$NEW" "$CONF"
    chmod 0644 "$CONF"
fi

# ---------------------------------------------------------------- munge
if [ ! -s /etc/munge/munge.key ]; then
    log "making a munge key"
    mkdir -p /etc/munge
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
fi
chown munge:munge /etc/munge /etc/munge/munge.key
chmod 0700 /etc/munge
chmod 0400 /etc/munge/munge.key
mkdir -p /run/munge /var/lib/munge /var/log/munge
chown munge:munge /run/munge /var/lib/munge /var/log/munge
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    log "starting munged"
    runuser -u munge -- /usr/sbin/munged --force
    for _ in $(seq 50); do
        munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break
        sleep 0.1
    done
fi

# ---------------------------------------------------------------- slurm daemons
stop() {  # $1: pid file
    if alive "$1"; then
        local pid; pid="$(cat "$1")"
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
}
if [ "$CHANGED" = 1 ]; then
    stop /run/slurmd.pid
    stop /run/slurmctld.pid
fi
if ! alive /run/slurmctld.pid; then
    log "starting slurmctld ($PROCTRACK process tracking)"
    /usr/sbin/slurmctld
fi
for _ in $(seq $(( WAIT * 10 ))); do
    scontrol ping 2>/dev/null | grep -q UP && break
    sleep 0.1
done
if ! alive /run/slurmd.pid; then
    log "starting slurmd"
    /usr/sbin/slurmd
fi

# ---------------------------------------------------------------- wait for the node
state=""
for _ in $(seq $(( WAIT * 10 ))); do
    state="$(node_state)"
    case "$state" in
        idle|mixed|allocated|completing) break ;;
        down*|drain*|drained*|fail*)
            # left down by an earlier test or restart: bring it back
            scontrol update nodename="$NODE" state=resume >/dev/null 2>&1 || true ;;
    esac
    sleep 0.1
done
case "$state" in
    idle|mixed|allocated|completing)
        log "node $NODE $state (partition $PARTITION, $CPUS CPUs, ${REAL_MB} MB, proctrack/$PROCTRACK)" ;;
    *)
        log "node $NODE did not come up within ${WAIT}s (state: ${state:-none}); see /var/log/slurm/"
        sinfo >&2 || true
        exit 1 ;;
esac
