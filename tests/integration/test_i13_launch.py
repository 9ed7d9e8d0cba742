"""Issue 13: a session starts with environment variables and published ports, and the
engine's answer (which host port it got) is what ``session show`` lists."""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path

import pytest

from vmuser_tui.core.errors import UsageError
from vmuser_tui.core.launch import StartOptions

pytestmark = pytest.mark.docker


def _get(url: str, wait: float = 10.0) -> bytes:
    """GET ``url``, retrying while the server in the container comes up."""
    deadline = time.monotonic() + wait
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                return answer.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_env_and_published_port_reach_the_container(make_vm, docker_projects):
    _, made = docker_projects
    vm = make_vm()
    p = vm.projects.create("Launch")
    made.append(p.id)
    Path(p.workspace, "index.html").write_text("hello from the session\n")
    s = vm.sessions.start(p.id, options=StartOptions(env={"GREETING": "hi there"}, publish=["8000"],
                                                     meta={"ticket": "OPS-7"})).session

    assert vm.sessions.exec(s.id, ["sh", "-c", 'printf %s "$GREETING"']).output == b"hi there"
    [port] = s.ports
    assert port["container"] == 8000 and port["host_ip"] == "127.0.0.1" and port["host"]
    assert s.metadata == {"ticket": "OPS-7"} and s.env_keys == ["GREETING"]
    # busybox httpd serves the workspace; detached (-f would hold the exec open)
    vm.sessions.exec(s.id, ["httpd", "-p", "8000", "-h", "/workspace"])
    assert _get(f"http://127.0.0.1:{port['host']}/index.html") == b"hello from the session\n"
    # the value itself is nowhere in the session's record or the operation log
    assert "hi there" not in repr(vm.sessions.get(s.id).to_json())
    assert vm.log(project=p.id) and "hi there" not in repr(vm.log(project=p.id, limit=1000))


def test_bad_publish_is_refused_before_anything_exists(make_vm, docker_projects):
    _, made = docker_projects
    vm = make_vm()
    p = vm.projects.create("Launch bad")
    made.append(p.id)
    with pytest.raises(UsageError, match="not a port number"):
        vm.sessions.start(p.id, options=StartOptions(publish=["80000"]))
    assert vm.sessions.list(p.id) == []


def test_config_env_does_not_block_a_workspace_only_session(make_vm):
    vm = make_vm(config_text='[session.env]\nEDITOR = "vi"\n')
    p = vm.projects.create("No container")
    s = vm.sessions.start(p.id, runtime="none").session
    assert s.status == "running" and s.env_keys == []
    with pytest.raises(UsageError, match="need a container"):
        vm.sessions.start(p.id, runtime="none", options=StartOptions(env={"A": "1"}))
