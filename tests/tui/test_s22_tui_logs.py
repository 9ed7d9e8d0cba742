"""Session 22 hardening of the container logs screen (Pilot, real Docker): a search in a log
that has printed nothing says it found nothing, visibly at 80 columns (the status line used to
cut that part off behind the long "no output yet" text)."""

from __future__ import annotations

import pytest

from vmuser_tui.tui.screens.container_logs import ContainerLogsScreen

from .conftest import messages, run_app, settle
from .test_i13_life_tui import running  # noqa: F401 - the fixture: a docker session of web

pytestmark = pytest.mark.docker


async def test_a_search_in_an_empty_log_says_no_match(world, running):  # noqa: F811
    vm = world.vm
    async with run_app(vm, docker_status=vm.docker_status, open_project=world.web, notifications=True) as pilot:
        await pilot.press("l")
        await settle(pilot)
        logs = pilot.app.screen
        assert isinstance(logs, ContainerLogsScreen)
        await pilot.press("slash")
        await settle(pilot)
        await pilot.press(*"needle", "enter")
        await settle(pilot)
        assert logs.matches == []
        status = logs.query_one("StatusLine")
        drawn = status.render_line(0).text
        assert "no match" in drawn or any("no line holds 'needle'" in m for m in messages(pilot.app)), drawn
        assert "no match" in drawn, drawn  # and the status line itself keeps saying it
