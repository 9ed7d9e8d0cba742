"""`vmuser checkpoint create` while a `vmuser worker` serves the data dir (session 22).

With a worker running, the command hands its capture to the worker (core/rpc.py). A
careless user must not notice the difference: ``--allow-empty`` still takes a checkpoint,
a description that is not recorded is still said to be dropped, and Ctrl-C while it waits
for the worker is one line and exit 130, not a Python traceback.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

PY = [sys.executable, "-m", "vmuser_tui"]


def _env(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VMUSER_")}
    env.update(VMUSER_DATA_DIR=str(root / "data"), VMUSER_CONFIG=str(root / "none.toml"),
               VMUSER_SNAPSHOTS_INTERVAL="604800", VMUSER_SNAPSHOTS_ENABLED="false")
    return env


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*PY, *args], env=env, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL, check=False)


def _wait_for(predicate, what: str, limit: float = 60.0) -> None:
    """Poll a state (not a duration): fail with ``what`` if it never comes."""
    end = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > end:
            pytest.fail(f"never happened: {what}")
        time.sleep(0.02)


@pytest.fixture
def served(tmp_path):
    """A project with one checkpoint and a running `vmuser worker` on its data dir."""
    env = _env(tmp_path)
    project = cli(env, "project", "create", "served").stdout.strip()
    assert project
    assert cli(env, "fs", "put", project, "a.txt", "-").returncode in (0, 1)
    first = cli(env, "checkpoint", "create", project, "-m", "first")
    assert first.returncode == 0, first.stderr
    worker = subprocess.Popen([*PY, "worker"], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    sock = tmp_path / "data" / "worker.sock"
    _wait_for(sock.exists, "the worker's socket")
    try:
        yield env, project, first.stdout.strip(), tmp_path / "data"
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def test_allow_empty_through_the_worker(served):
    env, project, first, _ = served
    r = cli(env, "checkpoint", "create", project, "-m", "release 1.0", "--allow-empty")
    assert r.returncode == 0, r.stderr
    new = r.stdout.strip()
    assert new != first, f"--allow-empty took no checkpoint through the worker: {r.stderr}"
    listed = cli(env, "checkpoint", "list", project, "--format", "csv").stdout
    assert "release 1.0" in listed


def test_dropped_description_is_said_through_the_worker(served):
    env, project, first, _ = served
    r = cli(env, "checkpoint", "create", project, "-m", "typed for nothing")
    assert r.returncode == 0 and r.stdout.strip() == first, r.stderr
    assert "description 'typed for nothing' not recorded; --allow-empty takes a checkpoint with it anyway" in r.stderr


def _has_socket(pid: int) -> bool:
    with contextlib.suppress(OSError):
        return any(os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:") for fd in os.listdir(f"/proc/{pid}/fd"))
    return False


def test_ctrl_c_while_waiting_for_the_worker(served):
    """The worker is held (its database write waits on ours), so the command waits on
    the worker's socket; Ctrl-C then is one line and exit 130."""
    env, project, _, data = served
    ws = Path(cli(env, "project", "show", project, "--json").stdout.split('"workspace": "')[1].split('"')[0])
    (ws / "new.txt").write_text("new\n")
    hold = sqlite3.connect(data / "vmuser.db", timeout=30, isolation_level=None)
    hold.execute("BEGIN IMMEDIATE")
    try:
        proc = subprocess.Popen([*PY, "checkpoint", "create", project, "-m", "held"], env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _wait_for(lambda: _has_socket(proc.pid) or proc.poll() is not None, "the command's connection to the worker")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        hold.execute("ROLLBACK")
        hold.close()
    assert "Traceback" not in err, err
    assert proc.returncode == 130, (proc.returncode, err)
    assert err.count("\n") == 1 and err.startswith("vmuser: interrupted"), err
    assert cli(env, "check").returncode == 0
