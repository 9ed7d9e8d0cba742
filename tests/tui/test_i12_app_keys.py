"""Stumble 8 (issue 12): one key for the operation log on every screen that opens it,
``l`` stays the project's container logs, and a ``[keymap]`` entry still remaps it."""

from __future__ import annotations

from textual.binding import Binding

from vmuser_tui.tui.scopes import scopes
from vmuser_tui.tui.screens.log import LogScreen
from vmuser_tui.tui.screens.project import ProjectScreen

from .conftest import SIZE, make_app, settle

LOG_KEY = "L"


def test_the_operation_log_has_one_key_and_one_name_on_every_screen():
    found = {}
    for scope in scopes():
        for cls in scope.classes:
            for binding in Binding.make_bindings(cls.__dict__.get("BINDINGS", [])):
                if binding.action == "log":
                    found[binding.id] = (binding.key, binding.description)
    assert found == {"projects.log": (LOG_KEY, "Operation log"), "project.log": (LOG_KEY, "Operation log")}


async def test_the_same_key_opens_the_log_from_projects_and_from_a_project(world):
    app = make_app(world.vm)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press(LOG_KEY)
        await settle(pilot)
        assert isinstance(app.screen, LogScreen) and app.screen.project_id is None
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        project = app.screen
        assert isinstance(project, ProjectScreen)
        await pilot.press(LOG_KEY)
        await settle(pilot)
        assert isinstance(app.screen, LogScreen) and app.screen.project_id == project.project_id
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("l")  # still the container logs here (none in this world: said in a dialog)
        await settle(pilot)
        assert not isinstance(app.screen, LogScreen)


async def test_one_keymap_line_per_screen_remaps_it(world):
    world.vm.config.keymap = {"projects.log": "g"}
    app = make_app(world.vm)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("g")
        await settle(pilot)
        assert isinstance(app.screen, LogScreen)

