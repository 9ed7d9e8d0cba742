"""The container logs screen streamed from the engine, and pause/resume from the project
screen (issue 13, items 5 and 6), driven with Pilot against a real container.

What PID 1 of the container writes is its output: the tests write there with
``echo ... > /proc/1/fd/1`` through ``session exec``.
"""

from __future__ import annotations

import re

import pytest
from textual.widgets import RichLog

from vmuser_tui.tui.screens.container_logs import ContainerLogsScreen
from vmuser_tui.tui.screens.project import ProjectScreen
from vmuser_tui.tui.widgets.sessions_panel import SessionsPanel

from .conftest import run_app, settle

pytestmark = pytest.mark.docker

IMAGE = "vmuser-busybox:local"
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z ")


async def until(pilot, pred, timeout: float = 10.0) -> bool:
    for _ in range(int(timeout / 0.1)):
        await settle(pilot, rounds=1)
        if pred():
            return True
        await pilot.pause(0.1)
    return pred()


def drawn(log: RichLog) -> list[str]:
    """The lines the RichLog holds, as text."""
    return [strip.text for strip in log.lines]


def highlighted(log: RichLog) -> list[str]:
    """The pieces of text drawn with a yellow background (the search's matches)."""
    return [seg.text for strip in log.lines for seg in strip
            if seg.style is not None and seg.style.bgcolor is not None and seg.style.bgcolor.name == "yellow"]


@pytest.fixture
def running(world):
    vm = world.vm
    session = vm.sessions.start(world.web, runtime="docker", image=IMAGE).session
    yield session
    for s in vm.sessions.list(world.web):
        if s.status in ("running", "paused"):
            vm.sessions.stop(s.id)


def say(vm, session, text: str) -> None:
    vm.sessions.exec(session.id, ["sh", "-c", f"echo '{text}' > /proc/1/fd/1"])


async def test_logs_screen_streams_searches_and_toggles_timestamps(world, running):
    vm = world.vm
    for text in ("alpha", "beta needle", "gamma", "delta NEEDLE"):
        say(vm, running, text)
    async with run_app(vm, docker_status=vm.docker_status, open_project=world.web) as pilot:
        app = pilot.app
        await pilot.press("l")
        await settle(pilot)
        logs = app.screen
        assert isinstance(logs, ContainerLogsScreen)
        log = logs.query_one(RichLog)
        assert await until(pilot, lambda: logs.shown == ["alpha", "beta needle", "gamma", "delta NEEDLE"])
        assert drawn(log) == ["alpha", "beta needle", "gamma", "delta NEEDLE"]

        # a line printed while the screen follows shows up, at the bottom, in view
        say(vm, running, "epsilon")
        assert await until(pilot, lambda: drawn(log)[-1:] == ["epsilon"])
        assert logs.follow and "following" in logs.query_one("StatusLine").message

        # / search: every match highlighted, the newest one current; following stops
        await pilot.press("slash")
        await settle(pilot)
        await pilot.press(*"needle", "enter")
        await settle(pilot)
        assert app.screen is logs
        assert logs.matches == [1, 3] and logs.current == 1 and not logs.follow
        assert highlighted(log) == ["needle", "NEEDLE"]
        assert "match 2 of 2" in logs.query_one("StatusLine").message
        await pilot.press("N")
        assert logs.current == 0 and "match 1 of 2" in logs.query_one("StatusLine").message
        await pilot.press("n")
        assert logs.current == 1
        await pilot.press("n")  # wraps round
        assert logs.current == 0
        await pilot.press("slash")
        await settle(pilot)
        await pilot.press(*"nothing here", "enter")
        await settle(pilot)
        assert logs.matches == [] and highlighted(log) == []
        assert "'nothing here': no match" in logs.query_one("StatusLine").message

        # t: the engine's time before each line, and off again
        await pilot.press("t")
        await settle(pilot)
        assert all(STAMP.match(line) for line in drawn(log))
        assert [STAMP.sub("", line) for line in drawn(log)] == logs.shown
        await pilot.press("t")
        await settle(pilot)
        assert drawn(log) == logs.shown

        # following again: a new line shows up while the stream is open
        await pilot.press("f")
        say(vm, running, "zeta")
        assert await until(pilot, lambda: drawn(log)[-1:] == ["zeta"])
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ProjectScreen)


async def test_logs_screen_says_when_the_output_ends(world, running):
    vm = world.vm
    say(vm, running, "bye")
    async with run_app(vm, docker_status=vm.docker_status, open_project=world.web) as pilot:
        await pilot.press("l")
        await settle(pilot)
        logs = pilot.app.screen
        assert isinstance(logs, ContainerLogsScreen)
        assert await until(pilot, lambda: logs.shown == ["bye"])
        vm.ctx.runtime("docker").stop(running.container_id)  # the container stops (behind the screen)
        assert await until(pilot, lambda: "the output ended" in logs.query_one("StatusLine").message)
        assert logs.shown == ["bye"]


async def test_p_pauses_and_resumes_the_selected_session(world, running):
    vm = world.vm
    async with run_app(vm, docker_status=vm.docker_status, open_project=world.web) as pilot:
        app = pilot.app
        screen = app.screen
        assert isinstance(screen, ProjectScreen)
        panel = screen.query_one(SessionsPanel)
        assert screen.selected_session().id == running.id
        await pilot.press("p")
        assert await until(pilot, lambda: vm.sessions.get(running.id).status == "paused")
        assert await until(pilot, lambda: screen.selected_session().status == "paused")
        assert "paused" in str(panel.get_row(running.id)[1])
        assert any(f"session {running.id} paused" in n.message for n in app._notifications)
        # exec on a paused session: refused with the key that resumes it
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, ProjectScreen)
        assert any(f"session {running.id} is paused: press p to resume it" in n.message for n in app._notifications)
        # the status line of the sessions table says it too
        panel.focus()
        await settle(pilot)
        assert screen.query_one("StatusLine").message.endswith("p: resume")
        await pilot.press("p")
        assert await until(pilot, lambda: vm.sessions.get(running.id).status == "running")
        assert await until(pilot, lambda: screen.selected_session().status == "running")
        assert vm.sessions.exec(running.id, ["echo", "back"]).output == b"back\n"


async def test_p_on_a_session_without_container_says_what_to_select(world, pilot_at):
    async with pilot_at("project") as (pilot, screen):
        await pilot.press("p")
        await settle(pilot)
        assert any("select a running or paused container session" in n.message
                   for n in pilot.app._notifications)
