"""`x` on the project screen streams a command's output while it runs and can cancel it
(issue 13, item 4): Pilot on a real container. The first line shows before the command can
end (it waits for a file the test creates only after seeing that line); a cancel stops the
command in the container (checked there with ps) and the view says so.

No `settle()` while a command runs: it waits for every worker, the exec's included."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from textual.widgets import RichLog, Static

from vmuser_tui.tui.screens.exec_output import ExecOutputScreen
from vmuser_tui.tui.screens.project import ProjectScreen

from .conftest import run_app, settle

pytestmark = pytest.mark.docker


def log_text(screen: ExecOutputScreen) -> str:
    log = screen.query_one("#exec-log", RichLog)
    return "\n".join("".join(seg.text for seg in strip) for strip in log.lines)


def summary(screen: ExecOutputScreen) -> str:
    return str(screen.query_one("#exec-summary", Static).render())


async def until(pilot, condition, timeout: float = 20) -> bool:
    for _ in range(int(timeout / 0.05)):
        if condition():
            return True
        await asyncio.sleep(0.05)
        await pilot.pause()
    return condition()


@pytest.fixture
def session(world):
    vm = world.vm
    vm.config.values["docker"]["image"] = "vmuser-busybox:local"
    s = vm.sessions.start(world.web, runtime="docker").session
    yield s
    for one in vm.sessions.list(world.web):
        if one.status == "running":
            vm.sessions.stop(one.id)


async def run_command(pilot, command: str) -> ExecOutputScreen:
    await pilot.press("x")
    await settle(pilot)
    await pilot.press(*command)
    await pilot.press("enter")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, ExecOutputScreen)
    return screen


async def test_output_shows_while_the_command_runs_then_its_exit_code(world, session):
    vm = world.vm
    ws = Path(vm.projects.get(world.web).workspace)
    async with run_app(vm, docker_status=vm.docker_status, open_project=world.web) as pilot:
        assert isinstance(pilot.app.screen, ProjectScreen)
        screen = await run_command(
            pilot, "printf '\\033[32mgreen\\033[0m\\n'; echo oops >&2; echo first; "
                   "while [ ! -e go ]; do sleep 0.05; done; echo second; exit 3")
        assert await until(pilot, lambda: "first" in log_text(screen))
        assert screen.running and "second" not in log_text(screen)
        assert "running… (ctrl+c/escape to cancel)" in summary(screen)
        assert "green" in log_text(screen) and "\\x1b" not in log_text(screen)  # the colour applied, not shown
        (ws / "go").write_text("")
        assert await until(pilot, lambda: not screen.running)
        assert log_text(screen).splitlines()[-1] == "second"
        assert summary(screen).startswith("exit 3 · ") and "4 lines" in summary(screen)
        await pilot.press("escape")  # done: escape closes
        await settle(pilot)
        assert isinstance(pilot.app.screen, ProjectScreen)
    [entry] = vm.log(operation="session.exec", limit=1)
    assert entry["details"]["exit_code"] == 3


async def test_cancel_stops_the_command_in_the_container(world, session):
    vm = world.vm
    async with run_app(vm, docker_status=vm.docker_status, open_project=world.web, notifications=True) as pilot:
        screen = await run_command(pilot, "echo started; sleep 731; echo never")
        assert await until(pilot, lambda: "started" in log_text(screen))
        assert "sleep 731" in vm.sessions.exec(session.id, ["ps", "-o", "args"]).output.decode()
        await pilot.press("escape")  # running: escape cancels (it does not close)
        assert isinstance(pilot.app.screen, ExecOutputScreen)
        assert await until(pilot, lambda: not screen.running)
        assert "cancelled: stopped with SIGTERM" in summary(screen)
        assert "never" not in log_text(screen)
        assert any("command cancelled" in n.message for n in pilot.app._notifications)
        assert "sleep 731" not in vm.sessions.exec(session.id, ["ps", "-o", "args"]).output.decode()
        await pilot.press("q")
        await settle(pilot)
        assert isinstance(pilot.app.screen, ProjectScreen)
    [entry] = [e for e in vm.log(operation="session.exec", limit=5) if "sleep 731" in " ".join(e["details"]["command"])]
    assert entry["details"]["cancelled"] is True and entry["details"]["signal"] == "TERM"
