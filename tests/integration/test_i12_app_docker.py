"""Stumble 3 (issue 12), with the real Docker engine: a container start that fails leaves
no session row (the operation log keeps the attempt), the status says what the engine
said, and the hints name no service manager."""

from __future__ import annotations

import asyncio

import pytest

from vmuser_tui.core.errors import RuntimeUnavailableError, VmuserError
from vmuser_tui.core.runtime.docker_runtime import DockerRuntime

pytestmark = pytest.mark.docker

#: The engine refuses a container under 6 MB of memory; vmuser's own minimum is 4 MiB.
TOO_LITTLE = '[docker]\nmemory = "4m"\n'


def _attempts(vm, project_id: str) -> list[tuple[str, dict]]:
    """The project's session entries of the operation log, oldest first."""
    entries = [e for e in vm.log(project=project_id) if e["operation"].startswith("session.")]
    return [(e["operation"], e["details"]) for e in reversed(entries)]


def test_a_failed_start_leaves_no_session_and_the_log_keeps_it(make_vm, docker_projects):
    client, made = docker_projects
    vm = make_vm(config_text=TOO_LITTLE)
    project = vm.projects.create("Too little memory")
    made.append(project.id)
    with pytest.raises(VmuserError) as err:
        vm.sessions.start(project.id)
    assert "memory" in str(err.value).lower()
    assert vm.sessions.list(project.id) == []  # no failed row piling up
    assert client.containers.list(all=True, filters={"label": f"vmuser.project={project.id}"}) == []
    ops = _attempts(vm, project.id)
    assert [op for op, _ in ops] == ["session.create", "session.fail"]
    assert "memory" in ops[-1][1]["reason"].lower()
    # the status line's source says what went wrong, not "reachable"
    ok, detail = vm.docker_status()
    assert ok is False and detail.startswith("last container start failed:") and "memory" in detail.lower()
    # a start that works clears it
    vm.ctx.config.values["docker"]["memory"] = 256 * 1024 * 1024
    started = vm.sessions.start(project.id)
    assert vm.docker_status() == (True, "Docker reachable")
    assert [s.id for s in vm.sessions.list(project.id)] == [started.session.id]
    vm.sessions.stop(started.session.id)


def test_hints_name_no_service_manager(tmp_path):
    from vmuser_tui.core.runtime import docker_runtime

    with pytest.raises(RuntimeUnavailableError) as err:
        DockerRuntime(f"unix://{tmp_path}/no.sock").ping()
    for text in (str(err.value), docker_runtime.ENGINE_LOG_HINT):
        assert "systemctl" not in text and "journalctl" not in text
    assert "docker info" in docker_runtime.ENGINE_LOG_HINT


def test_the_status_line_shows_the_failed_start(make_vm, docker_projects):
    from vmuser_tui.tui.app import VmuserApp
    from vmuser_tui.tui.screens.project import ProjectScreen
    from vmuser_tui.tui.screens.projects import ProjectsScreen

    async def settle(pilot, rounds: int = 4) -> None:
        for _ in range(rounds):
            await pilot.app.workers.wait_for_complete()
            await pilot.pause()

    _client, made = docker_projects
    vm = make_vm(config_text=TOO_LITTLE)
    project = vm.projects.create("Status after a failed start")
    made.append(project.id)

    async def run() -> None:
        app = VmuserApp(vm, docker_status=vm.docker_status, docker_interval=0, watch_interval=0)
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot)
            app.first_screen_drawn()
            await settle(pilot)
            assert isinstance(app.screen, ProjectsScreen)
            assert "Docker ✓" in str(app.screen.query_one("StatusLine").render())
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, ProjectScreen)
            await pilot.press("s")
            await settle(pilot, rounds=8)
            status = str(app.screen.query_one("StatusLine").render())
            assert "Docker ✗" in status and "last container start failed" in status, status
            assert app.screen.sessions == []

    asyncio.run(run())
