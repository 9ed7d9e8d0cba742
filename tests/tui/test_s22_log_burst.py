"""The operation log's ``/`` followed at once by the words (one read over SSH, or a paste):
every key after ``/`` lands in the filter box, in order. Before, ``/`` ran only after the
keys behind it had reached the table, so ``o`` of the words opened the operation menu."""

from __future__ import annotations

from textual import events
from textual.widgets import Input, Select

from .conftest import settle

NAMES = {" ": "space", "/": "slash"}  # the key names a terminal's parser gives these characters


def burst(app, text: str) -> None:
    """Post every key of ``text`` at once, as one terminal read delivers them."""
    for ch in text:
        app.post_message(events.Key(NAMES.get(ch, ch), ch))


async def test_slash_then_words_in_one_burst(world, pilot_at):
    async with pilot_at("log") as (pilot, log):
        box = log.query_one("#log-filter", Input)
        before = box.value
        burst(pilot.app, "/nothing")
        await settle(pilot)
        assert box.value == before + "nothing"
        assert not log.query_one("#log-op", Select).expanded
        burst(pilot.app, " a/b")  # in the box, "/" is text
        await settle(pilot)
        assert box.value == before + "nothing a/b"
