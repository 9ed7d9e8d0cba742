"""Stumbles 1 and 2 of issue #12: keys typed in one burst (as one read over SSH) land in
order, in the widget that has the focus once the keys before them have acted."""

from __future__ import annotations

from textual import events
from textual.widgets import Input

from vmuser_tui.tui.screens.new_project import NewProjectScreen

from .conftest import SIZE, make_app, run_app, settle

NAMES = {"/": "slash", "\t": "tab", " ": "space"}


def burst(app, text: str) -> None:
    """Post every key of ``text`` to the app at once, as the driver does for one read."""
    for ch in text:
        app.post_message(events.Key(NAMES.get(ch, ch), None if ch == "\t" else ch))


async def test_a_filter_typed_in_one_burst_lands_whole_in_the_box(make_vm):
    vm = make_vm()
    for name in ("alpha", "newcomer", "busy", "session"):
        vm.projects.create(name)
    app = make_app(vm)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for text in ("/newc", "/ss", "/newc", "/ss"):
            burst(app, text)
            await settle(pilot)
            box = app.screen.query_one("#filter", Input)
            assert box.value == text[1:]
            assert app.focused is box
            await pilot.press("escape")
            await settle(pilot)
            assert box.value == ""
        assert vm.sessions.list() == []
        assert len(app.screen_stack) == 1  # no n (new project) nor s acted on the table


async def test_a_slash_in_the_filter_is_typed_not_reopening_it(make_vm):
    vm = make_vm()
    vm.projects.create("alpha")
    app = make_app(vm)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        burst(app, "/a/b")
        await settle(pilot)
        assert app.screen.query_one("#filter", Input).value == "a/b"


async def test_files_find_typed_in_one_burst_lands_whole_in_the_box(world):
    from vmuser_tui.tui.screens.files import FilesScreen

    app = make_app(world.vm)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.push_screen(FilesScreen(world.demo, None))
        await settle(pilot)
        burst(app, "/src/a")  # the first / mounts the box (the find's widgets come on first use)
        await settle(pilot)
        assert app.screen.query_one("#find", Input).value == "src/a"
        await pilot.press("escape")
        await settle(pilot)
        burst(app, "/notes")  # the box exists now, hidden
        await settle(pilot)
        assert app.screen.query_one("#find", Input).value == "notes"


async def _new_project_form(pilot) -> NewProjectScreen:
    """The New project dialog, opened with ``n`` from the projects screen."""
    await pilot.press("n")
    await settle(pilot)
    form = pilot.app.screen
    assert isinstance(form, NewProjectScreen)
    return form


async def test_new_project_fields_typed_in_one_burst_land_in_their_fields(make_vm):
    async with run_app(make_vm()) as pilot:
        app = pilot.app
        form = await _new_project_form(pilot)
        burst(app, "abc\t\tdesc")
        await settle(pilot)
        values = {key: form.query_one(f"#field-{key}", Input).value for key in ("name", "prefix", "description")}
        assert values == {"name": "abc", "prefix": "", "description": "desc"}
        assert app.focused is form.query_one("#field-description", Input)


async def test_a_longer_burst_fills_every_field_in_order(make_vm):
    async with run_app(make_vm()) as pilot:
        app = pilot.app
        form = await _new_project_form(pilot)
        burst(app, "web app\tweb\ta site\tx y\t\t")
        await settle(pilot)
        values = {key: form.query_one(f"#field-{key}", Input).value
                  for key in ("name", "prefix", "description", "tags", "import_dir", "workspace")}
        assert values == {"name": "web app", "prefix": "web", "description": "a site", "tags": "x y",
                          "import_dir": "", "workspace": ""}
        assert app.focused is form.query_one("#field-workspace", Input)
