"""Background jobs: the scheduler and its leases, the snapshot job (interval, file changes
through real watchfiles, session stop), idle-project cleanup with an injected clock, and
two `vmuser worker --once` processes started together."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from vmuser_tui.core import clock
from vmuser_tui.core.leases import Leases
from vmuser_tui.core.workers import cleanup

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _auto(vm, pid):
    return [c for c in vm.checkpoints.list(pid) if c.kind == "auto"]


def test_scheduler_runs_each_job_when_due_by_the_injected_clock(vm):
    now = [T0]
    sched = vm.scheduler(now=lambda: now[0])
    first = {r.name: r for r in sched.run_due()}
    assert all(not r.skipped for r in first.values()), first
    now[0] = T0 + timedelta(seconds=9)
    assert {r.name for r in sched.run_due() if not r.skipped} == set()
    now[0] = T0 + timedelta(seconds=14)
    assert {r.name for r in sched.run_due() if not r.skipped} == {"stats"}
    now[0] = T0 + timedelta(seconds=299)
    assert {r.name for r in sched.run_due() if not r.skipped} == {"reconcile", "stats"}
    now[0] = T0 + timedelta(seconds=300)  # [snapshots] interval
    assert {r.name for r in sched.run_due() if not r.skipped} == {"snapshot"}  # reconcile ran 1 s ago
    now[0] = T0 + timedelta(hours=1)
    assert {r.name for r in sched.run_due() if not r.skipped} == {"reconcile", "stats", "snapshot", "retention", "cleanup"}
    runs = sched.last_runs()
    assert runs["snapshot"]["runs"] == 3 and runs["retention"]["runs"] == 2 and runs["gc"]["runs"] == 1


def test_a_job_held_by_another_live_holder_is_skipped_and_an_expired_lease_taken_over(vm):
    other = Leases(vm.db, "other-holder")
    assert other.acquire("job:retention", ttl=60).ok
    sched = vm.scheduler(now=lambda: T0)
    res = {r.name: r for r in sched.run_due()}
    assert "running in" in res["retention"].skipped and not res["snapshot"].skipped
    # The holder dies: its lease expires and the next run takes it over, and says so.
    with vm.db.write() as conn:
        conn.execute("UPDATE leases SET expires_at = ? WHERE holder = 'other-holder'", (clock.epoch() - 1,))
    res = {r.name: r for r in sched.run_due()}
    assert not res["retention"].skipped
    assert [e["details"]["lease"] for e in vm.log(operation="lease.takeover")] == ["job:retention"]


def test_snapshot_job_checkpoints_running_sessions_only_when_something_changed(vm):
    p = vm.projects.create("snap")
    ws = Path(p.workspace)
    (ws / "a.txt").write_text("one\n")
    sched = vm.scheduler(now=lambda: T0)
    assert sched.run_job("snapshot", force=True).summary["checkpoints"] == []  # no running session
    s = vm.sessions.start(p.id, runtime="none").session
    made = sched.run_job("snapshot", force=True).summary["checkpoints"]
    assert [m["project"] for m in made] == [p.id]
    assert sched.run_job("snapshot", force=True).summary["checkpoints"] == []  # unchanged: no checkpoint
    (ws / "a.txt").write_text("two\n")
    assert len(sched.run_job("snapshot", force=True).summary["checkpoints"]) == 1
    auto = _auto(vm, p.id)
    assert len(auto) == 2 and all(c.session_id == s.id for c in auto)
    assert vm.fs.read(p.id, "a.txt", at=auto[0].id) == b"two\n"


def test_stopping_a_session_checkpoints_its_changes_first(vm):
    p = vm.projects.create("stopsnap")
    s = vm.sessions.start(p.id, runtime="none").session
    (Path(p.workspace) / "work.txt").write_text("unsaved work\n")
    vm.sessions.stop(s.id)
    auto = _auto(vm, p.id)
    assert len(auto) == 1 and auto[0].description == "auto: session stopped"
    assert vm.fs.read(p.id, "work.txt", at=auto[0].id) == b"unsaved work\n"


def _serve(vm):
    stop = threading.Event()
    sched = vm.scheduler()
    t = threading.Thread(target=sched.serve, args=(stop,), kwargs={"tick": 0.2}, daemon=True)
    t.start()
    return sched, stop, t


def _wait_for(pred, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def test_a_burst_of_writes_makes_one_checkpoint_within_debounce_and_ignored_files_none(make_vm):
    vm = make_vm(config_text="[snapshots]\ndebounce = 1.0\ninterval = 3600\nignore = [\"*.log\"]\n")
    p = vm.projects.create("watched")
    ws = Path(p.workspace)
    (ws / "keep.txt").write_text("start\n")
    vm.sessions.start(p.id, runtime="none")
    sched, stop, t = _serve(vm)
    try:
        assert _wait_for(lambda: len(_auto(vm, p.id)) == 1, 10)  # the first interval run
        assert _wait_for(lambda: sched.watcher is not None and sched.watcher._thread.is_alive(), 5)
        time.sleep(0.5)  # the watch is set up
        for i in range(20):
            with open(ws / "notes.txt", "a") as fh:
                fh.write(f"line {i}\n")
            time.sleep(0.01)
        last_write = time.monotonic()
        assert _wait_for(lambda: len(_auto(vm, p.id)) == 2, 1.0 + 1.0 + 0.5), "no auto checkpoint after the burst"
        assert time.monotonic() - last_write <= 1.0 + 1.0 + 0.5
        time.sleep(1.5)
        assert len(_auto(vm, p.id)) == 2, "one burst, one checkpoint"
        assert vm.fs.read(p.id, "notes.txt", at=_auto(vm, p.id)[0].id).count(b"\n") == 20
        # An ignored file changes: nothing to checkpoint, nothing taken.
        (ws / "debug.log").write_text("noise\n" * 100)
        time.sleep(2.5)
        assert len(_auto(vm, p.id)) == 2
    finally:
        stop.set()
        t.join(10)


def _set_last_active(vm, pid, when: datetime):
    with vm.db.write() as conn:
        conn.execute("UPDATE projects SET last_active_at = ? WHERE id = ?", (clock.iso(when), pid))


def test_cleanup_warns_on_the_right_days_skips_pinned_and_deletes_on_the_right_day(make_vm):
    vm = make_vm(config_text="[cleanup]\nenabled = true\nafter_days = 10\nwarning_days = 3\n")
    idle = vm.projects.create("idle")
    pinned = vm.projects.create("pinned")
    busy = vm.projects.create("busy")
    vm.projects.pin(pinned.id)
    for p in (idle, pinned):
        _set_last_active(vm, p.id, T0)
    _set_last_active(vm, busy.id, T0 + timedelta(days=8))
    ws = Path(idle.workspace)
    assert ws.is_dir()

    day = lambda n: T0 + timedelta(days=n, hours=1)
    assert cleanup.run(vm, day(6)) == {"warned": [], "deleted": [], "errors": []}
    assert cleanup.run(vm, day(7))["warned"] == [idle.id]  # 3 days before day 10
    assert cleanup.run(vm, day(7) + timedelta(hours=5))["warned"] == []  # once a day (UTC)
    assert cleanup.run(vm, day(8))["warned"] == [idle.id]
    # dry-run lists, deletes nothing
    assert cleanup.run(vm, day(10), dry_run=True)["deleted"] == [idle.id]
    assert vm.projects.get(idle.id) and ws.is_dir()
    states = {i.name: i.state for i in cleanup.plan(vm, day(10))}
    assert states == {"idle": "due", "pinned": "pinned", "busy": "ok"}
    out = cleanup.run(vm, day(10))
    assert out["deleted"] == [idle.id]
    assert not ws.exists() and [p.name for p in vm.projects.list()] == sorted(["pinned", "busy"])
    assert vm.log(operation="project.delete")[0]["details"]["reason"] == "idle cleanup"
    assert len(vm.log(operation="cleanup.warn")) == 2
    # extend resets the clock; pinned is never due, even a year later
    assert {i.name: i.state for i in cleanup.plan(vm, day(365))}["pinned"] == "pinned"


def test_cleanup_does_nothing_when_disabled(vm):
    p = vm.projects.create("old")
    _set_last_active(vm, p.id, T0 - timedelta(days=400))
    assert cleanup.run(vm, T0) == {"warned": [], "deleted": [], "errors": []}
    assert vm.projects.get(p.id)


def test_two_worker_once_processes_run_each_job_once(tmp_path):
    env = dict(os.environ, VMUSER_DATA_DIR=str(tmp_path / "data"), VMUSER_CONFIG=str(tmp_path / "none.toml"))
    subprocess.run([sys.executable, "-m", "vmuser_tui", "project", "create", "w"], env=env, check=True,
                   capture_output=True)
    cmd = [sys.executable, "-m", "vmuser_tui", "worker", "--once", "--json"]
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1].decode() for o in outs]
    ran = {}
    for out, _ in outs:
        for r in json.loads(out):
            if not r["skipped"]:
                ran.setdefault(r["job"], []).append(r)
    assert {name: len(rs) for name, rs in ran.items()} == {"reconcile": 1, "stats": 1, "snapshot": 1,
                                                           "retention": 1, "cleanup": 1, "gc": 1}
    import sqlite3

    db = sqlite3.connect(tmp_path / "data" / "vmuser.db")
    assert dict(db.execute("SELECT name, runs FROM job_runs")) == {"reconcile": 1, "stats": 1, "snapshot": 1,
                                                                  "retention": 1, "cleanup": 1, "gc": 1}
    assert db.execute("SELECT COUNT(*) FROM leases").fetchone()[0] == 0  # every lease given back


def test_cleanup_cli_lists_and_dry_run_changes_nothing(tmp_path):
    env = dict(os.environ, VMUSER_DATA_DIR=str(tmp_path / "data"), VMUSER_CONFIG=str(tmp_path / "none.toml"))
    run = lambda *a: subprocess.run([sys.executable, "-m", "vmuser_tui", *a], env=env, capture_output=True, check=False)
    assert run("project", "create", "w").returncode == 0
    r = run("cleanup", "--json")
    doc = json.loads(r.stdout)
    assert doc["enabled"] is False and doc["projects"][0]["name"] == "w" and doc["projects"][0]["state"] == "ok"
    r = run("cleanup", "--apply")
    assert r.returncode == 0 and b"no project is due" in r.stdout
    r = run("worker", "--all")
    assert r.returncode == 2 and b"--all goes with --once" in r.stderr


pytestmark = pytest.mark.timeout(180)


def test_a_scheduler_with_nothing_due_writes_nothing(vm):
    """Schedulers poll every second; a poll with no due job must not commit (every TUI reloads
    its screen on a commit)."""
    now = [T0]
    sched = vm.scheduler(now=lambda: now[0])
    sched.run_due()
    before = vm.db.conn.execute("PRAGMA data_version").fetchone()[0]
    now[0] = T0 + timedelta(seconds=5)
    other = vm.scheduler(now=lambda: now[0])  # another process's scheduler would see the same
    assert all(r.skipped == "not due" for r in other.run_due())
    assert vm.db.conn.execute("SELECT COUNT(*) FROM leases").fetchone()[0] == 0
    # data_version counts commits by other connections; check ours too via total_changes
    changes = vm.db.conn.total_changes
    sched.run_due()
    assert vm.db.conn.total_changes == changes
    assert before == vm.db.conn.execute("PRAGMA data_version").fetchone()[0]
