#!/usr/bin/env bash
# Stops the daemons started by start.sh and removes their state.
here="$(cd "$(dirname "$0")" && pwd)"
export SLURM_CONF="$here/slurm.conf"
scancel --user=root >/dev/null 2>&1 || true
pkill -x slurmd || true
pkill -x slurmctld || true
pkill -x munged || true
sleep 1
rm -rf /tmp/ccrnn-slurm
