"""Issue 13's edits in the TUI, driven with Pilot on the deterministic world: ``d`` removes
checkpoints from the timeline after a dialog naming them (the head only with its own
button), the annotate dialog takes tags and removes a label (ctrl+r), and ``E`` edits a
project from the projects and the project screen, with core's errors inline."""

from __future__ import annotations

from textual.widgets import Input

from vmuser_tui.core.service import Vmuser
from vmuser_tui.tui.screens.annotate import AnnotateScreen
from vmuser_tui.tui.screens.confirm import ConfirmScreen
from vmuser_tui.tui.screens.edit_project import EditProjectScreen
from vmuser_tui.tui.screens.project import ProjectScreen
from vmuser_tui.tui.widgets.timeline import HEAD, Event, event_text

from .conftest import messages, row_keys, settle


def body_of(dialog: ConfirmScreen) -> str:
    return str(dialog.query_one("#confirm-body").render())


async def test_d_removes_the_selected_checkpoint_after_a_dialog_naming_it(world, pilot_at):
    c1, c2, c3 = world.checkpoints
    async with pilot_at("project", notifications=True) as (pilot, screen):
        assert row_keys(screen.timeline) == [c3, c2, c1]
        await pilot.press("down", "d")  # c2, the middle one
        await settle(pilot)
        dialog = pilot.app.screen
        assert isinstance(dialog, ConfirmScreen)
        assert dialog.title_text == f"Remove checkpoint {c2}?"
        body = body_of(dialog)
        assert c2 in body and f"{c3} re-parents to {c1}" in body and "gc" in body
        assert "is the head" not in body
        await pilot.press("n")  # cancel: nothing goes
        await settle(pilot)
        assert pilot.app.screen is screen and row_keys(screen.timeline) == [c3, c2, c1]
        await pilot.press("d")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert pilot.app.screen is screen
        assert row_keys(screen.timeline) == [c3, c1]  # visible in the timeline
        assert world.vm.checkpoints.get(c3).parent_id == c1
        assert any(f"removed {c2}" in m for m in messages(pilot.app))


async def test_d_on_the_head_says_so_and_its_button_forces(world, pilot_at):
    c1, c2, c3 = world.checkpoints
    async with pilot_at("project") as (pilot, screen):
        await pilot.press("d")  # the cursor starts on the newest: the head
        await settle(pilot)
        dialog = pilot.app.screen
        assert isinstance(dialog, ConfirmScreen)
        body = body_of(dialog)
        assert f"{c3} is the head" in body and f"The head moves to {c2}" in body and HEAD in body
        assert dialog.confirm_label == "Remove, head too"
        await pilot.press("y")
        await settle(pilot)
        assert row_keys(screen.timeline) == [c2, c1]
        assert world.vm.projects.get(world.demo).head_checkpoint_id == c2
        assert screen.timeline.head == c2  # the ● moved


async def test_d_with_a_marked_checkpoint_removes_both(world, pilot_at):
    c1, c2, c3 = world.checkpoints
    async with pilot_at("project") as (pilot, screen):
        await pilot.press("down", "space", "down", "d")  # mark c2, cursor on c1
        await settle(pilot)
        dialog = pilot.app.screen
        assert isinstance(dialog, ConfirmScreen) and dialog.title_text == "Remove 2 checkpoints?"
        assert c1 in body_of(dialog) and c2 in body_of(dialog)
        await pilot.press("y")
        await settle(pilot)
        assert row_keys(screen.timeline) == [c3]
        assert world.vm.checkpoints.get(c3).parent_id is None


async def test_d_is_refused_in_read_only_mode(world, pilot_at):
    async with pilot_at("project", read_only=True, notifications=True) as (pilot, screen):
        await pilot.press("d")
        await settle(pilot)
        assert pilot.app.screen is screen
        assert any("read-only mode" in m for m in messages(pilot.app))
        assert len(world.vm.checkpoints.list(world.demo)) == 3


async def test_d_is_refused_while_another_client_holds_the_session(world, pilot_at, data_dir, config_path):
    other = Vmuser.open(data_dir=str(data_dir), config_path=config_path, reconcile=False)
    try:
        other.access.leases.holder = "4242-0badc0de"
        _, got = other.open_session(world.session, mode="rw")
        assert got.ok
        with other.db.write() as conn:  # another host's client: its lease holds until it expires
            conn.execute("UPDATE leases SET actor = 'alice@devbox', pid = 4242, host = 'devbox' WHERE holder = ?",
                         ("4242-0badc0de",))
        async with pilot_at("project", notifications=True) as (pilot, screen):
            assert screen.standing_refusal("remove") is not None  # the key is hidden and refused
            before = len(messages(pilot.app))
            await pilot.press("d")
            await settle(pilot)
            assert pilot.app.screen is screen
            assert len(messages(pilot.app)) == before + 1
            assert "is held read-writ" in messages(pilot.app)[-1]
        assert len(world.vm.checkpoints.list(world.demo)) == 3
    finally:
        other.close()


async def test_annotate_with_tags_then_remove_the_label(world, pilot_at):
    _c1, c2, _c3 = world.checkpoints
    async with pilot_at("project") as (pilot, screen):
        await pilot.press("down", "a")
        await settle(pilot)
        dialog = pilot.app.screen
        assert isinstance(dialog, AnnotateScreen)
        await pilot.press(*"tests pass", "enter", *"212 green", "tab", *"ci green", "enter")
        await settle(pilot)
        assert pilot.app.screen is screen
        [note] = world.vm.checkpoints.get(c2).annotations
        assert (note["label"], note["note"], note["tags"]) == ("tests pass", "212 green", ["ci", "green"])
        assert [c.id for c in world.vm.checkpoints.list(world.demo, annotation_tag="ci")] == [c2]
        await pilot.press("a")
        await settle(pilot)
        dialog = pilot.app.screen
        assert "[ci,green]" in str(dialog.query_one("#annotate-existing").render())
        await pilot.press(*"nope", "ctrl+r")  # no such label: said in the dialog
        await settle(pilot)
        assert pilot.app.screen is dialog
        assert "no annotation is labelled 'nope'" in str(dialog.query_one("#annotate-error").render())
        dialog.query_one("#annotate-label", Input).value = "tests pass"
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert pilot.app.screen is screen
        assert world.vm.checkpoints.get(c2).annotations == []
        assert "✎" not in str(screen.timeline.get_cell(c2, "description"))


async def test_E_on_the_projects_screen_edits_the_project(world, pilot_at):
    async with pilot_at("projects") as (pilot, screen):
        await pilot.press("E")
        await settle(pilot)
        form = pilot.app.screen
        assert isinstance(form, EditProjectScreen) and form.project.id == world.demo
        assert form.query_one("#field-name", Input).value == "demo"
        form.query_one("#field-tags", Input).value = "demo " + "x" * 65  # a tag has 1-64 characters
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert pilot.app.screen is form  # core's error, inline under the field
        assert "invalid tag" in str(form.query_one("#error-tags").render())
        assert form.query_one("#field-tags", Input).has_class("-invalid")
        form.query_one("#field-tags", Input).value = "demo shop"
        form.query_one("#field-name", Input).value = "Demo shop"
        form.query_one("#field-image", Input).value = "vmuser-busybox:local"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert pilot.app.screen is screen
        project = world.vm.projects.get(world.demo)
        assert (project.name, project.tags, project.image) == ("Demo shop", ["demo", "shop"], "vmuser-busybox:local")
        assert any(p.name == "Demo shop" for p in screen.projects)  # the table shows the new name
        [entry] = world.vm.log(project=world.demo, operation="project.update")
        assert set(entry["details"]["changed"]) == {"name", "tags", "image"}


async def test_E_on_the_project_screen_and_an_empty_name_refused_inline(world, pilot_at):
    async with pilot_at("project") as (pilot, screen):
        assert isinstance(screen, ProjectScreen)
        await pilot.press("E")
        await settle(pilot)
        form = pilot.app.screen
        assert isinstance(form, EditProjectScreen)
        form.query_one("#field-name", Input).value = "  "
        await pilot.press("enter")
        await settle(pilot)
        assert pilot.app.screen is form
        assert "1-200 printable characters" in str(form.query_one("#error-name").render())
        form.query_one("#field-name", Input).value = "renamed"
        form.query_one("#field-description", Input).value = ""
        await pilot.press("enter")
        await settle(pilot)
        assert pilot.app.screen is screen
        assert screen.project is not None and screen.project.name == "renamed"
        assert screen.project.description == ""
        assert "renamed" in screen.sub_title


async def test_E_with_nothing_edited_closes_and_changes_nothing(world, pilot_at):
    async with pilot_at("project", notifications=True) as (pilot, screen):
        await pilot.press("E")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert pilot.app.screen is screen
        assert any("nothing changed" in m for m in messages(pilot.app))
        assert world.vm.log(project=world.demo, operation="project.update") == []


async def test_the_edit_form_keeps_a_value_when_tab_reaches_it(world, pilot_at):
    """The fields open with the project's values and the cursor at their end: Tab then
    typing adds to a value (no select-all on focus to replace it by the first key)."""
    async with pilot_at("projects") as (pilot, screen):
        await pilot.press("E")
        await settle(pilot)
        form = pilot.app.screen
        await pilot.press("tab", *" v2", "tab", "tab", *" shop", "enter")
        await settle(pilot)
        assert pilot.app.screen is screen
        project = world.vm.projects.get(world.demo)
        assert project.description == "Sample project with three checkpoints v2"
        assert project.tags == ["demo", "shop"]
        assert form.project.name == project.name == "demo"


async def test_annotate_enter_moves_on_from_a_typed_label_and_tab_reaches_the_tags(world, pilot_at):
    _c1, c2, _c3 = world.checkpoints
    async with pilot_at("project") as (pilot, screen):
        await pilot.press("down", "a")
        await settle(pilot)
        await pilot.press(*"lbl")
        await settle(pilot)
        await pilot.press("enter", *"a note", "tab", *"t1,t2", "enter")
        await settle(pilot)
        assert pilot.app.screen is screen
        [note] = world.vm.checkpoints.get(c2).annotations
        assert (note["label"], note["note"], note["tags"]) == ("lbl", "a note", ["t1", "t2"])


async def test_the_removal_shows_as_an_event_on_the_timeline(world, pilot_at):
    _c1, c2, _c3 = world.checkpoints
    world.vm.checkpoints.annotate(c2, "gone soon")
    world.vm.checkpoints.remove_annotation(c2, "gone soon")
    world.vm.checkpoints.remove([c2])
    async with pilot_at("project") as (pilot, screen):
        await pilot.press("v")  # the events between the checkpoints
        await settle(pilot)
        texts = [event_text(r).plain for r in screen.rows if isinstance(r, Event)]
        assert any(t.startswith(f"removed {c2} ·") for t in texts), texts
        assert any(t.startswith(f"removed the annotation ✎gone soon of {c2}") for t in texts), texts
