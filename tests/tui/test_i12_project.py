"""Stumble 4 of issue 12 on the project screen: ``c`` with a description when nothing
changed asks whether to take an empty checkpoint with it; the typed text is never lost
silently (cancelling says it was not recorded and repeats it)."""

from __future__ import annotations

from vmuser_tui.tui.screens.confirm import ConfirmScreen

from .conftest import settle


async def _offer(pilot) -> None:
    """``c``, a description, Enter, with nothing changed: the empty-checkpoint offer shows."""
    await pilot.press("c", *"tests pass", "enter")
    await settle(pilot)
    assert isinstance(pilot.app.screen, ConfirmScreen)


async def test_a_description_with_nothing_changed_offers_an_empty_checkpoint(world, pilot_at):
    async with pilot_at("project") as (pilot, screen):
        await _offer(pilot)
        assert "tests pass" in str(pilot.app.screen.query_one("#confirm-body").render())
        await pilot.press("y")
        await settle(pilot)
        assert pilot.app.screen is screen and len(screen.checkpoints) == 4
        cp = screen.checkpoints[0]
        assert cp.description == "tests pass" and cp.parent_id == world.checkpoints[2]
        assert screen.project.head_checkpoint_id == cp.id


async def test_cancelling_says_the_description_was_not_recorded(pilot_at):
    async with pilot_at("project") as (pilot, screen):
        await _offer(pilot)
        await pilot.press("n")
        await settle(pilot)
        assert len(screen.checkpoints) == 3
        assert any("'tests pass' not recorded" in n.message for n in pilot.app._notifications)
