"""Session 22 hardening (Pilot): keys typed faster than the app reads them (one read over SSH,
or a paste). The annotate dialog's "label<Enter>note<Enter>" arriving in one burst must fill
the label and the note, not put everything into the label."""

from __future__ import annotations

from textual import events

from vmuser_tui.tui.screens.annotate import AnnotateScreen

from .conftest import settle


def burst(app, text: str) -> None:
    """Post every key of ``text`` (\\r: Enter) at once, as a terminal read delivers them: no key
    waits for the one before it to be handled."""
    for ch in text:
        key = events.Key("enter", "\r") if ch == "\r" else events.Key(
            "space" if ch == " " else ch, ch)
        app.post_message(key)


async def test_label_enter_note_enter_in_one_burst(world, pilot_at):
    c3 = world.checkpoints[2]
    async with pilot_at("project") as (pilot, screen):
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(pilot.app.screen, AnnotateScreen)
        burst(pilot.app, "xyz\rnote one\r")
        await settle(pilot)
        assert pilot.app.screen is screen, pilot.app.screen.query_one("#annotate-label").value
        [note] = world.vm.checkpoints.get(c3).annotations
        assert (note["label"], note["note"]) == ("xyz", "note one")
