"""Many clients on one session: one read-write holder, refusals that say who holds it,
take-over after the holder dies (kill -9), read-only clients refused in core, the CLI
following the same rules. Real processes, real SQLite."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from vmuser_tui.core import clock
from vmuser_tui.core.access import LeaseHeldError, ReadOnlyError
from vmuser_tui.core.service import Vmuser

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def world(tmp_path, clean_env):
    data, cfg = tmp_path / "data", tmp_path / "none.toml"
    vm = Vmuser.open(data_dir=str(data), config_path=cfg)
    p = vm.projects.create("shared")
    (Path(p.workspace) / "a.txt").write_text("one\n")
    s = vm.sessions.start(p.id, runtime="none").session
    vm.checkpoints.create(p.id, description="base")
    vm.close()
    env = dict(os.environ, VMUSER_DATA_DIR=str(data), VMUSER_CONFIG=str(cfg))
    return {"data": data, "cfg": cfg, "project": p.id, "session": s.id, "env": env}


def _open(world, **kw) -> Vmuser:
    return Vmuser.open(data_dir=str(world["data"]), config_path=world["cfg"], **kw)


HOLDER = textwrap.dedent("""
    import sys, time
    from vmuser_tui.core.service import Vmuser
    vm = Vmuser.open(data_dir=sys.argv[1], config_path=sys.argv[2])
    vm.access.ttl = float(sys.argv[4])
    out = vm.access.attach(sys.argv[3], mode="rw")
    print("won" if out.ok else "lost: " + out.held_by.describe(), flush=True)
    time.sleep(float(sys.argv[5]))
""")


def _holder(world, ttl=60.0, hold=30.0):
    return subprocess.Popen([sys.executable, "-c", HOLDER, str(world["data"]), str(world["cfg"]), world["session"],
                             str(ttl), str(hold)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_clients_asking_read_write_at_once_exactly_one_wins(world):
    for _ in range(3):
        procs = [_holder(world, hold=1.0) for _ in range(2)]
        lines = [p.stdout.readline().strip() for p in procs]
        for p in procs:
            p.wait(timeout=30)
        assert sorted(line.split(":")[0] for line in lines) == ["lost", "won"], lines
        lost = next(line for line in lines if line.startswith("lost"))
        assert "pid" in lost and "since" in lost and "lease expires in" in lost
        vm = _open(world)  # the winner's lease is left to expire; clear it for the next round
        with vm.db.write() as conn:
            conn.execute("DELETE FROM leases")
        vm.close()


def _elsewhere(vm, holder_pid: int, *, expired: bool) -> None:
    """Make the holder's row look like another host's (a process there cannot be probed):
    its lease then holds until it expires, dead or not."""
    with vm.db.write() as conn:
        conn.execute("UPDATE leases SET host = 'elsewhere', expires_at = ? WHERE pid = ?",
                     (clock.epoch() + (-5 if expired else 600), holder_pid))


def test_a_leased_session_refuses_changes_from_others_until_kill_9_then_take_over(world):
    holder = _holder(world, ttl=2.0, hold=60.0)
    assert holder.stdout.readline().strip() == "won"
    vm = _open(world)
    try:
        with pytest.raises(LeaseHeldError, match=r"held read-write by .+ pid \d+ since \d\d:\d\d, lease expires in"):
            vm.checkpoints.create(world["project"], description="mine")
        with pytest.raises(LeaseHeldError):
            vm.sessions.stop(world["session"])
        with pytest.raises(LeaseHeldError):
            vm.fs.write(world["project"], "b.txt", b"x")
        # Reading is never refused.
        assert vm.checkpoints.list(world["project"]) and vm.fs.read(world["project"], "a.txt") == b"one\n"
        holders = vm.access.holders(world["session"])
        assert [h.pid for h in holders] == [holder.pid] and holders[0].mode == "rw"

        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        # The holder is dead (this host, its pid gone): its lease is free at once, no --force.
        (Path(vm.projects.get(world["project"]).workspace) / "a.txt").write_text("two\n")
        out = vm.checkpoints.create(world["project"], description="after take-over")
        assert out.created
        takeover = vm.log(operation="lease.takeover")
        assert len(takeover) == 1 and takeover[0]["details"]["lease"] == f"session:{world['session']}"
        assert takeover[0]["details"]["previous_pid"] == holder.pid
        assert takeover[0]["details"]["reason"] == "holder process is dead"
        assert takeover[0]["session_id"] == world["session"] and takeover[0]["project_id"] == world["project"]
    finally:
        if holder.poll() is None:
            holder.kill()
        vm.close()


def test_read_only_client_is_refused_in_core(world):
    vm = _open(world, read_only=True)
    try:
        for change in (lambda: vm.checkpoints.create(world["project"]),
                       lambda: vm.projects.pin(world["project"]),
                       lambda: vm.fs.write(world["project"], "x.txt", b"x"),
                       lambda: vm.restores.restore(vm.checkpoints.list(world["project"])[0].id),
                       lambda: vm.sessions.stop(world["session"])):
            with pytest.raises(ReadOnlyError, match="read-only"):
                change()
        assert vm.checkpoints.list(world["project"])  # reading works
    finally:
        vm.close()
    check = _open(world)
    assert [c.description for c in check.checkpoints.list(world["project"])] == ["base"]
    check.close()


def test_cli_follows_the_same_rules(world):
    holder = _holder(world, ttl=2.0, hold=60.0)
    try:
        assert holder.stdout.readline().strip() == "won"
        run = lambda *a: subprocess.run([sys.executable, "-m", "vmuser_tui", *a], env=world["env"],
                                        capture_output=True, text=True, check=False)
        r = run("checkpoint", "create", world["project"], "-m", "cli")
        assert r.returncode == 1 and r.stderr.count("\n") == 1
        assert "held read-write by" in r.stderr and "lease expires in" in r.stderr
        r = run("checkpoint", "create", world["project"], "--force")
        assert r.returncode == 1 and "lease expires in" in r.stderr  # --force never takes a live lease
        assert run("checkpoint", "list", world["project"], "--json").returncode == 0
        holder.kill()
        holder.wait(timeout=10)
        # Held from another host (cannot be probed): respected until it expires, then --force.
        vm = _open(world, reconcile=False)
        _elsewhere(vm, holder.pid, expired=False)
        r = run("session", "stop", world["session"])
        assert r.returncode == 1 and "lease expires in" in r.stderr
        _elsewhere(vm, holder.pid, expired=True)
        vm.close()
        r = run("session", "stop", world["session"])
        assert r.returncode == 1 and "take it over with --force" in r.stderr
        r = run("session", "stop", world["session"], "--force")
        assert r.returncode == 0, r.stderr
        log = json.loads(run("log", "--operation", "lease.takeover", "--json").stdout)
        assert len(log) == 1
    finally:
        if holder.poll() is None:
            holder.kill()
