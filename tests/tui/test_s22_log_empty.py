"""The operation log's search that finds nothing says so where the rows would be (as the
timeline's does), naming how to see every entry again; the status line is not the only hint."""

from __future__ import annotations

from textual.widgets import Static

from .conftest import settle


def detail(log) -> str:
    return str(log.query_one("#log-detail", Static).render())


async def test_a_log_search_that_finds_nothing_says_so(world, pilot_at):
    async with pilot_at("log") as (pilot, log):
        await pilot.press("slash", *"zzqxy")
        await settle(pilot)
        assert log.entries == []
        assert "No entry matches 'zzqxy'" in detail(log) and "esc in the filter box clears it" in detail(log)
        await pilot.press("escape")
        await settle(pilot)
        assert log.entries and "No entry matches" not in detail(log)
