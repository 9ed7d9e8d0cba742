"""A lease whose holder died on this host is free at once (issue 11, case 14).

A ``vmuser worker`` killed with -9 in the middle of a job used to hold ``job:<name>`` for
its whole TTL (900 s: no auto checkpoint for 15 minutes), and a TUI killed with -9 kept
its session read-write until the lease expired. Now the next process sees that the holder
(pid and process start time, on this host) is gone, takes the lease over at once and logs
it; a live holder is still respected, and a holder on another host (which cannot be
probed) still keeps its lease until it expires. Real processes, real SQLite.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from vmuser_tui.core import clock
from vmuser_tui.core.leases import Leases
from vmuser_tui.core.service import Vmuser

pytestmark = pytest.mark.timeout(120)

# A real `vmuser worker --once` whose snapshot job hangs (a capture of a huge workspace, a
# stuck disk): it holds job:snapshot until it is killed.
HANGING_WORKER = textwrap.dedent("""
    import pathlib, sys, time
    from vmuser_tui.core.workers import snapshot

    def hang(vm, **kw):
        pathlib.Path(sys.argv[1]).write_text("in the job")
        time.sleep(600)

    snapshot.run = hang
    from vmuser_tui.cli.main import main
    sys.exit(main(["worker", "--once"]))
""")

# A client holding a session read-write (a TUI with the project open).
SESSION_HOLDER = textwrap.dedent("""
    import sys, time
    from vmuser_tui.core.service import Vmuser
    vm = Vmuser.open()
    out = vm.access.attach(sys.argv[1], mode="rw")
    print("won" if out.ok else "lost", flush=True)
    time.sleep(600)
""")


@pytest.fixture
def world(tmp_path, clean_env):
    data, cfg = tmp_path / "data", tmp_path / "none.toml"
    vm = Vmuser.open(data_dir=str(data), config_path=cfg)
    p = vm.projects.create("busy")
    ws = Path(p.workspace)
    (ws / "a.txt").write_text("one\n")
    s = vm.sessions.start(p.id, runtime="none").session
    vm.close()
    env = dict(os.environ, VMUSER_DATA_DIR=str(data), VMUSER_CONFIG=str(cfg))
    return {"data": data, "cfg": cfg, "project": p.id, "session": s.id, "workspace": ws, "env": env,
            "tmp": tmp_path}


def cli(world, *args, timeout=60):
    return subprocess.run([sys.executable, "-m", "vmuser_tui", *args], env=world["env"], capture_output=True,
                          text=True, timeout=timeout)


def takeovers(world) -> list[dict]:
    r = cli(world, "log", "--operation", "lease.takeover", "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def hanging_worker(world) -> subprocess.Popen:
    """Start a worker stuck in its snapshot job; returns once it is in the job."""
    flag = world["tmp"] / "in-job"
    proc = subprocess.Popen([sys.executable, "-c", HANGING_WORKER, str(flag)], env=world["env"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not flag.exists():
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, "the worker never reached its snapshot job"
        time.sleep(0.05)
    return proc


def snapshot_line(out: str) -> str:
    return next(line for line in out.splitlines() if line.startswith("snapshot:"))


def test_a_worker_killed_with_9_mid_job_leaves_the_job_to_the_next_worker_at_once(world):
    stuck = hanging_worker(world)
    try:
        (world["workspace"] / "a.txt").write_text("two\n")  # work the auto checkpoint must keep
        stuck.send_signal(signal.SIGKILL)
        stuck.wait(timeout=10)
        t0 = time.monotonic()
        r = cli(world, "worker", "--once")
        elapsed = time.monotonic() - t0
        assert r.returncode == 0, r.stderr
        line = snapshot_line(r.stdout)
        assert "skipped" not in line and world["project"] in line, line
        assert elapsed < 30  # seconds of start-up, not the 900 s lease
    finally:
        if stuck.poll() is None:
            stuck.kill()
    [entry] = takeovers(world)
    d = entry["details"]
    assert d["lease"] == "job:snapshot" and d["previous_pid"] == stuck.pid
    assert d["reason"] == "holder process is dead"
    vm = Vmuser.open(data_dir=str(world["data"]), config_path=world["cfg"], reconcile=False)
    try:
        [auto] = [c for c in vm.checkpoints.list(world["project"]) if c.kind == "auto"]
        assert vm.fs.read(world["project"], "a.txt", at=auto.id) == b"two\n"
    finally:
        vm.close()


def test_a_live_workers_job_lease_is_still_respected(world):
    stuck = hanging_worker(world)
    try:
        r = cli(world, "worker", "--once")
        assert r.returncode == 0, r.stderr
        assert "snapshot: skipped (running in " in r.stdout and f"pid {stuck.pid})" in r.stdout
        assert takeovers(world) == []
    finally:
        stuck.kill()
        stuck.wait(timeout=10)


def test_another_hosts_job_lease_waits_for_its_expiry(world):
    vm = Vmuser.open(data_dir=str(world["data"]), config_path=world["cfg"], reconcile=False)
    try:
        # The row another host's worker writes: its pid means nothing here (no such process).
        now = clock.epoch()
        with vm.db.write() as conn:
            conn.execute("INSERT INTO leases(name, holder, mode, actor, pid, acquired_at, heartbeat_at, expires_at, "
                         "host, pid_start) VALUES ('job:snapshot', '999999-elsewhere', 'job', 'bob@elsewhere', "
                         "999999, ?, ?, ?, 'elsewhere', 12345)", (clock.now_iso(), clock.now_iso(), now + 600))
        r = cli(world, "worker", "--once")
        assert "snapshot: skipped (running in bob@elsewhere pid 999999)" in r.stdout, r.stdout
        with vm.db.write() as conn:
            conn.execute("UPDATE leases SET expires_at = ? WHERE holder = '999999-elsewhere'", (now - 5,))
        r = cli(world, "worker", "--once")
        assert "skipped" not in snapshot_line(r.stdout)
        [entry] = takeovers(world)
        assert entry["details"]["previous"] == "bob@elsewhere" and entry["details"]["reason"] == "expired"
    finally:
        vm.close()


def test_a_reused_pid_does_not_keep_a_dead_holders_lease(world):
    """The holder's pid now belongs to another process (this one): its start time differs."""
    vm = Vmuser.open(data_dir=str(world["data"]), config_path=world["cfg"], reconcile=False)
    try:
        other = Leases(vm.db, "old-holder")
        assert other.acquire("job:gc", ttl=900).ok
        with vm.db.write() as conn:  # written by an earlier process with this pid
            conn.execute("UPDATE leases SET pid_start = pid_start - 1 WHERE holder = 'old-holder'")
        assert Leases(vm.db, "new-holder").acquire("job:gc", ttl=900).ok
        # ... while the same row with the right start time is a live holder
        assert Leases(vm.db, "third").acquire("job:gc", ttl=900).ok is False
    finally:
        vm.close()


def test_a_session_holder_killed_with_9_frees_the_session_at_once(world):
    holder = subprocess.Popen([sys.executable, "-c", SESSION_HOLDER, world["session"]], env=world["env"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "won", holder.stderr.read()
        r = cli(world, "checkpoint", "create", world["project"], "-m", "while held")
        assert r.returncode == 1 and "is held read-write by" in r.stderr  # alive: respected
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        (world["workspace"] / "a.txt").write_text("after the crash\n")
        r = cli(world, "checkpoint", "create", world["project"], "-m", "after the crash")  # no --force, no wait
        assert r.returncode == 0, r.stderr
    finally:
        if holder.poll() is None:
            holder.kill()
    [entry] = takeovers(world)
    assert entry["details"]["lease"] == f"session:{world['session']}"
    assert entry["details"]["previous_pid"] == holder.pid and entry["details"]["reason"] == "holder process is dead"
    # the project screen's timeline says why
    from vmuser_tui.tui.widgets.timeline import Event, event_text

    text = str(event_text(Event(entry["id"], entry["at"], entry["operation"], entry["actor"], entry["session_id"],
                                entry["details"])))
    assert f"took {world['session']} over from" in text and "(its process had died)" in text, text
    # and a TUI opening the project gets it read-write (the dead holder is no longer listed)
    vm = Vmuser.open(data_dir=str(world["data"]), config_path=world["cfg"], reconcile=False)
    try:
        assert vm.access.holders(world["session"]) == []
        assert vm.access.attach(world["session"], mode="rw").ok
    finally:
        vm.close()
