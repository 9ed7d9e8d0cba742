#!/usr/bin/env bash
# Make a Docker engine reachable for the integration tests; idempotent.
#
# - engine already answers: nothing to do;
# - dockerd or a static busybox missing: install docker.io and busybox-static (Debian/Ubuntu);
#   busybox-static is what vmuser builds its offline fallback image from;
# - sshd or ssh missing: install openssh-server and openssh-client (the ssh engine tests
#   run sshd on 127.0.0.1 in front of a second dockerd: tests/engines.py);
# - start dockerd in the background (log: /tmp/dockerd.log) and wait up to 60 s for it.
set -euo pipefail

LOG=/tmp/dockerd.log
WAIT_SECONDS=60

# Root needs no sudo; elsewhere (GitHub runners) use it when present.
SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then
  SUDO="sudo"
fi

if [ ! -x /usr/sbin/sshd ] || ! command -v ssh >/dev/null 2>&1 || ! command -v ssh-keygen >/dev/null 2>&1; then
  echo "installing openssh-server and openssh-client"
  $SUDO apt-get update
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y openssh-server openssh-client
fi

if docker info >/dev/null 2>&1; then
  echo "docker engine already running"
  exit 0
fi

if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1 || [ ! -x /bin/busybox ]; then
  echo "installing docker.io and busybox-static"
  $SUDO apt-get update
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y docker.io busybox-static
fi

# True when a dockerd process exists (reads /proc: pgrep is not on every image).
dockerd_running() {
  local comm
  for comm in /proc/[0-9]*/comm; do
    [ "$(cat "$comm" 2>/dev/null)" = dockerd ] && return 0
  done
  return 1
}

# The docker.io package starts the service itself on systemd hosts; don't start a second one.
# (dockerd replaces a stale socket file left by a dead predecessor by itself.)
if ! docker info >/dev/null 2>&1 && ! dockerd_running; then
  echo "starting dockerd (log: $LOG)"
  $SUDO sh -c "nohup dockerd >'$LOG' 2>&1 </dev/null &"
fi

for ((i = 0; i < WAIT_SECONDS; i++)); do
  if docker info >/dev/null 2>&1 || $SUDO docker info >/dev/null 2>&1; then
    # Let a non-root CI user reach the socket without re-login.
    if ! docker info >/dev/null 2>&1; then
      $SUDO chmod 666 /var/run/docker.sock
    fi
    echo "docker engine ready: $(docker version --format '{{.Server.Version}}' 2>/dev/null)"
    exit 0
  fi
  sleep 1
done

echo "ERROR: dockerd did not answer within ${WAIT_SECONDS} s; last lines of $LOG:" >&2
tail -n 40 "$LOG" >&2 2>/dev/null || echo "(no log at $LOG)" >&2
exit 1
