"""Docker end to end through the service layer: a real engine, the default image (which
falls back to the locally built busybox image when no registry answers), real exec."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from vmuser_tui.core.errors import StateError
from vmuser_tui.core.runtime import FALLBACK_IMAGE, LABEL_PROJECT, LABEL_SESSION

pytestmark = pytest.mark.docker


@pytest.fixture
def engine(docker_available):
    import docker

    base_url = os.environ.get("VMUSER_DOCKER_BASE_URL")
    client = docker.DockerClient(base_url=base_url, timeout=60) if base_url else docker.from_env(timeout=60)
    yield client
    client.close()


@pytest.fixture
def cleanup(engine):
    """Project ids whose containers are force-removed after the test, pass or fail."""
    project_ids: list[str] = []
    yield project_ids
    import docker.errors

    for pid in project_ids:
        for c in engine.containers.list(all=True, filters={"label": f"{LABEL_PROJECT}={pid}"}):
            try:
                c.remove(force=True)
            except docker.errors.NotFound:
                pass


def sh(vm, session_id: str, script: str) -> bytes:
    result = vm.sessions.exec(session_id, ["sh", "-c", script])
    assert result.exit_code == 0, result.output
    return result.output


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_docker_session_end_to_end(make_vm, engine, cleanup):
    vm = make_vm()
    p = vm.projects.create("Docker E2E")
    cleanup.append(p.id)
    ws = Path(p.workspace)

    started = vm.sessions.start(p.id)  # runtime docker, default image
    s = started.session
    assert (s.runtime, s.status) == ("docker", "running")
    assert s.container_id and s.image
    if s.image == FALLBACK_IMAGE:
        assert any(FALLBACK_IMAGE in n for n in started.notes)
    container = engine.containers.get(s.container_id)
    assert container.status == "running"
    assert container.labels[LABEL_PROJECT] == p.id and container.labels[LABEL_SESSION] == s.id
    mounts = {m["Destination"]: m["Source"] for m in container.attrs["Mounts"]}
    assert os.path.realpath(mounts["/workspace"]) == os.path.realpath(ws)

    # exec writes into /workspace: the host workspace sees it
    sh(vm, s.id, "printf 'one\\ntwo\\n' > app.txt && chmod 755 app.txt && mkdir -p sub && printf data > sub/f.bin")
    assert (ws / "app.txt").read_bytes() == b"one\ntwo\n" and mode(ws / "app.txt") == 0o755
    cp1 = vm.checkpoints.create(s.id, description="first").checkpoint
    assert cp1.session_id == s.id

    sh(vm, s.id, "printf 'one\\nTWO\\nthree\\n' > app.txt && chmod 644 app.txt && rm sub/f.bin")
    cp2 = vm.checkpoints.create(s.id, description="second").checkpoint
    assert cp2.parent_id == cp1.id

    d = vm.checkpoints.diff(cp1.id, cp2.id)
    changes = {c.path: c for c in d.changes}
    assert set(changes) == {"app.txt", "sub/f.bin"}
    app = changes["app.txt"]
    assert app.status == "M" and (app.additions, app.deletions) == (2, 1)
    assert app.mode_changed
    assert changes["sub/f.bin"].status == "D"
    assert changes["sub/f.bin"].deletions == 1  # "data", one line without a newline
    assert d.stat() == {"files": 2, "additions": 2, "deletions": 2}

    # restore: exact bytes and modes, on the host and inside the container
    vm.restores.restore(cp1.id)
    assert (ws / "app.txt").read_bytes() == b"one\ntwo\n" and mode(ws / "app.txt") == 0o755
    assert (ws / "sub/f.bin").read_bytes() == b"data"
    assert sh(vm, s.id, "cat app.txt") == b"one\ntwo\n"
    assert sh(vm, s.id, "stat -c %a app.txt").strip() == b"755"

    # a new process on the same data dir (restarting the TUI) still sees it running
    vm.close()
    vm2 = make_vm()
    assert vm2.sessions.get(s.id).status == "running"
    assert not [n for n in vm2.notes if s.id in n]
    assert sh(vm2, s.id, "cat app.txt") == b"one\ntwo\n"
    vm2.close()

    # the container disappears behind vmuser's back: the next start reconciles to failed
    container.remove(force=True)
    vm3 = make_vm()
    gone = vm3.sessions.get(s.id)
    assert gone.status == "failed"
    assert "vanished" in gone.status_reason
    assert any(s.id in n and "failed" in n for n in vm3.notes)
    entry = vm3.log(project=p.id, operation="session.reconcile", limit=1)[0]
    assert (entry["details"]["old"], entry["details"]["new"]) == ("running", "failed")
    with pytest.raises(StateError):
        vm3.sessions.exec(s.id, ["true"])
    # the workspace and checkpoints outlive the container
    assert (ws / "app.txt").read_bytes() == b"one\ntwo\n"
    assert {c.id for c in vm3.checkpoints.list(p.id)} >= {cp1.id, cp2.id}


def test_stop_removes_the_container(make_vm, engine, cleanup):
    import docker.errors

    vm = make_vm()
    p = vm.projects.create("Stop me")
    cleanup.append(p.id)
    s = vm.sessions.start(p.id, image=FALLBACK_IMAGE).session
    assert s.image == FALLBACK_IMAGE
    vm.fs.write(p.id, "from-host.txt", b"written on the host\n")
    assert sh(vm, s.id, "cat from-host.txt") == b"written on the host\n"
    stopped = vm.sessions.stop(s.id)
    assert stopped.status == "stopped" and stopped.stopped_at
    with pytest.raises(docker.errors.NotFound):
        engine.containers.get(s.container_id)
    with pytest.raises(StateError):
        vm.sessions.exec(s.id, ["true"])
    assert (Path(p.workspace) / "from-host.txt").exists()  # the workspace stays


def test_container_stopped_outside_is_reconciled_to_stopped(make_vm, engine, cleanup):
    vm = make_vm()
    p = vm.projects.create("Exited")
    cleanup.append(p.id)
    s = vm.sessions.start(p.id, image=FALLBACK_IMAGE).session
    engine.containers.get(s.container_id).stop(timeout=5)
    vm.close()
    vm2 = make_vm()
    got = vm2.sessions.get(s.id)
    assert got.status == "stopped"
    assert "exited" in got.status_reason


def test_delete_project_removes_its_containers(make_vm, engine, cleanup):
    import docker.errors

    vm = make_vm()
    p = vm.projects.create("Delete with container")
    cleanup.append(p.id)
    s = vm.sessions.start(p.id, image=FALLBACK_IMAGE).session
    result = vm.projects.delete(p.id, sessions=vm.sessions)
    assert result["containers"] == 1
    with pytest.raises(docker.errors.NotFound):
        engine.containers.get(s.container_id)


def test_failed_session_whose_container_vanished_can_be_stopped(make_vm, engine, cleanup):
    vm = make_vm()
    p = vm.projects.create("Vanished")
    cleanup.append(p.id)
    s = vm.sessions.start(p.id, image=FALLBACK_IMAGE).session
    engine.containers.get(s.container_id).remove(force=True)
    vm.close()
    vm2 = make_vm()
    assert vm2.sessions.get(s.id).status == "failed"
    assert vm2.sessions.stop(s.id).status == "stopped"
