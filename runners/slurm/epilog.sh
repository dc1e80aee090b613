#!/bin/sh
# Slurm epilog for gitramp's slurm backend: runs as root on the compute node after
# every job, however the job ended (completed, scancel, time limit, node set down).
# It removes the containers and volumes the job's scorer started, found by the
# label gitramp.slurm_job=<job id> (scorer/backends/slurm_job.py puts it on them).
# They are the container engine's children, not the job's, so Slurm's own process
# tracking never sees them; without this they would outlive the job.
#
# Engines: every socket below that exists is asked through the Docker API, which
# Docker and Podman's service (`podman system service`) both answer: root Docker,
# root Podman, and the job owner's rootless Podman or Docker. Add a socket to
# SOCKETS if the nodes' engine listens elsewhere. Needs curl; without it, the docker
# command is used on each socket.
#
# Install: copy to the compute nodes and set `Epilog=/path/to/epilog.sh` in
# slurm.conf. It must exit 0: a failing epilog drains the node.
SOCKETS="/var/run/docker.sock /run/podman/podman.sock"

job="${SLURM_JOB_ID:-${SLURM_JOBID:-}}"
[ -n "$job" ] || exit 0
case "$job" in *[!0-9]*) exit 0 ;; esac
uid="${SLURM_JOB_UID:-${SLURM_UID:-}}"
case "$uid" in
    ''|*[!0-9]*) ;;
    *) SOCKETS="$SOCKETS /run/user/$uid/podman/podman.sock /run/user/$uid/docker.sock" ;;
esac
label="gitramp.slurm_job=$job"
filters="filters={\"label\":[\"$label\"]}"

# $1: the socket; the rest: curl's arguments
api() {
    api_socket=$1; shift
    timeout 60 curl -sf --unix-socket "$api_socket" "$@"
}

# the values of one JSON key ("Id", "Name") in the engine's answer
values() {
    grep -o "\"$1\":\"[^\"]*\"" | cut -d'"' -f4
}

remove_on() {  # $1: a socket
    if command -v curl >/dev/null 2>&1; then
        for id in $(api "$1" -G http://engine/containers/json --data-urlencode all=1 \
                --data-urlencode "$filters" | values Id); do
            api "$1" -X DELETE "http://engine/containers/$id?force=1&v=1" >/dev/null 2>&1
        done
        for vol in $(api "$1" -G http://engine/volumes --data-urlencode "$filters" \
                | values Name); do
            api "$1" -X DELETE "http://engine/volumes/$vol?force=1" >/dev/null 2>&1
        done
    elif command -v docker >/dev/null 2>&1; then
        ids=$(timeout 30 docker -H "unix://$1" ps -aq --filter "label=$label" 2>/dev/null)
        # shellcheck disable=SC2086
        [ -z "$ids" ] || timeout 60 docker -H "unix://$1" rm -f $ids >/dev/null 2>&1
        vols=$(timeout 30 docker -H "unix://$1" volume ls -q --filter "label=$label" 2>/dev/null)
        # shellcheck disable=SC2086
        [ -z "$vols" ] || timeout 60 docker -H "unix://$1" volume rm -f $vols >/dev/null 2>&1
    fi
}

for sock in $SOCKETS; do
    [ -S "$sock" ] && remove_on "$sock"
done
exit 0
