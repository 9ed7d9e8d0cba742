"""Ctrl-C in the middle of `vmuser session start` (session 22), real Docker.

The interrupt is sent when the engine reports that the session's container was created
(a Docker event, so by order, not by time): the start is then between ``create`` and the
row that records the container. What a user notices afterwards is asserted: the command
said "interrupted" (exit 130, no traceback), no session is left stuck in ``created``, no
container of it is left on the engine, ``vmuser check`` is clean and the next start works.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.docker

PY = [sys.executable, "-m", "vmuser_tui"]
IMAGE = "vmuser-busybox:local"


def _env(data_dir: Path, config_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("VMUSER_") or k in ("VMUSER_DOCKER_BASE_URL", "VMUSER_DOCKER_TIMEOUT")}
    env.update(VMUSER_DATA_DIR=str(data_dir), VMUSER_CONFIG=str(config_path))
    return env


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*PY, *args], env=env, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL, check=False)


def _client():
    import docker

    url = os.environ.get("VMUSER_DOCKER_BASE_URL")
    return docker.DockerClient(base_url=url) if url else docker.from_env()


def test_ctrl_c_during_session_start_leaves_nothing_half_started(tmp_path, docker_available):
    env = _env(tmp_path / "data", tmp_path / "none.toml")
    project = cli(env, "project", "create", "hurry").stdout.strip()
    assert project, "project create failed"
    client = _client()
    events = client.events(decode=True, filters={"type": "container", "event": "create",
                                                 "label": f"vmuser.project={project}"})
    try:
        proc = subprocess.Popen([*PY, "session", "start", project, "--image", IMAGE], env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _event in events:  # the container exists; its start and the running row are to come
            proc.send_signal(signal.SIGINT)
            break
        out, err = proc.communicate(timeout=120)
    finally:
        events.close()
    try:
        assert "Traceback" not in err, err
        sessions = json.loads(cli(env, "session", "list", project, "--json").stdout)
        left = client.containers.list(all=True, filters={"label": f"vmuser.project={project}"})
        if proc.returncode == 0:  # the start won the race with the signal: nothing to judge
            pytest.skip("the start finished before the interrupt arrived")
        assert proc.returncode == 130 and err.strip() == "vmuser: interrupted", (proc.returncode, err)
        assert [s["status"] for s in sessions] == [], f"a session was left behind: {sessions}"
        assert [c.name for c in left] == [], "a container of the interrupted start was left on the engine"
        assert cli(env, "check").returncode == 0
        started = cli(env, "session", "start", project, "--image", IMAGE)
        assert started.returncode == 0, started.stderr
        assert cli(env, "session", "stop", started.stdout.strip()).returncode == 0
    finally:
        for c in client.containers.list(all=True, filters={"label": f"vmuser.project={project}"}):
            c.remove(force=True)
        client.close()


def test_project_deleted_while_its_session_starts(tmp_path, docker_available):
    """`project delete P` while `session start P` runs (the start held, by SIGSTOP, once the
    engine reports its container started): the start says the project went away, in one
    line (not "no session matches"), and no container of the deleted project is left."""
    env = _env(tmp_path / "data", tmp_path / "none.toml")
    project = cli(env, "project", "create", "racy").stdout.strip()
    assert project, "project create failed"
    client = _client()
    events = client.events(decode=True, filters={"type": "container", "event": "start",
                                                 "label": f"vmuser.project={project}"})
    try:
        proc = subprocess.Popen([*PY, "session", "start", project, "--image", IMAGE], env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _event in events:
            proc.send_signal(signal.SIGSTOP)
            break
        deleted = cli(env, "project", "delete", project, "--yes")
        proc.send_signal(signal.SIGCONT)
        out, err = proc.communicate(timeout=120)
    finally:
        events.close()
    try:
        assert deleted.returncode == 0, deleted.stderr
        assert "Traceback" not in err and "internal error" not in err, err
        assert proc.returncode == 1 and err.count("\n") == 1, (proc.returncode, out, err)
        assert f"project {project} was deleted while session" in err and "no session matches" not in err, err
        left = client.containers.list(all=True, filters={"label": f"vmuser.project={project}"})
        assert [c.name for c in left] == [], "a container of the deleted project was left on the engine"
        assert cli(env, "check").returncode == 0
    finally:
        for c in client.containers.list(all=True, filters={"label": f"vmuser.project={project}"}):
            c.remove(force=True)
        client.close()
