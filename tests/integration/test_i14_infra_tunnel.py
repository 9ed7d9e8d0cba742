"""The ssh tunnel to an engine on "another host", and the test engines that stand in for one.

Real sshd, real second dockerd (tests/engines.py). The tunnel must reach the other engine
(not ours), come back after its ssh dies or a stale socket is left, and fail fast with
ssh's own reason in one line. Error timings are bounded generously (15 s): a hang is the bug.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from vmuser_tui.core.errors import RuntimeUnavailableError, UsageError
from vmuser_tui.core.runtime.ssh_tunnel import SshTunnel, parse_ssh_url

pytestmark = pytest.mark.docker


@pytest.fixture
def run_dir() -> Iterator[Path]:
    """A short, not yet existing runtime dir (unix socket paths are limited to 107 bytes)."""
    parent = Path(tempfile.mkdtemp(prefix="vt-", dir="/tmp"))
    yield parent / "run"
    shutil.rmtree(parent, ignore_errors=True)


@pytest.fixture
def tunnel(ssh_engine, run_dir) -> Iterator[SshTunnel]:
    t = SshTunnel(
        "e2", f"{ssh_engine.target}:{ssh_engine.port}", ssh_engine.remote_socket,
        runtime_dir=run_dir, ssh_options=ssh_engine.ssh_options,
    )  # fmt: skip
    yield t
    t.close()


def _client(url: str):
    import docker

    return docker.DockerClient(base_url=url, timeout=20)


def _engine_id(url: str) -> str:
    client = _client(url)
    try:
        return str(client.info()["ID"])
    finally:
        client.close()


def _no_key_options(key: Path) -> list[str]:
    """ssh options with only ``key`` (no config file, agent or known hosts)."""
    return [
        "-F", "/dev/null", "-i", str(key), "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
        "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
    ]  # fmt: skip


def test_tunnel_reaches_the_second_engine_not_ours(tunnel, second_engine, run_dir):
    path = tunnel.ensure()
    assert path == str(run_dir / "e2.sock")
    assert (run_dir.stat().st_mode & 0o777) == 0o700
    client = _client("unix://" + path)
    try:
        assert client.ping()
        info = client.info()
        assert client.version()["ApiVersion"]
    finally:
        client.close()
    local_id = _engine_id(os.environ.get("VMUSER_DOCKER_BASE_URL") or "unix:///var/run/docker.sock")
    assert info["ID"] == _engine_id(second_engine.url) != local_id
    assert info["DockerRootDir"].endswith("/vmuser-e2/data")
    # Own process group: a Ctrl-C in vmuser's terminal does not reach ssh.
    assert tunnel.pid is not None and os.getpgid(tunnel.pid) == tunnel.pid
    assert tunnel.ensure() == path and tunnel.alive()  # a live tunnel is reused


def test_killed_ssh_is_restarted_by_the_next_ensure(tunnel):
    tunnel.ensure()
    first = tunnel.pid
    assert first is not None
    os.kill(first, signal.SIGKILL)
    while tunnel.alive():
        time.sleep(0.01)
    path = tunnel.ensure()
    assert tunnel.pid != first and tunnel.alive()
    client = _client("unix://" + path)
    try:
        assert client.ping()
    finally:
        client.close()


def test_stale_socket_file_is_replaced(tunnel, run_dir):
    run_dir.mkdir(mode=0o700)
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(run_dir / "e2.sock"))  # bound, never listening: connects are refused
    stale.close()
    assert (run_dir / "e2.sock").exists()
    client = _client("unix://" + tunnel.ensure())
    try:
        assert client.ping()
    finally:
        client.close()


def test_close_stops_ssh_and_removes_the_socket(tunnel, run_dir):
    tunnel.ensure()
    pid = tunnel.pid
    tunnel.close()
    assert not tunnel.alive()
    assert not (run_dir / "e2.sock").exists()
    assert pid is not None and not Path(f"/proc/{pid}").exists()


def test_ssh_does_not_outlive_the_process(ssh_engine, run_dir):
    """The atexit close: a vmuser process that exits without close() takes its ssh along."""
    code = (
        "import sys; from pathlib import Path; from vmuser_tui.core.runtime.ssh_tunnel import SshTunnel; "
        f"t = SshTunnel('e2', '{ssh_engine.target}:{ssh_engine.port}', '{ssh_engine.remote_socket}', "
        f"runtime_dir=Path('{run_dir}'), ssh_options={ssh_engine.ssh_options!r}); t.ensure(); print(t.pid)"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True, env=env)
    pid = int(out.stdout)
    assert not Path(f"/proc/{pid}").exists()
    assert not (run_dir / "e2.sock").exists()


def test_a_second_process_uses_the_running_tunnel(tunnel, ssh_engine, run_dir):
    """Another vmuser process (CLI next to the TUI) on the same runtime dir starts no second ssh."""
    path = tunnel.ensure()
    other = SshTunnel(
        "e2", f"{ssh_engine.target}:{ssh_engine.port}", ssh_engine.remote_socket,
        runtime_dir=run_dir, ssh_options=ssh_engine.ssh_options,
    )  # fmt: skip
    assert other.ensure() == path and other.pid is None
    other.close()  # not its ssh: the tunnel stays up
    assert tunnel.alive() and tunnel.ensure() == path


def _fails_fast(t: SshTunnel) -> str:
    started = time.monotonic()
    with pytest.raises(RuntimeUnavailableError) as info:
        t.ensure(timeout=10)
    elapsed = time.monotonic() - started
    message = str(info.value)
    print(f"{elapsed:.2f} s: {message}")
    assert elapsed < 15, f"took {elapsed:.1f} s"
    assert "\n" not in message
    return message


def test_unauthorized_key_fails_fast_with_ssh_reason(ssh_engine, run_dir, tmp_path):
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "other")], check=True)
    t = SshTunnel(
        "bad", f"root@127.0.0.1:{ssh_engine.port}", ssh_engine.remote_socket,
        runtime_dir=run_dir, ssh_options=_no_key_options(tmp_path / "other"),
    )  # fmt: skip
    try:
        message = _fails_fast(t)
        assert "Permission denied (publickey)" in message
        assert f"`ssh -p {ssh_engine.port} root@127.0.0.1` works without a password" in message
        assert not t.alive() and not (run_dir / "bad.sock").exists()
        # Backoff: a second try right away does not start another ssh; it repeats the reason.
        started = time.monotonic()
        with pytest.raises(RuntimeUnavailableError, match=r"Permission denied.*next try in"):
            t.ensure(timeout=0.1)
        assert time.monotonic() - started < 1
    finally:
        t.close()


def test_closed_port_fails_fast_with_connection_refused(ssh_engine, run_dir):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # free now, nobody listens after the close
    t = SshTunnel("gone", f"root@127.0.0.1:{port}", runtime_dir=run_dir, ssh_options=_no_key_options(ssh_engine.key))
    try:
        assert "Connection refused" in _fails_fast(t)
    finally:
        t.close()


def test_missing_remote_socket_names_docker_on_the_host(ssh_engine, run_dir):
    t = SshTunnel(
        "nosock", f"root@127.0.0.1:{ssh_engine.port}", "/run/vmuser-no-such-engine.sock",
        runtime_dir=run_dir, ssh_options=ssh_engine.ssh_options,
    )  # fmt: skip
    try:
        message = _fails_fast(t)
        assert "/run/vmuser-no-such-engine.sock" in message and "Docker runs there" in message
    finally:
        t.close()


def test_second_engine_cannot_see_this_hosts_files(second_engine, tmp_path):
    """Like a remote host: a bind mount of a dir we made shows nothing of it."""
    from vmuser_tui.core.runtime.images import FALLBACK_IMAGE, build_busybox_image

    (tmp_path / "secret.txt").write_text("only here")
    client = _client(second_engine.url)
    try:
        # vmuser builds its image there itself (no network needed); other tests on this
        # session-scoped engine may have built it already
        build_busybox_image(client)
        out = client.containers.run(
            FALLBACK_IMAGE, ["ls", "-a", "/mnt"], volumes={str(tmp_path): {"bind": "/mnt", "mode": "ro"}},
            network_mode="none", remove=True,
        )  # fmt: skip
        assert b"secret.txt" not in out
        assert out.split() == [b".", b".."]
    finally:
        client.images.remove(FALLBACK_IMAGE, force=True)  # keep the shared engine empty
        client.close()
    # Control: the main engine does see it, so the assertion above can fail.
    local = _client(os.environ.get("VMUSER_DOCKER_BASE_URL") or "unix:///var/run/docker.sock")
    try:
        out = local.containers.run(
            FALLBACK_IMAGE, ["ls", "/mnt"], volumes={str(tmp_path): {"bind": "/mnt", "mode": "ro"}},
            network_mode="none", remove=True,
        )  # fmt: skip
        assert b"secret.txt" in out
    finally:
        local.close()


def _left_in(engine) -> list[str]:
    """Processes still in the engine's mount namespace or naming its dir (containerd, shims)."""
    left = []
    for entry in os.listdir("/proc"):
        try:
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            if os.readlink(f"/proc/{entry}/ns/mnt") == engine.mount_ns or str(engine.base) in cmd:
                left.append(f"{entry}: {cmd}")
        except (OSError, ValueError):
            continue
    return left


def test_killed_engine_leaves_nothing_behind(disposable_engine):
    """kill() is a host dying: dockerd, its containerd, shims and containers all go; the
    socket refuses; start() brings up an empty engine on the same socket."""
    from vmuser_tui.core.runtime.images import FALLBACK_IMAGE, build_busybox_image

    engine = disposable_engine
    client = _client(engine.url)
    build_busybox_image(client)
    client.containers.run(FALLBACK_IMAGE, ["sleep", "600"], detach=True, network_mode="none")
    client.close()
    assert any("containerd" in line for line in _left_in(engine))
    engine.kill()
    assert not engine.alive()
    assert _left_in(engine) == []
    with pytest.raises(Exception, match="Connection refused"):  # the SDK's own connection error
        _client(engine.url).ping()
    engine.start()  # the same url again, an empty engine (a rebuilt host)
    client = _client(engine.url)
    try:
        assert client.ping() and not client.images.list()
    finally:
        client.close()


# -- bad input ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("ssh://root@127.0.0.1:2222", ("root@127.0.0.1", 2222)),
        ("ssh://build-box", ("build-box", None)),
        ("ssh://me@[::1]:22", ("me@::1", 22)),
        (" ssh://me@host/ ", ("me@host", None)),
    ],
)
def test_parse_ssh_url(url, expected):
    assert parse_ssh_url(url) == expected


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("tcp://host:2375", "not an ssh:// url"),
        ("host", "not an ssh:// url"),
        ("ssh://", "no valid host"),
        ("ssh://me:secret@host", "password"),
        ("ssh://host:99999", "bad port"),
        ("ssh://host:0", "bad port"),
        ("ssh://host:ab", "bad port"),
        ("ssh://host/var/run/docker.sock", "path or query"),
        ("ssh://host?x=1", "path or query"),
        ("ssh://-oProxyCommand=touch%20x", "no valid host"),
        ("ssh://-oProxyCommand=x@host", "bad user name"),
        ("ssh://host name", "no valid host"),
    ],
)
def test_parse_ssh_url_bad_input(url, needle):
    with pytest.raises(UsageError) as info:
        parse_ssh_url(url)
    message = str(info.value)
    assert needle in message and "ssh://user@host[:port]" in message and "\n" not in message


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"name": "../x"}, "engine name '../x' is not usable"),
        ({"name": ""}, "is not usable"),
        ({"remote_socket": "docker.sock"}, "must be an absolute path"),
        ({"target": "-oProxyCommand=x"}, "no valid host"),
        ({"runtime_dir": Path("/tmp/" + "d" * 120)}, "longer than 107 bytes"),
    ],
)
def test_tunnel_bad_input(kwargs, needle):
    args: dict[str, Any] = {
        "name": "e",
        "target": "me@host",
        "remote_socket": "/var/run/docker.sock",
        "runtime_dir": Path("/tmp/r"),
    }
    args.update(kwargs)
    with pytest.raises(UsageError, match=needle):
        SshTunnel(args.pop("name"), args.pop("target"), args.pop("remote_socket"), **args)
