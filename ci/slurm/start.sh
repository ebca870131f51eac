#!/usr/bin/env bash
# Starts a one-node Slurm on this machine (munged, slurmctld, slurmd) with ci/slurm/slurm.conf
# and waits until the node accepts jobs. Needs root and Debian's slurm-wlm and munge packages.
# Exports nothing: callers set SLURM_CONF to this directory's slurm.conf. Stop with stop.sh.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
export SLURM_CONF="$here/slurm.conf"
mkdir -p /tmp/ccrnn-slurm/state /tmp/ccrnn-slurm/spool
# munge: a key (the package usually made one), then the daemon as the munge user.
if [ ! -s /etc/munge/munge.key ]; then
    dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
fi
chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
mkdir -p /run/munge /var/log/munge /var/lib/munge
chown munge:munge /run/munge /var/log/munge /var/lib/munge
if ! pgrep -x munged >/dev/null; then
    runuser -u munge -- /usr/sbin/munged --force
fi
munge -n | unmunge >/dev/null
# The controller and the node daemon, as root.
pgrep -x slurmctld >/dev/null || /usr/sbin/slurmctld -c
pgrep -x slurmd >/dev/null || /usr/sbin/slurmd -N ccrnn-node
for _ in $(seq 1 60); do
    if sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
        exit 0
    fi
    scontrol update nodename=ccrnn-node state=resume >/dev/null 2>&1 || true
    sleep 1
done
echo "slurm did not come up; node state: $(sinfo -h -o '%T %E' 2>&1)" >&2
tail -n 20 /tmp/ccrnn-slurm/slurmctld.log /tmp/ccrnn-slurm/slurmd.log >&2 || true
exit 1
