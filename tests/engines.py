"""Test engines on this machine: a second dockerd that cannot see our files, and sshd in front of it.

Fixtures (registered in tests/conftest.py, so any test module can ask for them):

- ``second_engine`` (session): a dockerd in its own mount and network namespace, with a
  tmpfs over the temp dir (``tempfile.gettempdir()``, where pytest's ``tmp_path`` lives), so
  like a remote host it sees none of the files the tests make. Its socket is outside that
  tmpfs (``/run/vmuser-e2-*/docker.sock``) and so reachable from here. Empty: no images
  (vmuser builds ``vmuser-busybox:local`` there itself). Yields :class:`SecondEngine`.
- ``disposable_engine`` (function): the same, for tests that :meth:`SecondEngine.kill` it.
- ``ssh_engine`` (session): sshd on 127.0.0.1 (port 2222 when free) with generated keys,
  root login by key, stream-local forwarding allowed; the second engine's socket is the
  "remote socket". Yields :class:`SshEngine` (``.ssh_options`` go to ``SshTunnel``).

``--bridge=none`` is only ever used inside the new network namespace: in the host's,
dockerd deletes the host's docker0 bridge and breaks the main engine for everyone.
Everything is stopped by pid (never by name); all skip with a reason when the host lacks
unshare/dockerd/sshd or we are not root.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SSHD = "/usr/sbin/sshd"
START_SECONDS = 60


def _need(tools: list[str]) -> None:
    if os.geteuid() != 0:
        pytest.skip("test engines need root (unshare --mount/--net, dockerd, sshd)")
    missing = [t for t in tools if not (shutil.which(t) or os.path.exists(t))]
    if missing:
        pytest.skip(f"test engines need {', '.join(missing)} (apt-get install docker.io util-linux openssh-server)")


def _ns(pid: int, kind: str) -> str:
    try:
        return os.readlink(f"/proc/{pid}/ns/{kind}")
    except OSError:
        return ""


def _ppids() -> dict[int, int]:
    """pid -> parent pid of every process (reads /proc: pgrep is not on every image)."""
    out: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                out[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    return out


def _kill_tree(roots: set[int], *, mount_ns: str = "") -> None:
    """SIGKILL ``roots``, every process in mount namespace ``mount_ns``, and their descendants.

    In rounds until none is left: a supervisor (dockerd) may start a child (containerd)
    between one look at /proc and the kill."""
    if mount_ns == _ns(os.getpid(), "mnt"):
        mount_ns = ""  # never "everything on this host"
    for _ in range(10):
        ppids = _ppids()
        doomed = {p for p in roots if p in ppids}
        if mount_ns:
            doomed |= {p for p in ppids if p != os.getpid() and _ns(p, "mnt") == mount_ns}
        grew = True
        while grew:  # add descendants (container processes are children of the shims)
            more = {p for p, parent in ppids.items() if parent in doomed} - doomed
            doomed |= more
            grew = bool(more)
        doomed = {p for p in doomed if _running(p)}
        if not doomed:
            return
        for pid in doomed:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_running(p) for p in doomed):
            time.sleep(0.05)


def _running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _answers(sock: str) -> bool:
    import docker

    try:
        client = docker.DockerClient(base_url="unix://" + sock, timeout=3)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:  # not up yet
        return False


@dataclass
class SecondEngine:
    """A dockerd in its own mount+net namespace. ``url`` is ``unix://<socket>``."""

    base: Path  # host-visible dir: socket, daemon log, daemon.json
    hidden: str  # the dir covered by a tmpfs inside the namespace (our temp dir)
    pid: int = 0
    mount_ns: str = ""
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def socket(self) -> str:
        return str(self.base / "docker.sock")

    @property
    def url(self) -> str:
        return "unix://" + self.socket

    @property
    def log(self) -> Path:
        return self.base / "dockerd.log"

    def start(self) -> None:
        """Start dockerd (again after :meth:`kill`: same socket, empty engine); wait until it answers."""
        self.mount_ns = ""
        root = os.path.join(self.hidden, "vmuser-e2")
        # Not the host's /etc/docker/daemon.json, nor its key.json: that key is the engine's
        # ID (docker info), and a remote host has its own.
        (self.base / "daemon.json").write_text(json.dumps({"deprecated-key-path": f"{root}/key.json"}))
        script = (
            'mount -t tmpfs -o mode=1777 tmpfs "$1" && mkdir -p "$2" && '
            "{ ip link set lo up 2>/dev/null || true; } && "
            "exec dockerd --bridge=none --iptables=false --ip-masq=false --shutdown-timeout=2 "
            '--config-file "$3/daemon.json" --data-root "$2/data" --exec-root "$2/exec" '
            '--pidfile "$2/pid" -H "unix://$3/docker.sock"'
        )
        with open(self.log, "ab") as log:
            # unshare without --fork execs: this pid is dockerd's.
            self.proc = subprocess.Popen(
                ["unshare", "--mount", "--net", "--propagation", "private",
                 "sh", "-c", script, "sh", self.hidden, root, str(self.base)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            )  # fmt: skip
        self.pid = self.proc.pid
        deadline = time.monotonic() + START_SECONDS
        while not _answers(self.socket):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                tail = self.log.read_text(errors="replace").strip().splitlines()[-5:]
                self.stop()
                if any("unshare failed" in line or "Operation not permitted" in line for line in tail):
                    pytest.skip(f"cannot make namespaces here: {' | '.join(tail)}")
                why = "exited" if self.proc.poll() is not None else f"did not answer within {START_SECONDS} s"
                pytest.fail(f"second dockerd {why}: {' | '.join(tail)}")
            time.sleep(0.2)
        # Read only now: before unshare(2) ran, the pid was still in OUR mount namespace.
        self.mount_ns = _ns(self.pid, "mnt")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """The host dies: SIGKILL dockerd, its containerd, shims and containers. The socket
        file stays (stale, refuses connects). :meth:`start` brings up an empty engine again."""
        if self.proc is not None:
            _kill_tree({self.pid}, mount_ns=self.mount_ns)
            self.proc.wait()

    def stop(self) -> None:
        """SIGTERM dockerd (it stops its containers and containerd), then SIGKILL what is left."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                pass
        _kill_tree({self.pid}, mount_ns=self.mount_ns)
        self.proc.wait()
        self.proc = None


def start_engine() -> SecondEngine:
    """Start a second engine; stop it with :func:`dispose` (also for scripts: benchmarks/)."""
    _need(["unshare", "dockerd", "sh"])
    base = Path(tempfile.mkdtemp(prefix="vmuser-e2-", dir="/run" if os.access("/run", os.W_OK) else "/var/tmp"))
    engine = SecondEngine(base=base, hidden=os.path.realpath(tempfile.gettempdir()))
    try:
        engine.start()
    except BaseException:
        shutil.rmtree(base, ignore_errors=True)
        raise
    return engine


def dispose(engine: SecondEngine) -> None:
    engine.stop()
    shutil.rmtree(engine.base, ignore_errors=True)


@pytest.fixture(scope="session")
def second_engine():
    """A dockerd that cannot see this host's temp dir (see the module docstring). A test
    that kills it should use ``disposable_engine`` instead, or call ``.start()`` after."""
    engine = start_engine()
    yield engine
    dispose(engine)


@pytest.fixture
def disposable_engine():
    """Like ``second_engine``, but one per test: kill it freely."""
    engine = start_engine()
    yield engine
    dispose(engine)


# -- sshd ---------------------------------------------------------------------------
@dataclass
class SshEngine:
    """sshd on 127.0.0.1:``port`` in front of ``remote_socket`` (the second engine's)."""

    dir: Path
    port: int
    key: Path  # the client's private key
    ssh_config: Path  # Host 127.0.0.1 and vmuser-test-sshd: key, port, no host key checks
    remote_socket: str
    pid: int = 0
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    target: str = "root@127.0.0.1"

    @property
    def url(self) -> str:
        return f"ssh://{self.target}:{self.port}"

    @property
    def ssh_options(self) -> list[str]:
        """Extra ssh arguments for ``SshTunnel``: this config file only (not ~/.ssh/config)."""
        return ["-F", str(self.ssh_config)]

    def stop(self) -> None:
        """SIGKILL the listener and the per-connection sshd processes it forked; remove the dir."""
        if self.proc is not None:
            _kill_tree({self.pid})
            self.proc.wait()
            self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)


def _free_port(preferred: int = 2222) -> int:
    for port in (preferred, 0):
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as sshd does: TIME_WAIT is fine
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise RuntimeError("no free port")  # pragma: no cover


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "vmuser-test", "-f", str(path)], check=True)


def start_sshd(remote_socket: str) -> SshEngine:
    """Start sshd in front of ``remote_socket``; :meth:`SshEngine.stop` ends it (by pid)."""
    _need([SSHD, "ssh", "ssh-keygen"])
    base = Path(tempfile.mkdtemp(prefix="vmuser-sshd-"))
    _keygen(base / "host_key")
    _keygen(base / "id_ed25519")
    shutil.copy(base / "id_ed25519.pub", base / "authorized_keys")
    port = _free_port()
    (base / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {base}/host_key\nPidFile {base}/sshd.pid\n"
        f"AuthorizedKeysFile {base}/authorized_keys\nPermitRootLogin prohibit-password\n"
        "PubkeyAuthentication yes\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        "AllowStreamLocalForwarding yes\nAllowTcpForwarding local\nStrictModes no\nUsePAM no\n"
        "LogLevel VERBOSE\n"
    )
    config = base / "ssh_config"
    config.write_text(
        f"Host 127.0.0.1 vmuser-test-sshd\n  HostName 127.0.0.1\n  Port {port}\n  User root\n"
        f"  IdentityFile {base}/id_ed25519\n  IdentitiesOnly yes\n  IdentityAgent none\n"
        "  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n"
    )
    # AllowTcpForwarding must not be "no": OpenSSH (9.2) then refuses socket forwards too.
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege-separation dir
    with open(base / "sshd.log", "ab") as log:
        proc = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(base / "sshd_config")],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    engine = SshEngine(
        dir=base, port=port, key=base / "id_ed25519", ssh_config=config,
        remote_socket=remote_socket, pid=proc.pid, proc=proc,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return engine
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = (base / "sshd.log").read_text(errors="replace").strip().splitlines()[-5:]
                engine.stop()
                pytest.fail(f"sshd did not listen on 127.0.0.1:{port}: {' | '.join(tail)}")
            time.sleep(0.05)


@pytest.fixture(scope="session")
def ssh_engine(second_engine):
    """sshd forwarding to ``second_engine``'s socket; stopped by pid at the end."""
    engine = start_sshd(second_engine.socket)
    yield engine
    engine.stop()
