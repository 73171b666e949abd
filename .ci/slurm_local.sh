#!/usr/bin/env bash
# A one-node Slurm on localhost for the tests that submit through Parsl's SlurmProvider.
#   .ci/slurm_local.sh start   install slurm-wlm + munge if missing (Debian/Ubuntu, as root),
#                              start munged, slurmctld and slurmd; wait until `sinfo` shows the node
#   .ci/slurm_local.sh stop    stop the daemons this script started (and only those)
# Idempotent: a Slurm that already answers is used as it is and never stopped; a slurm.conf not
# written by this script is never replaced. No cgroups: proctrack/linuxproc, task/none.
set -euo pipefail
STATE=/run/lizrcl-slurm
CONF=/etc/slurm/slurm.conf
MARK="# written by lizrcl .ci/slurm_local.sh"

answers() { timeout 10 sinfo -h -o %T 2>/dev/null | grep -qE 'idle|mix|alloc'; }

start() {
    if command -v sinfo >/dev/null && answers; then
        echo "slurm_local: a Slurm already answers; using it"; return 0
    fi
    if [ "$(id -u)" != 0 ]; then echo "slurm_local: not root, cannot start Slurm" >&2; return 1; fi
    if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends slurm-wlm munge >/dev/null \
            || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends slurm-wlm munge >/dev/null; }
    fi
    mkdir -p "$STATE" /run/munge /var/log/munge /var/lib/munge /var/lib/slurm/slurmctld /var/lib/slurm/slurmd \
        /var/log/slurm /run/slurm
    chown munge:munge /run/munge /var/log/munge /var/lib/munge
    if [ ! -s /etc/munge/munge.key ]; then
        dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
        chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key
    fi
    if ! munge -n >/dev/null 2>&1; then
        runuser -u munge -- /usr/sbin/munged
        echo munged >> "$STATE/started"
    fi
    if [ -e "$CONF" ] && ! grep -qF "$MARK" "$CONF"; then
        echo "slurm_local: $CONF exists and is not ours; not touching it" >&2; return 1
    fi
    local host node
    host=$(hostname -s)
    node=$(slurmd -C | head -1)
    cat > "$CONF" <<CONF
$MARK
ClusterName=lizrcl-ci
SlurmctldHost=$host(127.0.0.1)
AuthType=auth/munge
SlurmUser=root
SlurmdUser=root
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
StateSaveLocation=/var/lib/slurm/slurmctld
SlurmdSpoolDir=/var/lib/slurm/slurmd
SlurmctldPidFile=/run/slurm/slurmctld.pid
SlurmdPidFile=/run/slurm/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
    if ! pidof slurmctld >/dev/null; then /usr/sbin/slurmctld; echo slurmctld >> "$STATE/started"; fi
    if ! pidof slurmd >/dev/null; then /usr/sbin/slurmd; echo slurmd >> "$STATE/started"; fi
    for _ in $(seq 30); do answers && { echo "slurm_local: $(sinfo -h -o '%P %D %T %N')"; return 0; }; sleep 1; done
    echo "slurm_local: Slurm did not come up; logs:" >&2
    tail -n 20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2 || true
    return 1
}

stop() {
    [ -f "$STATE/started" ] || return 0
    local pidfile
    for daemon in slurmd slurmctld munged; do
        grep -qx "$daemon" "$STATE/started" || continue
        case $daemon in
            munged) pidfile=/run/munge/munged.pid ;;
            *) pidfile=/run/slurm/$daemon.pid ;;
        esac
        if [ -s "$pidfile" ]; then kill "$(cat "$pidfile")" 2>/dev/null || true; fi
    done
    rm -f "$STATE/started"
    echo "slurm_local: stopped the daemons it had started"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
