"""Session 22 hardening (the TUI as a careless operator uses it, Pilot): after a search that
finds nothing hides the timeline, the keys must still act on the timeline once it shows again,
not on the sessions table Textual moved the focus to while the timeline was hidden."""

from __future__ import annotations

from textual.widgets import Input

from vmuser_tui.tui.screens.prompt import PromptScreen
from vmuser_tui.tui.widgets.lazytable import LazyTable

from .conftest import settle


async def search(pilot, words: str) -> None:
    await pilot.press("slash")
    await settle(pilot)
    assert isinstance(pilot.app.screen, PromptScreen)
    pilot.app.screen.query_one(Input).value = words
    await pilot.press("enter")
    await settle(pilot)


async def test_timeline_gets_the_focus_back_after_an_empty_search(world, pilot_at):
    async with pilot_at("project") as (pilot, screen):
        table = screen.query_one("#checkpoints", LazyTable)
        assert pilot.app.focused is table
        await search(pilot, "nothingmatchesthis")
        assert screen.checkpoints == []
        await search(pilot, "")  # all again
        assert len(screen.checkpoints) == 3
        assert pilot.app.focused is table  # j/k, D, r, f act on the timeline again


async def test_first_checkpoint_of_an_empty_project_gets_the_focus(world, pilot_at):
    """A project with no checkpoint yet: ``c`` makes the first, and the keys act on it."""
    world.vm.projects.create("bare")
    async with pilot_at("projects") as (pilot, _screen):
        for key in ("enter",):
            await pilot.press(key)
        await settle(pilot)
        screen = pilot.app.screen
        table = screen.query_one("#checkpoints", LazyTable)
        assert screen.checkpoints == [] and not table.display
        await pilot.press("c")
        await settle(pilot)
        if isinstance(pilot.app.screen, PromptScreen):  # asks for a description
            await pilot.press("enter")
            await settle(pilot)
        assert len(screen.checkpoints) == 1
        assert pilot.app.focused is table


async def test_no_projects_back_from_the_log_n_still_makes_a_project(make_vm):
    """No project yet; L (the log) and back: the keys are the screen's again, not typed into
    the hidden filter box (n went into it: "/n: 0 of 0 projects" and no dialog)."""
    from textual.widgets import Input

    from vmuser_tui.tui.screens.new_project import NewProjectScreen

    from .conftest import run_app

    vm = make_vm()
    async with run_app(vm) as pilot:
        for keys in (("L",), ("escape",)):
            await pilot.press(*keys)
            await settle(pilot)
        assert not isinstance(pilot.app.focused, Input), pilot.app.focused
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(pilot.app.screen, NewProjectScreen)
