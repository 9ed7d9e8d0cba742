"""The facade methods the adapters call instead of core machinery (issue 12's import
contract): the lease take-overs of a project's sessions, the cleanup plan, the worker's
request socket. Real processes, real SQLite."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from vmuser_tui.core.errors import StateError
from vmuser_tui.core.rpc import request, socket_path
from vmuser_tui.core.service import Vmuser

pytestmark = pytest.mark.timeout(120)

HOLDER = textwrap.dedent("""
    import sys, time
    from vmuser_tui.core.service import Vmuser
    vm = Vmuser.open(data_dir=sys.argv[1], config_path=sys.argv[2])
    out = vm.access.attach(sys.argv[3], mode="rw")
    print("won" if out.ok else "lost", flush=True)
    time.sleep(60)
""")


@pytest.fixture
def world(tmp_path, clean_env):
    data, cfg = tmp_path / "data", tmp_path / "none.toml"
    vm = Vmuser.open(data_dir=str(data), config_path=cfg)
    p = vm.projects.create("shared")
    (Path(p.workspace) / "a.txt").write_text("one\n")
    s = vm.sessions.start(p.id, runtime="none").session
    vm.close()
    return {"data": data, "cfg": cfg, "project": p.id, "session": s.id}


def _open(world) -> Vmuser:
    return Vmuser.open(data_dir=str(world["data"]), config_path=world["cfg"])


def test_takeovers_names_the_session_whose_lease_was_taken(world):
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(world["data"]), str(world["cfg"]), world["session"]],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    vm = _open(world)
    try:
        assert holder.stdout.readline().strip() == "won"
        assert vm.access.takeovers([world["session"]]) == []
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        # a dead holder's lease is free at once: attaching takes it over (logged)
        assert vm.access.attach(world["session"], mode="rw").ok
        [entry] = vm.access.takeovers([world["session"], "nosuchsession"])
        assert entry["session_id"] == world["session"]
        assert entry["details"]["lease"] == f"session:{world['session']}"
        assert entry["details"]["previous_pid"] == holder.pid
        assert vm.access.takeovers(["nosuchsession"]) == []
    finally:
        if holder.poll() is None:
            holder.kill()
        vm.close()


def test_heartbeat_interval_is_well_inside_a_lease_life(world):
    vm = _open(world)
    try:
        assert 0 < vm.access.heartbeat_interval < vm.access.ttl / 2
    finally:
        vm.close()


def test_cleanup_plan_lists_every_project_with_its_state(world):
    vm = _open(world)
    try:
        [item] = vm.cleanup_plan()
        assert (item.project_id, item.name, item.state) == (world["project"], "shared", "ok")
    finally:
        vm.close()


def test_serve_requests_answers_until_stopped_and_refuses_a_second_worker(world):
    vm, other = _open(world), _open(world)
    server = vm.serve_requests()
    try:
        assert request(socket_path(vm.data_dir), {"op": "ping"}, timeout=5) is not None
        with pytest.raises(StateError, match="already serves"):
            other.serve_requests()
    finally:
        server.stop()
        other.close()
        vm.close()
