#!/bin/bash
# Root Podman's Docker-compatible service on this machine, for the docker backend's
# Podman engine (GITRAMP_ENGINE=podman) and its tests.
#
#   runners/podman/start_service.sh [IMAGE_TAG]
#
# Installs Debian's podman if missing, writes the engine's configuration for a host
# without systemd (the cgroupfs cgroup manager, events in a file, the default
# ulimits of containers within this host's hard limits), picks a storage driver that
# works here (overlay, else vfs), starts `podman system service --time=0` on
# unix:///run/podman/podman.sock in the background and waits until it answers, then
# gives it Docker's scoring image with `gitramp image load --engine podman` (or, for
# an IMAGE_TAG given, `docker save | podman load` unless Podman has it). Idempotent:
# when the service answers and holds the image it returns within seconds. Needs
# root. Log: /var/log/gitramp-podman.log. Why root, and what rootless Podman needs:
# runners/ENGINES.md.
set -euo pipefail

SOCKET_PATH=/run/podman/podman.sock
SOCKET="unix://$SOCKET_PATH"
CONF=/etc/containers/gitramp-containers.conf
LOG=/var/log/gitramp-podman.log
WAIT="${GITRAMP_PODMAN_WAIT:-30}"  # seconds to wait for the service to answer

log() { echo "start_service: $*" >&2; }

if [ "$(id -u)" != 0 ]; then
    log "must run as root (it installs podman and starts its service)"
    exit 1
fi

if ! command -v podman >/dev/null; then
    log "installing podman"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends podman >/tmp/gitramp-podman-apt.log 2>&1 || {
        apt-get update -q >/dev/null 2>&1
        apt-get install -y -q --no-install-recommends podman >/tmp/gitramp-podman-apt.log 2>&1
    }
fi

# Podman gives a container RLIMIT_NOFILE 1048576 and RLIMIT_NPROC up to 32768 unless
# told otherwise; where root lacks CAP_SYS_RESOURCE (a container or a VM that caps
# it) runc may not raise a limit past the host's hard one and every start fails.
# Containers get the host's hard limits instead (the backend sets its own nofile).
nofile=$(ulimit -Hn); nproc=$(ulimit -Hu)
[ "$nofile" = unlimited ] && nofile=1048576
[ "$nproc" = unlimited ] && nproc=32768
[ "$nproc" -gt 32768 ] && nproc=32768
mkdir -p "$(dirname "$CONF")" "$(dirname "$SOCKET_PATH")"
cat >"$CONF.tmp" <<CONFIG
# written by gitramp's runners/podman/start_service.sh
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]

[engine]
# no systemd here: cgroups are made by hand and events go to a file
cgroup_manager = "cgroupfs"
events_logger = "file"
CONFIG
mv "$CONF.tmp" "$CONF"
export CONTAINERS_CONF="$CONF"

driver=""
for d in overlay vfs; do
    if podman --storage-driver="$d" info >/dev/null 2>&1; then driver=$d; break; fi
done
[ -n "$driver" ] || { log "no storage driver works (overlay, vfs): podman info says:"; podman info; exit 1; }
podman_() { podman --storage-driver="$driver" "$@"; }

answers() { curl -sf --max-time 5 --unix-socket "$SOCKET_PATH" http://d/_ping >/dev/null 2>&1; }
if ! answers; then
    log "starting podman system service on $SOCKET (storage driver $driver)"
    rm -f "$SOCKET_PATH"
    # from /: a daemon keeps its working folder, and once a checkout it was started in
    # is removed, Podman can no longer start a container ("write child: broken pipe")
    (cd / && setsid podman --storage-driver="$driver" system service --time=0 "$SOCKET" \
        >>"$LOG" 2>&1 </dev/null &)
    for _ in $(seq 1 "$WAIT"); do answers && break; sleep 1; done
    answers || { log "the service did not answer within $WAIT s"; tail -30 "$LOG"; exit 1; }
fi

tag="${1:-}"
if [ -z "$tag" ]; then
    # `gitramp image load`, from the checkout's virtual environment if any: Docker's
    # scoring image through the service's API (whatever its storage), unless Podman
    # holds that image id already
    python="$(dirname "$0")/../../.venv/bin/python"
    [ -x "$python" ] || python=python3
    tag="$("$python" -m gitramp image tag)"
    GITRAMP_ENGINE_URL="$SOCKET" "$python" -m gitramp image load --engine podman >&2
elif ! podman_ image exists "$tag"; then
    docker image inspect "$tag" >/dev/null 2>&1 || {
        log "Docker has no image $tag to give Podman: build it first (make image)"; exit 1; }
    log "loading $tag from Docker into Podman"
    docker save "$tag" | podman_ load -q >/dev/null
fi
podman_ image exists "$tag" || { log "$tag is not in Podman after loading it"; exit 1; }
log "podman $(podman --version | awk '{print $3}') answers on $SOCKET with $tag (storage $driver, cgroups $(podman_ info --format '{{.Host.CgroupsVersion}}'))"
