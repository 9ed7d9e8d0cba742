"""Session lifecycle against the real engine (issue 13, item 6): pause and resume, what
``session stop`` and ``project delete`` leave on the engine (listed before and after, with
and without ``[runtime] keep_stopped``), ``session rm``, and the ``[snapshots] enabled``
switch (the worker takes no automatic checkpoint when it is off; a paused session is not
checkpointed while it is frozen)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from vmuser_tui.core.runtime import LABEL_PROJECT
from vmuser_tui.core.workers import snapshot

pytestmark = pytest.mark.docker

PY = [sys.executable, "-m", "vmuser_tui"]
IMAGE = "vmuser-busybox:local"


class Cli:
    """``vmuser`` in a subprocess on one data dir and config file."""

    def __init__(self, env: dict[str, str], config) -> None:
        self.env, self.config = env, config

    def configure(self, text: str) -> None:
        self.config.write_text(text)

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*PY, *args], env=self.env, capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL, check=False)

    def ok(self, *args: str) -> str:
        r = self.run(*args)
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()


@pytest.fixture
def cli(cli_env, tmp_path, docker_projects):
    config = tmp_path / "config.toml"
    env = dict(cli_env, VMUSER_DATA_DIR=str(tmp_path / "data"), VMUSER_CONFIG=str(config),
               VMUSER_DOCKER_IMAGE=IMAGE)
    c = Cli(env, config)
    c.client, c.made = docker_projects  # type: ignore[attr-defined]
    return c


def new_project(cli: Cli, name: str) -> str:
    pid = cli.ok("project", "create", name)
    cli.made.append(pid)  # type: ignore[attr-defined]
    return pid


def engine_containers(cli: Cli, pid: str) -> list[tuple[str, str]]:
    """``[(name, state)]`` of the engine's containers labelled with the project, any state."""
    rows = cli.client.api.containers(all=True, filters={"label": f"{LABEL_PROJECT}={pid}"})  # type: ignore[attr-defined]
    return sorted((r["Names"][0].lstrip("/"), r["State"]) for r in rows)


def engine_images(cli: Cli, pid: str) -> list[str]:
    rows = cli.client.api.images(filters={"label": f"{LABEL_PROJECT}={pid}"})  # type: ignore[attr-defined]
    return sorted(tag for r in rows for tag in (r.get("RepoTags") or [r["Id"]]))


def status_of(cli: Cli, sid: str) -> str:
    return next(s["status"] for s in json.loads(cli.ok("session", "list", "--json")) if s["id"] == sid)


def test_pause_refuses_exec_with_the_resume_line_and_resume_lets_it_run(cli):
    pid = new_project(cli, "pausing")
    sid = cli.ok("session", "start", pid)
    assert "paused" in cli.ok("session", "pause", sid)
    assert status_of(cli, sid) == "paused"
    assert json.loads(cli.ok("session", "show", sid, "--json"))["status"] == "paused"
    assert json.loads(cli.ok("project", "show", pid, "--json"))["status"] == "paused"
    assert engine_containers(cli, pid) == [(f"vmuser-{pid}-{sid}", "paused")]
    r = cli.run("session", "exec", sid, "--", "echo", "hi")
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr == f"vmuser: error: session {sid} is paused: resume it with: vmuser session resume {sid}\n"
    cli.ok("session", "resume", sid)
    assert status_of(cli, sid) == "running"
    assert cli.ok("session", "exec", sid, "--", "echo", "hi") == "hi"
    log = [e["operation"] for e in json.loads(cli.ok("log", "--session", sid, "--json"))]
    assert {"session.pause", "session.resume"} <= set(log)
    cli.ok("session", "pause", sid)
    cli.ok("session", "stop", sid)  # a paused session stops too
    assert engine_containers(cli, pid) == []


def test_stop_and_delete_leave_no_container_and_keep_stopped_keeps_one_until_delete(cli):
    pid = new_project(cli, "sweep")
    assert engine_containers(cli, pid) == []
    sid = cli.ok("session", "start", pid)
    assert engine_containers(cli, pid) == [(f"vmuser-{pid}-{sid}", "running")]
    cli.ok("session", "stop", sid)
    assert engine_containers(cli, pid) == []  # stop removes the container

    cli.configure("[runtime]\nkeep_stopped = true\n[snapshots]\ncontainer_image = true\n")
    kept = cli.ok("session", "start", pid)
    cli.ok("checkpoint", "create", kept, "-m", "with image", "--allow-empty")  # a checkpoint image
    cli.ok("session", "stop", kept)
    assert engine_containers(cli, pid) == [(f"vmuser-{pid}-{kept}", "exited")]  # kept, stopped
    # an image built for the project (as the devcontainer builder labels them)
    container = cli.client.api.create_container(IMAGE, command=["true"], labels={LABEL_PROJECT: pid})  # type: ignore[attr-defined]
    cli.client.api.commit(container["Id"], repository=f"vmuser-test-build/{pid}", tag="x",  # type: ignore[attr-defined]
                          conf={"Labels": {LABEL_PROJECT: pid}})
    running = cli.ok("session", "start", pid)
    before = engine_containers(cli, pid)
    assert len(before) == 3 and {state for _, state in before} == {"running", "exited", "created"}
    images = engine_images(cli, pid)
    assert f"vmuser-test-build/{pid}:x" in images and any(i.startswith("vmuser-checkpoint/") for i in images)

    out = cli.ok("project", "delete", pid, "--yes")
    assert "container(s) removed" in out and "image(s) removed" in out
    assert engine_containers(cli, pid) == []  # none of the project's left, kept one included
    assert engine_images(cli, pid) == []
    assert running not in cli.ok("session", "list")


def test_rm_removes_an_ended_session_and_its_kept_container_and_keeps_its_checkpoints(cli):
    pid = new_project(cli, "removing")
    cli.configure("[runtime]\nkeep_stopped = true\n")
    sid = cli.ok("session", "start", pid)
    cp = cli.ok("checkpoint", "create", sid, "-m", "mine", "--allow-empty")
    r = cli.run("session", "rm", sid, "--yes")
    assert r.returncode == 1
    assert r.stderr == f"vmuser: error: session {sid} is running: stop it first with: vmuser session stop {sid}\n"
    cli.ok("session", "stop", sid)
    assert len(engine_containers(cli, pid)) == 1
    r = cli.run("session", "rm", sid)  # no terminal: asks for --yes, removes nothing
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "pass --yes" in r.stderr
    assert len(engine_containers(cli, pid)) == 1
    assert cli.ok("session", "rm", sid, "--yes") == f"removed session {sid}"
    assert engine_containers(cli, pid) == []
    assert sid not in cli.ok("session", "list")
    shown = json.loads(cli.ok("checkpoint", "show", cp, "--json"))
    assert shown["session_id"] is None and shown["description"] == "mine"
    assert cli.run("checkpoint", "restore", cp, "--yes").returncode == 0  # its content is still there


def test_snapshots_disabled_means_no_automatic_checkpoint(cli):
    pid = new_project(cli, "quiet")
    cli.configure("[snapshots]\nenabled = false\n")
    sid = cli.ok("session", "start", pid)
    cli.ok("session", "exec", sid, "--", "sh", "-c", "echo change > /workspace/new.txt")
    summary = json.loads(cli.ok("worker", "--once", "--all", "--json"))
    snap = next(r for r in summary if r["job"] == "snapshot")
    assert snap["summary"] == {"skipped": "automatic checkpoints are off ([snapshots] enabled = false)"}
    cli.ok("session", "stop", sid)  # no checkpoint on stop either
    assert json.loads(cli.ok("checkpoint", "list", pid, "--json")) == []

    cli.configure("")  # on again (the default): the worker checkpoints the change
    sid = cli.ok("session", "start", pid)
    cli.ok("worker", "--once", "--all", "--json")
    kinds = [c["kind"] for c in json.loads(cli.ok("checkpoint", "list", pid, "--json"))]
    assert kinds == ["auto"]
    cli.ok("session", "stop", sid)


def test_a_paused_session_is_not_checkpointed_while_frozen(make_vm, docker_projects):
    vm = make_vm(config_text=f'[docker]\nimage = "{IMAGE}"\n')
    project = vm.projects.create("frozen")
    docker_projects[1].append(project.id)
    session = vm.sessions.start(project.id).session
    try:
        vm.sessions.exec(session.id, ["sh", "-c", "echo before > /workspace/f.txt"])
        vm.sessions.pause(session.id)
        assert snapshot.running_projects(vm) == {}
        assert snapshot.run(vm) == {"checkpoints": [], "errors": []}
        vm.sessions.resume(session.id)
        made = snapshot.run(vm)["checkpoints"]
        assert [m["project"] for m in made] == [project.id]
    finally:
        vm.sessions.stop(session.id)
