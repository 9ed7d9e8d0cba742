"""kill -9 of a ``session start`` between the container's start and the row that records it
(session 22, crash hardening).

A start writes the session row (status ``created``, no container id), asks the engine to
create and start the container, then records the container id and ``running``. A process
killed in between leaves a running container, labelled with the session, that no row
names. What a user must see next: ``session stop`` / ``session rm`` of that session remove
the container too, and a start left unfinished for :data:`STALE_START_SECONDS` is failed by
reconciliation with its container removed, never a container running on with the
workspace mounted that only ``project delete`` would find.

The kill is exact: a forked child runs the real start and SIGKILLs itself right after the
engine started the container (the parent holds no SQLite connection or docker client
across the fork).
"""

from __future__ import annotations

import os
import signal
from datetime import timedelta

import pytest

from vmuser_tui.core import clock
from vmuser_tui.core.runtime import LABEL_SESSION
from vmuser_tui.core.runtime.docker_runtime import DockerRuntime
from vmuser_tui.core.service import Vmuser
from vmuser_tui.core.sessions import STALE_START_SECONDS

pytestmark = pytest.mark.docker

CONFIG = '[docker]\nimage = "vmuser-busybox:local"\n'


def _open(data_dir, config_path) -> Vmuser:
    return Vmuser.open(data_dir=str(data_dir), config_path=config_path, reconcile=True, live=False)


def _killed_start(data_dir, config_path, project_id: str) -> None:
    """Run ``sessions.start`` in a forked child that is SIGKILLed right after its container started."""
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            real = DockerRuntime.start

            def start_then_die(self, spec):
                real(self, spec)
                os.kill(os.getpid(), signal.SIGKILL)

            DockerRuntime.start = start_then_die  # type: ignore[method-assign]
            vm = _open(data_dir, config_path)
            vm.sessions.start(project_id)
        finally:
            os._exit(3)  # never reached when the kill came
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, f"child ended with {status}"


@pytest.fixture
def killed(tmp_path, clean_env, docker_projects):
    """``(data_dir, config_path, project_id, session_id, client)`` after a start killed with
    its container running and the row still ``created``."""
    client, made = docker_projects
    data_dir, config_path = tmp_path / "data", tmp_path / "config.toml"
    config_path.write_text(CONFIG)
    vm = _open(data_dir, config_path)
    project = vm.projects.create("killed-start")
    made.append(project.id)
    vm.close()
    _killed_start(data_dir, config_path, project.id)
    vm = _open(data_dir, config_path)
    (row,) = vm.db.query("SELECT id, status, container_id FROM sessions WHERE project_id = ?", (project.id,))
    vm.close()
    assert row["status"] == "created" and row["container_id"] is None
    left = client.containers.list(all=True, filters={"label": f"{LABEL_SESSION}={row['id']}"})
    assert [c.status for c in left] == ["running"]
    return data_dir, config_path, project.id, row["id"], client


def _containers(client, session_id: str) -> list[str]:
    return [c.name for c in client.containers.list(all=True, filters={"label": f"{LABEL_SESSION}={session_id}"})]


def test_stopping_a_session_whose_start_was_killed_removes_its_container(killed):
    data_dir, config_path, _, sid, client = killed
    vm = _open(data_dir, config_path)
    try:
        assert vm.sessions.stop(sid).status == "stopped"
    finally:
        vm.close()
    assert _containers(client, sid) == []


def test_removing_a_session_whose_start_was_killed_removes_its_container(killed):
    data_dir, config_path, _, sid, client = killed
    vm = _open(data_dir, config_path)
    try:
        vm.sessions.stop(sid)
        vm.sessions.remove(sid)
    finally:
        vm.close()
    assert _containers(client, sid) == []


def test_a_stale_killed_start_is_failed_and_its_container_removed_at_the_next_start(killed, monkeypatch):
    data_dir, config_path, _, sid, client = killed
    later = clock.now() + timedelta(seconds=STALE_START_SECONDS + 60)
    monkeypatch.setenv("VMUSER_FROZEN_TIME", clock.iso(later))
    vm = _open(data_dir, config_path)  # start-up reconciliation
    try:
        session = vm.sessions.get(sid)
        assert session.status == "failed" and "start did not finish" in session.status_reason
    finally:
        vm.close()
    assert _containers(client, sid) == []


def test_a_delete_killed_after_removing_the_container_then_run_again_claims_no_container(
        tmp_path, clean_env, docker_projects):
    """``project delete`` killed right after the engine removed the session's container: the
    project stays (its rows were not deleted yet) and the session is failed at the next start
    ("container vanished"). The delete run again works, and says (and logs) that it removed
    no container: there was none left to remove."""
    client, made = docker_projects
    data_dir, config_path = tmp_path / "data", tmp_path / "config.toml"
    config_path.write_text(CONFIG)
    vm = _open(data_dir, config_path)
    project = vm.projects.create("killed-delete")
    made.append(project.id)
    sid = vm.sessions.start(project.id).session.id
    vm.close()
    pid = os.fork()
    if pid == 0:
        try:
            real = DockerRuntime.remove

            def remove_then_die(self, container_id):
                real(self, container_id)
                os.kill(os.getpid(), signal.SIGKILL)

            DockerRuntime.remove = remove_then_die  # type: ignore[method-assign]
            _open(data_dir, config_path).delete_project(project.id)
        finally:
            os._exit(3)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status)
    assert _containers(client, sid) == []
    vm = _open(data_dir, config_path)
    try:
        assert vm.sessions.get(sid).status == "failed"
        out = vm.delete_project(project.id)
        assert out["containers"] == 0
        (entry,) = vm.log(operation="project.delete")
        assert entry["details"]["containers"] == 0
    finally:
        vm.close()
