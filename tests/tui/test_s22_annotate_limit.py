"""The annotate dialog's label holds at most 80 characters: typing past it says so (the keys
used to vanish without a word)."""

from __future__ import annotations

from textual.widgets import Input, Static

from vmuser_tui.tui.screens.annotate import AnnotateScreen

from .conftest import settle


async def test_a_label_typed_past_its_limit_says_so(world, pilot_at):
    async with pilot_at("project") as (pilot, screen):
        await pilot.press("a")
        await settle(pilot)
        dialog = pilot.app.screen
        assert isinstance(dialog, AnnotateScreen)
        await pilot.press(*("x" * 79))
        await settle(pilot)
        assert str(dialog.query_one("#annotate-error", Static).render()) == ""
        await pilot.press(*"yyy")
        await settle(pilot)
        assert len(dialog.query_one("#annotate-label", Input).value) == 80
        assert "at most 80 characters" in str(dialog.query_one("#annotate-error", Static).render())
