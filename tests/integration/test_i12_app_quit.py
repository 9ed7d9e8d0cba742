"""Stumble 9 (issue 12): quitting the TUI says which session containers keep running and
the command that stops each (real Docker)."""

from __future__ import annotations

import pytest

from vmuser_tui.tui.app import run_tui, still_running

pytestmark = pytest.mark.docker


async def _quit(pilot) -> None:
    for _ in range(4):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
    await pilot.press("q")


def test_quitting_names_the_running_sessions_and_how_to_stop_them(make_vm, docker_projects, capsys):
    _client, made = docker_projects
    vm = make_vm()
    project = vm.projects.create("Left running")
    made.append(project.id)
    session = vm.sessions.start(project.id).session
    try:
        run_tui(vm, jobs=False, headless=True, auto_pilot=_quit)
        err = capsys.readouterr().err
        assert "1 session is still running" in err and "stop it with" in err
        assert f"vmuser session stop {session.id}" in err and "Left running" in err
    finally:
        vm.sessions.stop(session.id)
    run_tui(vm, jobs=False, headless=True, auto_pilot=_quit)  # nothing running: nothing said
    assert capsys.readouterr().err == ""
    assert still_running(vm) == []
