"""Session 22 hardening (Pilot): very long project names must not hide what a user looks for on
the project screen's first line (its status and checkpoint count) at 80 columns or less."""

from __future__ import annotations

import pytest

from vmuser_tui.tui.widgets.project_info import ProjectInfo

from .conftest import run_app, settle

LONG = "Ünïcødé 日本語 project with a really long name that keeps going and going to the end"


@pytest.mark.parametrize("size", [(80, 24), (60, 20)], ids=["80x24", "60x20"])
async def test_a_long_name_leaves_the_status_and_the_count_in_view(world, size):
    world.vm.projects.create(LONG, tags=["client"])  # the newest: first in the list
    async with run_app(world.vm, size=size) as pilot:
        await pilot.press("enter")
        await settle(pilot)
        info = pilot.app.screen.query_one(ProjectInfo)
        first = info.render_line(0).text  # as drawn, cut to the widget's width
        assert "idle" in first and "0 checkpoints" in first, first
        assert first.lstrip().startswith("Ünïcødé 日"), first
        assert "…" in first  # the name is cut, visibly
