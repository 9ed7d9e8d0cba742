"""Issue 14 end to end: a project living on another Docker engine, reached over its socket
and over SSH; that engine dying; the project moved back.

The second engine runs in its own mount and network namespace with a tmpfs over /tmp
(tests/engines.py), so it cannot see this host's files, as a remote host could not: a
workspace that works there is really the volume, never a bind mount of a folder here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[2]


def _config(*, box: str = "", ssh=None) -> str:
    text = ""
    if box:
        text += f'[engines.box]\nurl = "{box}"\n'
    if ssh is not None:
        text += (f'[engines.sshbox]\nurl = "{ssh.url}"\nremote_socket = "{ssh.remote_socket}"\n'
                 f"ssh_options = {json.dumps(ssh.ssh_options)}\n")
    return text


def _engine_client(url: str):
    import docker

    return docker.DockerClient(base_url=url, timeout=30)


def _project(vm, tmp_path: Path, name: str = "web"):
    src = tmp_path / "src"
    (src / "lib").mkdir(parents=True)
    (src / "app.txt").write_text("hello v1\n")
    (src / "lib" / "x.py").write_text("print('x')\n")
    project = vm.projects.create(name, import_dir=str(src))
    first = vm.checkpoints.create(project.id, description="first").checkpoint
    return vm.projects.get(project.id), first, src


def _sh(vm, session_id: str, script: str) -> str:
    result = vm.sessions.exec(session_id, ["sh", "-c", script])
    assert result.exit_code == 0, result.output
    return result.output.decode()


def _cleanup_engine(url: str, project_id: str) -> None:
    client = _engine_client(url)
    try:
        for c in client.containers.list(all=True, filters={"label": f"vmuser.project={project_id}"}):
            c.remove(force=True)
        for v in client.volumes.list(filters={"label": f"vmuser.project={project_id}"}):
            v.remove(force=True)
    finally:
        client.close()


def _life_on_engine(vm, tmp_path: Path, engine: str, url: str) -> None:
    """What the issue's done-when asks of one engine: start there, a file made by exec is in
    the next checkpoint, a restore of an older checkpoint removes it and brings back the old
    content there, diff and fs see the live volume; this host's folder is never touched."""
    project, first, _ = _project(vm, tmp_path, f"web-{engine}")
    folder = Path(project.workspace)
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    outcome = vm.sessions.start(project.id, engine=engine)
    session = outcome.session
    try:
        assert session.engine == engine and vm.projects.get(project.id).engine == engine
        assert any(f"vmuser-ws-{project.id}" in n and "filled from" in n for n in outcome.notes), outcome.notes
        # the container sees the checkpoint's files in its volume
        assert _sh(vm, session.id, "cat /workspace/app.txt") == "hello v1\n"
        _sh(vm, session.id, "echo made there > /workspace/made.txt && echo 'hello v2' > /workspace/app.txt")
        second = vm.checkpoints.create(project.id, description="after exec")
        assert second.created
        names = {f.name for f in vm.fs.ls(project.id, "", at=second.checkpoint.id)}
        assert "made.txt" in names
        assert vm.fs.read(project.id, "made.txt", at=second.checkpoint.id) == b"made there\n"
        # diff against the live volume, and the files API on it
        live = vm.checkpoints.diff(first.id)
        assert {(c.status, c.path) for c in live.changes} >= {("A", "made.txt"), ("M", "app.txt")}
        assert {f.name for f in vm.fs.ls(project.id)} >= {"made.txt", "app.txt", "lib"}
        assert vm.fs.read(project.id, "made.txt") == b"made there\n"
        vm.fs.mkdir(project.id, "notes")
        vm.fs.write(project.id, "notes/put.txt", b"put through vmuser\n")
        assert _sh(vm, session.id, "cat /workspace/notes/put.txt") == "put through vmuser\n"
        vm.fs.rm(project.id, "notes", recursive=True)
        # restore the first checkpoint: made.txt goes, app.txt is v1 again, on that engine
        restored = vm.restores.restore(first.id)
        assert restored.pre_restore.id == second.checkpoint.id
        assert _sh(vm, session.id, "ls /workspace").split() == ["app.txt", "lib"]
        assert _sh(vm, session.id, "cat /workspace/app.txt") == "hello v1\n"
        # ... and undoable like any restore
        vm.restores.undo(project.id)
        assert _sh(vm, session.id, "cat /workspace/made.txt") == "made there\n"
        # this host's folder was never the workspace: untouched
        assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before
        assert not (folder / "made.txt").exists()
    finally:
        vm.sessions.stop(session.id)


def test_a_project_lives_on_a_second_engine(make_vm, tmp_path, second_engine, docker_available):
    vm = make_vm(config_text=_config(box=second_engine.url))
    try:
        _life_on_engine(vm, tmp_path, "box", second_engine.url)
        pid = vm.projects.get("web-box").id
        # the volume and the helper are on the second engine, not on this host's engine
        other = _engine_client(second_engine.url)
        main = _engine_client("unix:///var/run/docker.sock")
        try:
            assert [v.name for v in other.volumes.list(filters={"label": f"vmuser.project={pid}"})] == \
                [f"vmuser-ws-{pid}"]
            assert main.volumes.list(filters={"label": f"vmuser.project={pid}"}) == []
        finally:
            other.close()
            main.close()
        # deleting the project removes what it had over there
        vm.delete_project(pid)
        other = _engine_client(second_engine.url)
        try:
            assert other.containers.list(all=True, filters={"label": f"vmuser.project={pid}"}) == []
            assert other.volumes.list(filters={"label": f"vmuser.project={pid}"}) == []
        finally:
            other.close()
    finally:
        for p in vm.projects.list():
            _cleanup_engine(second_engine.url, p.id)


def test_a_project_lives_on_an_engine_reached_over_ssh(make_vm, tmp_path, second_engine, ssh_engine,
                                                       docker_available):
    vm = make_vm(config_text=_config(ssh=ssh_engine))
    try:
        statuses = {s.name: s for s in vm.engine_statuses()}
        assert statuses["sshbox"].reachable and statuses["sshbox"].rtt_ms is not None
        _life_on_engine(vm, tmp_path, "sshbox", second_engine.url)
    finally:
        for p in vm.projects.list():
            _cleanup_engine(second_engine.url, p.id)


def _cli(env: dict, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vmuser_tui", *args], env=env, capture_output=True,
                          timeout=timeout, cwd=ROOT)


def test_a_dead_engine_is_reported_and_the_project_moves_back(tmp_path, data_dir, config_path, clean_env,
                                                              disposable_engine, docker_available):
    config_path.parent.mkdir(parents=True)
    config_path.write_text(_config(box=disposable_engine.url))
    env = {**os.environ, "VMUSER_DATA_DIR": str(data_dir), "VMUSER_CONFIG": str(config_path),
           "PYTHONPATH": str(ROOT)}
    src = tmp_path / "src"
    src.mkdir()
    (src / "app.txt").write_text("v1\n")
    assert _cli(env, "project", "create", "web", "--import", str(src)).returncode == 0
    started = _cli(env, "session", "start", "web", "--engine", "box")
    assert started.returncode == 0, started.stderr
    sid = started.stdout.decode().strip()
    assert _cli(env, "session", "exec", sid, "--", "sh", "-c", "echo v2 > app.txt").returncode == 0
    cp = _cli(env, "checkpoint", "create", "web", "-m", "v2 there")
    assert cp.returncode == 0, cp.stderr

    def project_list_seconds() -> float:
        t0 = time.monotonic()
        r = _cli(env, "project", "list")
        assert r.returncode == 0, r.stderr
        return time.monotonic() - t0

    alive = min(project_list_seconds() for _ in range(3))
    disposable_engine.kill()
    t0 = time.monotonic()
    listed = json.loads(_cli(env, "engine", "list", "--json").stdout)
    assert time.monotonic() - t0 < 10
    assert {e["name"]: e["reachable"] for e in listed} == {"local": True, "box": False}
    dead = min(project_list_seconds() for _ in range(3))
    print(f"project list: {alive:.2f} s with the engine up, {dead:.2f} s with it dead")
    assert dead < alive + 1.0  # no wait on the dead host (a bound of 1.5 s would show)
    shown = json.loads(_cli(env, "session", "show", sid, "--json").stdout)
    assert shown["status"] == "unreachable"
    refused = _cli(env, "session", "exec", sid, "--", "true")
    assert refused.returncode == 1 and b"session move" in refused.stderr
    assert refused.stderr.decode().count("\n") == 1
    # move it home: from the last checkpoint, on the local engine
    moved = _cli(env, "session", "move", sid, "--engine", "local")
    assert moved.returncode == 0, moved.stderr
    assert b"does not answer" in moved.stderr and b"last checkpoint" in moved.stderr
    new = moved.stdout.decode().strip()
    out = _cli(env, "session", "exec", new, "--", "cat", "/workspace/app.txt")
    assert out.stdout == b"v2\n"
    sessions = {s["id"]: s for s in json.loads(_cli(env, "session", "list", "--json").stdout)}
    assert sessions[sid]["status"] == "stopped" and sessions[new]["engine"] == "local"
    assert _cli(env, "session", "stop", new).returncode == 0
