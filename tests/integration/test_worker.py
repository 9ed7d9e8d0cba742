"""`vmuser worker` keeps change monitors; `vmuser checkpoint create` hands it the capture
and falls back to capturing itself when no worker answers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


@pytest.fixture
def env(tmp_path):
    e = dict(os.environ)
    e.update(VMUSER_DATA_DIR=str(tmp_path / "data"), VMUSER_CONFIG=str(tmp_path / "none.toml"))
    return e


def run(env, *args, stdin=None):
    return subprocess.run([sys.executable, "-m", "vmuser_tui", *args], env=env, capture_output=True,
                          input=stdin, timeout=120)


def ok(env, *args, stdin=None) -> str:
    r = run(env, *args, stdin=stdin)
    assert r.returncode == 0, r.stderr.decode()
    return r.stdout.decode()


@pytest.fixture
def worker(env, tmp_path):
    ok(env, "project", "list")  # creates the data dir
    proc = subprocess.Popen([sys.executable, "-m", "vmuser_tui", "worker"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sock = tmp_path / "data" / "worker.sock"
    deadline = time.monotonic() + 30
    while not sock.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sock.exists(), proc.stderr.read1().decode() if proc.poll() is not None else "no socket"
    yield proc
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def _creator_pids(env, project_id):
    log = json.loads(ok(env, "log", "--project", project_id, "--operation", "checkpoint.create", "--json"))
    return [e["pid"] for e in log]


def test_checkpoints_are_taken_by_the_worker_and_see_every_edit(env, worker, tmp_path):
    pid = ok(env, "project", "create", "wk").strip()
    ws = Path(json.loads(ok(env, "project", "show", pid, "--json"))["workspace"])
    (ws / "a.txt").write_text("one\n")
    first = ok(env, "checkpoint", "create", pid, "-m", "first").strip()
    (ws / "a.txt").write_text("two\n")
    second = ok(env, "checkpoint", "create", pid, "--tag", "t").strip()
    assert second != first
    assert ok(env, "fs", "cat", pid, "a.txt", "--at", second) == "two\n"
    assert json.loads(ok(env, "checkpoint", "show", second, "--json"))["tags"] == ["t"]
    r = run(env, "checkpoint", "create", pid)
    assert r.stdout.decode().strip() == second and b"nothing changed" in r.stderr
    assert _creator_pids(env, pid) == [worker.pid, worker.pid]
    assert (tmp_path / "data" / "worker.sock").stat().st_mode & 0o777 == 0o600


def test_worker_errors_are_one_line_and_keep_their_exit_code(env, worker):
    r = run(env, "checkpoint", "create", "nope-project")
    assert r.returncode == 1
    assert r.stderr.decode().strip().count("\n") == 0 and "no session or project matches" in r.stderr.decode()


def test_second_worker_is_refused_and_cli_falls_back_when_it_stops(env, worker, tmp_path):
    r = run(env, "worker")
    assert r.returncode == 1 and b"already serves" in r.stderr
    pid = ok(env, "project", "create", "fb").strip()
    worker.send_signal(signal.SIGTERM)
    worker.wait(timeout=30)
    assert not (tmp_path / "data" / "worker.sock").exists()
    ok(env, "fs", "put", pid, "x.txt", "-", stdin=b"local\n")
    cid = ok(env, "checkpoint", "create", pid).strip()
    assert ok(env, "fs", "cat", pid, "x.txt", "--at", cid) == "local\n"
    assert worker.pid not in _creator_pids(env, pid)
