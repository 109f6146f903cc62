#!/usr/bin/env bash
# Start or stop a one-node Slurm (munged, slurmctld, slurmd) for the tests.
#   usage: tests/slurm/slurm.sh start DIR    # prints: export SLURM_CONF=DIR/slurm.conf
#          tests/slurm/slurm.sh stop DIR
# Needs root and Debian's slurmctld, slurmd, slurm-client and munge. Only the
# daemons it started (pid files under DIR) are stopped.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cmd=${1:?start|stop}
DIR=${2:?state directory}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)

stop() {
  for p in slurmd slurmctld munged; do
    if [ -f "$DIR/$p.pid" ]; then
      pid=$(cat "$DIR/$p.pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
      rm -f "$DIR/$p.pid"
    fi
  done
}

if [ "$cmd" = stop ]; then stop; exit 0; fi

HOST=$(hostname -s)
CPUS=$(nproc)
MEM=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 512 ))
CTLD_PORT=${PS_SLURMCTLD_PORT:-16817}
SLURMD_PORT=${PS_SLURMD_PORT:-16818}
mkdir -p "$DIR/state" "$DIR/spool" "$DIR/munge"
sed -e "s|@HOST@|$HOST|g" -e "s|@DIR@|$DIR|g" -e "s|@CPUS@|$CPUS|g" -e "s|@MEM@|$MEM|g" \
    -e "s|@CTLD_PORT@|$CTLD_PORT|g" -e "s|@SLURMD_PORT@|$SLURMD_PORT|g" "$here/slurm.conf.in" > "$DIR/slurm.conf"
export SLURM_CONF=$DIR/slurm.conf

# munge: a private key and socket, so a system munged (if any) is left alone
if [ ! -f "$DIR/munge/munge.key" ]; then
  dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1024 count=1 status=none
  chmod 0400 "$DIR/munge/munge.key"
fi
SOCK=$DIR/munge/munge.socket
munged --force --key-file="$DIR/munge/munge.key" --socket="$SOCK" --pid-file="$DIR/munged.pid" \
       --log-file="$DIR/munged.log" --seed-file="$DIR/munge/seed"
# Slurm's auth/munge plugin uses the socket path fixed at build time: point
# that path at our munged (a system munged's socket would be replaced; CI and
# test machines have none running)
mkdir -p /run/munge
ln -sf "$SOCK" /run/munge/munge.socket.2

slurmctld -f "$DIR/slurm.conf"
slurmd -f "$DIR/slurm.conf"
for _ in $(seq 100); do
  if sinfo -h -o %T 2>/dev/null | grep -qE '^idle'; then
    echo "export SLURM_CONF=$DIR/slurm.conf"
    exit 0
  fi
  sleep 0.2
done
echo "slurm.sh: the node did not come up; logs in $DIR" >&2
tail -5 "$DIR/slurmctld.log" "$DIR/slurmd.log" >&2 || true
stop
exit 1
