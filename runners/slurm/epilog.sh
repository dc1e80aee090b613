#!/bin/sh
# Slurm epilog for gitramp's slurm backend: runs as root on the compute node after
# every job, however the job ended (completed, scancel, time limit, node set down).
# It removes the containers and volumes the job's scorer started, found by the
# label gitramp.slurm_job=<job id> (scorer/backends/slurm_job.py puts it on them).
# They are the Docker engine's children, not the job's, so Slurm's own process
# tracking never sees them; without this they would outlive the job.
#
# Install: copy to the compute nodes and set `Epilog=/path/to/epilog.sh` in
# slurm.conf. It must exit 0: a failing epilog drains the node.
job="${SLURM_JOB_ID:-${SLURM_JOBID:-}}"
[ -n "$job" ] || exit 0
command -v docker >/dev/null 2>&1 || exit 0
label="gitramp.slurm_job=$job"
ids=$(timeout 30 docker ps -aq --filter "label=$label" 2>/dev/null)
if [ -n "$ids" ]; then
    # shellcheck disable=SC2086
    timeout 60 docker rm -f $ids >/dev/null 2>&1
fi
vols=$(timeout 30 docker volume ls -q --filter "label=$label" 2>/dev/null)
if [ -n "$vols" ]; then
    # shellcheck disable=SC2086
    timeout 60 docker volume rm -f $vols >/dev/null 2>&1
fi
exit 0
