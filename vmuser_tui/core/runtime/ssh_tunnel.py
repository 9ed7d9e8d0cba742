"""One supervised OpenSSH tunnel per engine: a local unix socket forwarded to a remote one.

An ``ssh://user@host[:port]`` engine is reached through ``<runtime_dir>/<name>.sock``, a
socket that ``ssh -N -L`` forwards to the remote Docker socket; the docker SDK then talks
plain ``unix://`` to it. Why not docker-py's own ssh modes: ``use_ssh_client`` starts one
``ssh`` per API request (~1 s per exec, and it hung over 40 s on a stalled host), and
paramiko ignores much of ``~/.ssh/config`` (jump hosts, agents, match blocks) and took
~0.3 s per exec. One long-lived OpenSSH process uses the user's own config, agent and jump
hosts and costs about what a local socket does per exec (issue #14 measured ~55 ms).

The ssh process runs in its own process group (a Ctrl-C in the terminal does not reach it),
is stopped by :meth:`SshTunnel.close` and at interpreter exit, and is watched by
``ServerAliveInterval`` so a dead host ends it within ~10 s. Failed starts back off
(0.2 s doubling to 5 s, remembered across calls) so a dead host is not hammered.

Needed on the remote host: sshd allowing socket forwards (``AllowStreamLocalForwarding``,
default yes, and ``AllowTcpForwarding`` not ``no``: OpenSSH 9.2 refuses socket forwards
then too), and a login user who may use the Docker socket (root or group ``docker``).

Errors: :class:`RuntimeUnavailableError` (one line: ssh's own last stderr line and the
fix); :class:`UsageError` for a malformed URL, target or engine name.
"""

from __future__ import annotations

import atexit
import os
import re
import signal
import socket
import stat
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from vmuser_tui.core.errors import RuntimeUnavailableError, UsageError

BACKOFF_FIRST = 0.2  # seconds before the first retry after a failed start
BACKOFF_MAX = 5.0  # seconds: the longest wait between failed starts
_SUN_PATH_MAX = 107  # bytes a unix socket path may have on Linux (108 with the NUL)
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_HOST_RE = re.compile(r"^[A-Za-z0-9_.:%-]+$")  # DNS names, IPv4, IPv6 (unbracketed), ssh aliases
_USER_RE = re.compile(r"^[A-Za-z0-9_.][A-Za-z0-9_.@-]*$")
# A Docker /_ping over the tunnel: proves the far end is an engine, not just that ssh listens.
_PING = b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n"


def parse_ssh_url(url: str) -> tuple[str, int | None]:
    """``"ssh://[user@]host[:port]"`` -> ``("user@host", port or None)``.

    The target goes to ssh as is, so the user's ``~/.ssh/config`` (``Host`` aliases, ports,
    jump hosts) applies. Raises :class:`UsageError` naming the fix for anything else: another
    scheme, a password, a path, a bad port, or a host ssh would read as an option.
    """
    fix = "use ssh://user@host[:port], e.g. ssh://me@build-box:2222"
    text = url.strip()
    if not text.startswith("ssh://"):
        raise UsageError(f"engine url '{url}' is not an ssh:// url: {fix}")
    parts = urlsplit(text)
    if parts.password is not None:
        raise UsageError(f"engine url '{url}' holds a password: remove it and use a key or ssh-agent ({fix})")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise UsageError(f"engine url '{url}' has a path or query: {fix} (the remote socket is a separate setting)")
    try:
        port = parts.port
    except ValueError:
        raise UsageError(f"engine url '{url}' has a bad port: {fix} (port 1-65535)") from None
    if port == 0:
        raise UsageError(f"engine url '{url}' has a bad port: {fix} (port 1-65535)")
    host = parts.hostname or ""
    user = parts.username
    if not host or not _HOST_RE.match(host) or host.startswith("-"):
        raise UsageError(f"engine url '{url}' has no valid host: {fix}")
    if user is not None and (not _USER_RE.match(user)):
        raise UsageError(f"engine url '{url}' has a bad user name '{user}': {fix}")
    return (f"{user}@{host}" if user else host), port


def _split_target(target: str) -> tuple[str, int | None]:
    """``"user@host[:port]"`` (IPv6 as ``user@[::1]:22``) -> ``(destination, port or None)``."""
    return parse_ssh_url("ssh://" + target.strip())


class SshTunnel:
    """``ssh -N -L <runtime_dir>/<name>.sock:<remote_socket> [ssh_options] [-p port] target``.

    ``target`` is ``"user@host[:port]"`` (or an ssh config alias); ``ssh_options`` are extra
    ssh arguments (``-o K=V``, ``-i key``, ``-F config``). Nothing runs until
    :meth:`ensure`. ssh's stderr goes to ``<runtime_dir>/<name>.log`` (rewritten per
    start). Thread-safe: one lock serialises ensure/close.
    """

    def __init__(
        self,
        name: str,
        target: str,
        remote_socket: str = "/var/run/docker.sock",
        *,
        runtime_dir: Path,
        ssh_options: list[str] | None = None,
    ) -> None:
        if not _NAME_RE.match(name):
            raise UsageError(f"engine name '{name}' is not usable: use letters, digits, '.', '_' or '-'")
        if not remote_socket.startswith("/"):
            raise UsageError(f"remote socket '{remote_socket}' must be an absolute path, e.g. /var/run/docker.sock")
        self.name = name
        self.target = target
        self.destination, self.port = _split_target(target)
        self.remote_socket = remote_socket
        self.runtime_dir = Path(runtime_dir)
        self.ssh_options = list(ssh_options or [])
        self.socket_path = str(self.runtime_dir / f"{name}.sock")
        self.log_path = self.runtime_dir / f"{name}.log"
        if len(os.fsencode(self.socket_path)) > _SUN_PATH_MAX:
            raise UsageError(
                f"tunnel socket path '{self.socket_path}' is longer than {_SUN_PATH_MAX} bytes: "
                "use a shorter runtime directory or engine name"
            )
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._delay = 0.0  # seconds to wait after the last failed start (0: none failed)
        self._next_start = 0.0  # time.monotonic() before which no new ssh is started
        self._last_error = ""
        self._at_exit = False  # close() is registered with atexit while ssh may run

    # -- public -----------------------------------------------------------------------
    def argv(self) -> list[str]:
        """The ssh command line (for ``engine check`` and tests)."""
        port = ["-p", str(self.port)] if self.port else []
        return [
            "ssh", "-N",
            "-o", "ExitOnForwardFailure=yes",
            "-o", "ServerAliveInterval=5",
            "-o", "ServerAliveCountMax=2",
            "-o", "BatchMode=yes",
            "-o", "StreamLocalBindUnlink=yes",
            "-L", f"{self.socket_path}:{self.remote_socket}",
            *self.ssh_options, *port, self.destination,
        ]  # fmt: skip

    @property
    def pid(self) -> int | None:
        """The pid of the ssh process this object started (also its process group), or None."""
        return self._proc.pid if self._proc is not None else None

    def alive(self) -> bool:
        """True while the ssh process this object started is running."""
        return self._proc is not None and self._proc.poll() is None

    def ensure(self, timeout: float = 10.0) -> str:
        """Return the local socket path once a connect to it succeeds.

        A socket that answers is used as is (also one another vmuser process on the same
        runtime directory started). Otherwise: stop our dead or stuck ssh, remove the stale
        socket, wait out the backoff (or fail at once with the last reason when it would
        not fit in ``timeout`` seconds), start ssh, wait until the socket answers a Docker
        ``/_ping``. Raises :class:`RuntimeUnavailableError` naming the fix.
        """
        with self._lock:
            if self._answers():
                return self.socket_path
            deadline = time.monotonic() + timeout
            self._stop()
            wait = self._next_start - time.monotonic()
            if wait > 0:
                if time.monotonic() + wait >= deadline:
                    raise RuntimeUnavailableError(f"{self._last_error} (next try in {wait:.1f} s)")
                time.sleep(wait)
            try:
                self._start(deadline, timeout)
            except RuntimeUnavailableError as err:
                self._stop()
                self._last_error = str(err)
                self._delay = min(BACKOFF_MAX, self._delay * 2) if self._delay else BACKOFF_FIRST
                self._next_start = time.monotonic() + self._delay
                raise
            self._delay = 0.0
            self._next_start = 0.0
            return self.socket_path

    def close(self) -> None:
        """Stop the ssh process (SIGTERM to its group, SIGKILL after 2 s) and remove its socket."""
        with self._lock:
            self._stop()
            if self._at_exit:
                atexit.unregister(self.close)
                self._at_exit = False

    # -- internals --------------------------------------------------------------------
    def _answers(self) -> bool:
        """True when something accepts a connect on the socket path (cheap: local only)."""
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(1.0)
                sock.connect(self.socket_path)
            return True
        except OSError:
            return False

    def _prepare_dir(self) -> None:
        """Create the runtime dir 0700; refuse one another user owns (their socket would be ours)."""
        try:
            self.runtime_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            info = self.runtime_dir.stat()
            if info.st_uid != os.getuid():
                raise RuntimeUnavailableError(
                    f"tunnel directory {self.runtime_dir} belongs to another user: remove it or use another data dir"
                )
            if stat.S_IMODE(info.st_mode) != 0o700:
                os.chmod(self.runtime_dir, 0o700)
            path = Path(self.socket_path)
            if path.is_symlink() or path.exists():
                path.unlink()  # stale: _answers() said nobody listens
        except OSError as err:
            raise RuntimeUnavailableError(
                f"cannot prepare tunnel directory {self.runtime_dir} ({err.strerror or err}): check its permissions"
            ) from err

    def _start(self, deadline: float, timeout: float) -> None:
        self._prepare_dir()
        with open(self.log_path, "wb") as log:
            os.chmod(self.log_path, 0o600)
            try:
                # Own session and process group: the terminal's Ctrl-C stays with vmuser, and
                # close() can signal ssh and anything it spawned (ProxyCommand) together.
                self._proc = subprocess.Popen(
                    self.argv(),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=log,
                    start_new_session=True,
                    close_fds=True,
                )
            except OSError as err:
                raise RuntimeUnavailableError(
                    f"engine '{self.name}': cannot run ssh ({err.strerror or err}): install openssh-client"
                ) from err
        if not self._at_exit:
            atexit.register(self.close)
            self._at_exit = True
        proc = self._proc
        while True:
            if proc.poll() is not None:
                raise self._failure(f"ssh exited ({proc.returncode})")
            if self._answers():
                break
            if time.monotonic() >= deadline:
                raise self._failure(f"no tunnel within {timeout:g} s")
            time.sleep(0.02)
        reason = self._ping(max(0.5, deadline - time.monotonic()))
        if reason:
            raise self._failure(reason, remote=True)

    def _ping(self, timeout: float) -> str:
        """'' when the far end answers a Docker ``/_ping``, else a short reason."""
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(timeout)
                sock.connect(self.socket_path)
                sock.sendall(_PING)
                head = sock.recv(64)
        except OSError as err:
            return f"no answer from {self.remote_socket} ({err.strerror or err})"
        if head.startswith(b"HTTP/"):
            return ""
        return f"{self.remote_socket} closed the connection" if not head else f"{self.remote_socket} is not Docker"

    def _failure(self, what: str, *, remote: bool = False) -> RuntimeUnavailableError:
        """One line: the engine, ssh's own last word (log), and what to check."""
        said = self._last_log_line()
        where = f"ssh {'-p ' + str(self.port) + ' ' if self.port else ''}{self.destination}"
        if remote:
            fix = f"check Docker runs there and the ssh user may use {self.remote_socket} (e.g. group docker)"
        else:
            fix = f"check `{where}` works without a password"
        detail = f"{what}: {said}" if said else what
        return RuntimeUnavailableError(f"engine '{self.name}': ssh tunnel to {self.target} failed ({detail}): {fix}")

    def _last_log_line(self) -> str:
        try:
            lines = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return ""
        # Warnings ssh prints on every run (known-hosts additions) are not the reason.
        useful = [ln.strip() for ln in lines if ln.strip() and not ln.startswith("Warning: Permanently added")]
        return " ".join(useful[-1].split())[:200] if useful else ""

    def _stop(self) -> None:
        """Stop our ssh (if any) and remove the socket it listened on; caller holds the lock."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            # poll() is None: not reaped, so the pid (= its process group id) is still ours.
            for sig, grace in ((signal.SIGTERM, 2.0), (signal.SIGKILL, 5.0)):
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    proc.wait(grace)
                    break
                except subprocess.TimeoutExpired:
                    continue
        # ssh does not remove its listening socket; a later start would (StreamLocalBindUnlink),
        # but a leftover file makes the engine look configured-but-dead to other processes.
        if not self._answers():
            try:
                os.unlink(self.socket_path)
            except OSError:
                pass
