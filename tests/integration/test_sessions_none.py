"""Sessions with runtime 'none': the workspace only, no container, no engine needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from vmuser_tui.core.errors import StateError, UsageError

from wsutil import write


def test_none_session_lifecycle_and_checkpoints(vm):
    p = vm.projects.create("No container")
    write(p.workspace, "a.txt", "1\n")
    s = vm.sessions.start(p.id, runtime="none").session
    assert (s.runtime, s.status, s.container_id) == ("none", "running", None)
    assert s.started_at
    assert vm.projects.get(p.id).status == "running"

    cp = vm.checkpoints.create(s.id, description="via the session").checkpoint
    assert cp.session_id == s.id and cp.project_id == p.id
    assert [c.id for c in vm.checkpoints.list(s.id)] == [cp.id]
    assert vm.sessions.get(s.id).checkpoints == 1

    with pytest.raises(StateError, match="no container"):
        vm.sessions.exec(s.id, ["true"])

    stopped = vm.sessions.stop(s.id)
    assert stopped.status == "stopped" and stopped.stopped_at
    with pytest.raises(StateError, match="already stopped"):
        vm.sessions.stop(s.id)
    assert vm.projects.get(p.id).status == "idle"
    ops = [e["operation"] for e in vm.log(project=p.id)]
    assert ops[:3] == ["session.stop", "checkpoint.create", "session.start"]


def test_unknown_runtime_is_a_usage_error(vm):
    p = vm.projects.create("x")
    with pytest.raises(UsageError, match="unknown runtime"):
        vm.sessions.start(p.id, runtime="podman")
    assert vm.sessions.list(p.id) == []


def test_reopen_keeps_none_sessions_running(make_vm):
    vm = make_vm()
    p = vm.projects.create("persist")
    s = vm.sessions.start(p.id, runtime="none").session
    vm.close()
    vm2 = make_vm()
    assert vm2.sessions.get(s.id).status == "running"
    assert vm2.notes == []


def test_delete_project_with_none_session(vm):
    p = vm.projects.create("gone")
    vm.sessions.start(p.id, runtime="none")
    result = vm.projects.delete(p.id, sessions=vm.sessions)
    assert result["containers"] == 0
    assert not Path(p.workspace).exists()
    assert vm.sessions.list() == []
