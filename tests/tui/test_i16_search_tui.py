"""Issue 16, "search over history", in the TUI (Pilot): the timeline's ``/`` searches the
project's checkpoints (description, tags, annotation notes) full-text, best match first,
the matched words highlighted in the rows; ``tag:NAME`` and ``#NAME`` still filter by tag;
a query with nothing to search for is one line and changes nothing. The operation log's
``/`` searches the log the same way, with its project and operation filters."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable, Input

from vmuser_tui.tui.screens.prompt import PromptScreen
from vmuser_tui.tui.widgets.highlight import MATCH_STYLE
from vmuser_tui.tui.widgets.lazytable import LazyTable
from vmuser_tui.tui.widgets.tables import Fit

from .conftest import messages, settle


def highlighted(cell) -> list[str]:
    """The words of a cell drawn in the match style."""
    text = cell.render(80) if isinstance(cell, Fit) else cell
    assert isinstance(text, Text)
    return [text.plain[s.start:s.end] for s in text.spans if str(s.style) == MATCH_STYLE]


async def search(pilot, words: str) -> None:
    await pilot.press("slash")
    await settle(pilot)
    assert isinstance(pilot.app.screen, PromptScreen)
    pilot.app.screen.query_one(Input).value = words
    await pilot.press("enter")
    await settle(pilot)


async def test_timeline_search_description_tag_note(world, pilot_at):
    c1, c2, c3 = world.checkpoints
    world.vm.checkpoints.annotate(c2, "tests pass", "green on the staging cluster", ["ci"])
    async with pilot_at("project") as (pilot, screen):
        table = screen.query_one("#checkpoints", LazyTable)
        title = screen.query_one("#timeline-title")
        await search(pilot, "sample")  # a word of c1's description
        assert [c.id for c in screen.checkpoints] == [c1]
        assert "search 'sample'" in str(title.render())
        assert highlighted(table.get_cell(c1, "description")) == ["sample"]
        await search(pilot, "staging")  # a word of c2's annotation note, which the row shows after ✎
        assert [c.id for c in screen.checkpoints] == [c2]
        cell = table.get_cell(c2, "description")
        assert "✎" in cell.plain and highlighted(cell) == ["staging"]
        assert "match in annotations" in screen.timeline.status_text()
        await search(pilot, "build")  # a tag (and the description "Build output")
        assert [c.id for c in screen.checkpoints] == [c3]
        await search(pilot, "ren*")  # a prefix: "rename"
        assert [c.id for c in screen.checkpoints] == [c2]
        # tags still filter: tag:NAME and #NAME, alone or with words
        await search(pilot, "tag:edit")
        assert [c.id for c in screen.checkpoints] == [c2] and screen.timeline.search is None
        assert "tag edit" in str(title.render())
        await search(pilot, "#import sample")
        assert [c.id for c in screen.checkpoints] == [c1] and screen.timeline.tag_filter == "import"
        await search(pilot, "#import output")
        assert screen.checkpoints == [] and "No checkpoint here matches 'output' tagged import" in str(
            screen.query_one("#timeline-empty").render())
        # nothing to search for: one line, the timeline as it was
        await search(pilot, '"*')
        assert screen.checkpoints == [] and any("nothing to search for" in m for m in messages(pilot.app))
        await search(pilot, "")  # all again
        assert len(screen.checkpoints) == 3 and screen.timeline.search is None and screen.timeline.tag_filter is None


async def test_timeline_search_follows_changes(world, pilot_at):
    c1, _c2, _c3 = world.checkpoints
    async with pilot_at("project") as (pilot, screen):
        await search(pilot, "deployed")
        assert screen.checkpoints == []
        world.vm.checkpoints.annotate(c1, "deployed", "to production")  # another client's change
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert [c.id for c in screen.checkpoints] == [c1]
        world.vm.checkpoints.remove([c1])  # removed: no longer found
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert screen.checkpoints == []


async def test_log_search(world, pilot_at):
    async with pilot_at("log") as (pilot, log):
        table = log.query_one("#log", DataTable)
        await pilot.press("slash", *"sampl")  # as you type: the word being typed is a prefix
        await settle(pilot)
        assert [e["operation"] for e in log.entries] == ["checkpoint.create"]
        assert log.entries[0]["details"]["checkpoint"] == world.checkpoints[0]
        assert highlighted(table.get_cell("0", "details")) == ["sample"]
        assert "best match first" in log.query_one("StatusLine").message
        await pilot.press(*"e code")  # "sample code": both words
        await settle(pilot)
        assert [e["details"]["checkpoint"] for e in log.entries] == [world.checkpoints[0]]
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("slash", *"checkpoint.create")  # an operation, as a phrase
        await settle(pilot)
        assert {e["operation"] for e in log.entries} == {"checkpoint.create"} and len(log.entries) == 3
        assert highlighted(table.get_cell("0", "op")) == ["checkpoint.create"]
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("slash", '"')  # nothing to search for yet: said in the status line, no toast
        await settle(pilot)
        assert log.entries == [] and "nothing to search for" in log.query_one("StatusLine").message
        assert not messages(pilot.app)
