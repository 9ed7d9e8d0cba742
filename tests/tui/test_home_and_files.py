"""The projects (home) and files screens by keys (issue #4): sort, countdown, marks and bulk
actions; the checkpoint picker, find, and the live-workspace changes (new, rename,
delete, edit) through the VFS; read-only refusal and keymap overrides of the new keys."""

from __future__ import annotations

import subprocess
from contextlib import contextmanager

import pytest
from textual.widgets import Input, Tree

from vmuser_tui.tui.screens.confirm import ConfirmScreen
from vmuser_tui.tui.screens.files import CheckpointPicker, FilesScreen, PathPrompt
from vmuser_tui.tui.screens.projects import ProjectsScreen
from vmuser_tui.tui.widgets.cells import human_size
from vmuser_tui.tui.widgets.lazytable import LazyTable
from vmuser_tui.tui.widgets.taskbar import TaskBar

from .conftest import SIZE, go, messages, row_keys, run_app, settle


def headers(table: LazyTable) -> dict[str, str]:
    return {c.key: str(c.label) for c in table.columns}


def cell(table: LazyTable, key: str, column: str) -> str:
    return str(table.get_cell(key, column))


def enable_cleanup(world, after_days: int = 8, warning_days: int = 7) -> None:
    world.vm.config.values["cleanup"].update(enabled=True, after_days=after_days, warning_days=warning_days)


# -- projects ---------------------------------------------------------------------------------
async def test_o_cycles_the_sort_column_and_shift_o_reverses_it(world, pilot_at):
    async with pilot_at("projects", size=(120, 30)) as (pilot, screen):
        table = screen.query_one("#projects", LazyTable)
        assert headers(table)["active"] == "Active ▼"  # most recently active first
        assert row_keys(table) == [world.demo, world.web, world.scratch]
        await pilot.press("o")  # the next column to the right: pinned first (no cleanup column: it is off)
        assert headers(table)["pinned"] == "Pin ▼" and headers(table)["active"] == "Active"
        assert row_keys(table)[0] == world.web
        await pilot.press("o", "o")  # tags, then size: the biggest first, projects without a checkpoint last
        assert screen.sort == "size" and headers(table)["size"] == "Size ▼" and row_keys(table)[0] == world.demo
        size = world.vm.checkpoints.get(world.checkpoints[2]).total_size
        assert cell(table, world.demo, "size").strip() == human_size(size)
        assert cell(table, world.web, "size").strip() == "-"
        await pilot.press("o")  # id
        assert row_keys(table) == sorted([world.demo, world.web, world.scratch])
        await pilot.press("o")  # round to the first column: name, A to Z
        assert headers(table)["name"] == "Name ▲" and headers(table)["id"] == "Id"
        assert row_keys(table) == [world.demo, world.scratch, world.web]
        await pilot.press("O")
        assert headers(table)["name"] == "Name ▼"
        assert row_keys(table) == [world.web, world.scratch, world.demo]
        await pilot.press("o")  # status: running first
        assert headers(table)["status"] == "Status ▼" and row_keys(table)[0] == world.demo
        # the cursor stays on its project through a sort
        await pilot.press("down")
        selected = screen.selected().id
        await pilot.press("O")
        assert screen.selected().id == selected


async def test_cleanup_countdown_column_when_cleanup_is_on(world, pilot_at):
    async with pilot_at("projects", size=(120, 30)) as (_pilot, screen):
        table = screen.query_one("#projects", LazyTable)
        assert "cleanup" not in headers(table)  # off by default: no countdown to show
    enable_cleanup(world)  # scratch was last active 5 days ago: deleted 8 days after that
    async with pilot_at("projects", size=(120, 30)) as (pilot, screen):
        table = screen.query_one("#projects", LazyTable)
        assert headers(table)["cleanup"] == "Cleanup"
        assert cell(table, world.scratch, "cleanup") == "deletes in 2d"  # 2d20h left: never rounded up
        assert cell(table, world.web, "cleanup") == "pinned"
        assert cell(table, world.demo, "cleanup") == "in 7d"  # not yet within warning_days
        await pilot.press("end")
        detail = str(screen.query_one("#project-detail").render())
        assert "deletes in 2d (11-24 08:00; e extends)" in detail
        await pilot.press("o")  # the next column after "active"
        assert screen.sort == "cleanup" and row_keys(table) == [world.scratch, world.demo, world.web]
    # at 80 columns the pin and id columns give way (the cleanup column says "pinned")
    async with pilot_at("projects") as (pilot, screen):
        table = screen.query_one("#projects", LazyTable)
        assert "cleanup" in headers(table) and "id" not in headers(table)
        assert table.total_width <= SIZE[0]


async def test_space_marks_and_bulk_pin_unpin_extend_go_through_one_confirm(world, pilot_at, monkeypatch):
    async with pilot_at("projects") as (pilot, screen):
        app = pilot.app
        table = screen.query_one("#projects", LazyTable)
        await pilot.press("space")  # demo, and the cursor moves down
        assert screen.marked == {world.demo} and table.cursor_row == 1
        await pilot.press("down", "space")  # scratch
        assert screen.marked == {world.demo, world.scratch}
        assert headers(table)["mark"] == "" and cell(table, world.demo, "mark") == "✓"
        assert "2 marked" in str(screen.query_one("StatusLine").render())
        await pilot.press("p")
        await settle(pilot)
        confirm = app.screen
        assert isinstance(confirm, ConfirmScreen) and confirm.title_text == "Pin 2 projects?"
        body = str(confirm.query_one("#confirm-body").render())
        assert "demo (demo-00000003)" in body and "scratch (scratch-00000001)" in body and "web-app" not in body
        await pilot.press("y")
        await settle(pilot)
        assert world.vm.projects.get(world.demo).pinned and world.vm.projects.get(world.scratch).pinned
        assert screen.marked == set() and "mark" not in headers(table)  # done: the marks go
        assert any(m == "2 projects pinned (never cleaned up)" for m in messages(app))
        # unpin the two again, marked anew; escape on the confirmation changes nothing
        await pilot.press("home", "space", "down", "space")
        await pilot.press("P")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert world.vm.projects.get(world.demo).pinned
        await pilot.press("P")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert not world.vm.projects.get(world.demo).pinned and not world.vm.projects.get(world.scratch).pinned
        assert world.vm.projects.get(world.web).pinned  # not marked: untouched
        # extend: the idle clock of each marked project restarts
        monkeypatch.setenv("VMUSER_FROZEN_TIME", "2026-11-22T12:00:00Z")
        await pilot.press("home", "space", "end", "space", "e")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen) and app.screen.title_text == "Extend 2 projects?"
        await pilot.press("y")
        await settle(pilot)
        for pid in (world.demo, world.scratch):
            assert world.vm.projects.get(pid).last_active_at.startswith("2026-11-22T12:00")
        # escape clears the marks (once the filter is gone)
        await pilot.press("space")
        assert screen.marked
        await pilot.press("escape")
        assert not screen.marked


async def test_marks_survive_the_filter_and_the_confirm_lists_hidden_ones(world, pilot_at):
    async with pilot_at("projects") as (pilot, screen):
        app = pilot.app
        table = screen.query_one("#projects", LazyTable)
        await pilot.press("space")  # demo
        await pilot.press("slash", *"tmp", "enter")  # only scratch shows
        assert row_keys(table) == [world.scratch]
        await pilot.press("space", "d")
        await settle(pilot)
        confirm = app.screen
        assert isinstance(confirm, ConfirmScreen) and confirm.title_text == "Delete 2 projects?"
        body = str(confirm.query_one("#confirm-body").render())
        assert "demo (demo-00000003)" in body and "scratch (scratch-00000001)" in body
        await pilot.press("n")


async def test_bulk_delete_names_what_is_lost_and_shows_progress(world, pilot_at, monkeypatch):
    progress: list[tuple] = []
    real = TaskBar.progress

    def spy(self, done, total, label=None):
        progress.append((done, total, label))
        real(self, done, total, label)

    monkeypatch.setattr(TaskBar, "progress", spy)
    workspaces = [world.vm.projects.get(p).workspace for p in (world.demo, world.scratch)]
    async with pilot_at("projects") as (pilot, screen):
        app = pilot.app
        table = screen.query_one("#projects", LazyTable)
        await pilot.press("space", "down", "down", "space", "d")
        await settle(pilot)
        confirm = app.screen
        assert isinstance(confirm, ConfirmScreen) and confirm.danger
        body = str(confirm.query_one("#confirm-body").render())
        assert "cannot be undone" in body
        assert "2 workspaces managed by vmuser" in body and "3 checkpoints" in body
        for ws in workspaces:
            assert ws in body
        await pilot.press("y")
        await settle(pilot)
        assert row_keys(table) == [world.web]
        assert progress[-1] == (2, 2, "delete: 2/2 projects")
        assert any(m == "2 projects deleted" for m in messages(app))
    assert [p.id for p in world.vm.projects.list()] == [world.web]


async def test_bulk_stop_stops_running_sessions_after_a_confirm(world, pilot_at):
    async with pilot_at("projects") as (pilot, _screen):
        app = pilot.app
        await pilot.press("down", "S")  # web-app: nothing runs there
        await settle(pilot)
        assert any("no running session in web-app" in m for m in messages(app))
        await pilot.press("up", "S")  # demo: its workspace-only session
        await settle(pilot)
        confirm = app.screen
        assert isinstance(confirm, ConfirmScreen) and confirm.title_text == "Stop 1 session in 1 project?"
        assert world.session in str(confirm.query_one("#confirm-body").render())
        await pilot.press("y")
        await settle(pilot)
        assert world.vm.sessions.get(world.session).status == "stopped"
        assert any(m == "demo: sessions stopped" for m in messages(app))


async def test_read_only_hides_and_refuses_the_changing_keys(world, pilot_at):
    async with pilot_at("projects", read_only=True) as (pilot, screen):
        app = pilot.app
        for action in ("mark", "pin", "unpin", "extend", "stop", "delete", "new"):
            assert not screen.check_action(action, ())
        assert screen.check_action("sort", ())
        before = [(p.id, p.pinned, p.last_active_at) for p in world.vm.projects.list()]
        for key in ("space", "p", "P", "e", "S", "d", "n"):
            await pilot.press(key)
            await settle(pilot)
            assert isinstance(app.screen, ProjectsScreen), key
        assert not screen.marked
        assert sum("read-only" in m for m in messages(app)) == 7
        await pilot.press("o")  # sorting changes nothing: allowed
        assert screen.sort == "pinned"
    assert [(p.id, p.pinned, p.last_active_at) for p in world.vm.projects.list()] == before


async def test_keymap_override_of_the_new_keys(world, pilot_at):
    world.vm.config.keymap = {"projects.sort": "z", "projects.mark": "x", "files.find": "F", "files.pick": "ctrl+o"}
    async with pilot_at("projects") as (pilot, screen):
        app = pilot.app
        await pilot.press("o")  # no longer sorts
        assert screen.sort == "active"
        await pilot.press("z")
        assert screen.sort == "pinned"
        await pilot.press("space")  # no longer marks
        assert not screen.marked
        await pilot.press("x")
        assert screen.marked
        await pilot.press("escape", "home")
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("f")
        await settle(pilot)
        files = app.screen
        assert isinstance(files, FilesScreen)
        await pilot.press("slash")
        assert not files.finding()
        await pilot.press("F")
        await settle(pilot)
        assert files.finding()
        await pilot.press("escape", "c")
        await settle(pilot)
        assert app.screen is files
        await pilot.press("ctrl+o")
        await settle(pilot)
        assert isinstance(app.screen, CheckpointPicker)


# -- files ------------------------------------------------------------------------------------
async def open_files(pilot, *, live: bool = False) -> FilesScreen:
    """From the projects screen: the demo's newest checkpoint on the files screen (``live``: its
    live workspace). Kept for the tests that open it this way; pilot_at("files") is the same."""
    return await go(pilot, "workspace" if live else "files")


def tree_labels(files: FilesScreen) -> list[str]:
    return [str(n.label) for n in files.query_one("#tree", Tree).root.children]


def cursor_path(files: FilesScreen) -> str | None:
    node = files.query_one("#tree", Tree).cursor_node
    return node.data.info.path if node is not None and node.data and node.data.info else None


async def test_the_picker_switches_between_the_live_workspace_and_any_checkpoint(world, pilot_at):
    (world.workspace / "live-only.txt").write_text("live\n")
    async with pilot_at("files") as (pilot, files):
        app = pilot.app
        assert files.at == world.checkpoints[2]
        await pilot.press("c")
        await settle(pilot)
        picker = app.screen
        assert isinstance(picker, CheckpointPicker)
        table = picker.query_one("#pick-table", LazyTable)
        assert row_keys(table) == ["", *reversed(world.checkpoints)]  # the live workspace, then newest first
        assert table.cursor_row == 1  # on what is shown now
        assert cell(table, world.checkpoints[2], "mark") == "●"
        await pilot.press("end", "enter")  # the oldest
        await settle(pilot)
        assert files.at == world.checkpoints[0]
        assert tree_labels(files) == ["docs/", "src/", "README.md", "data.bin"]
        assert "Import sample code" in str(files.query_one("#files-where").render())
        await pilot.press("c")
        await settle(pilot)
        await pilot.press("home", "enter")
        await settle(pilot)
        assert files.at is None and "live-only.txt" in tree_labels(files)
        await pilot.press("c")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is files and files.at is None
        await pilot.press("w")  # back to the checkpoint last browsed
        await settle(pilot)
        assert files.at == world.checkpoints[0]


async def test_new_file_and_folder_rename_and_delete_on_the_live_workspace(world, pilot_at):
    async with pilot_at("workspace") as (pilot, files):
        app = pilot.app
        await pilot.press("n")
        await settle(pilot)
        prompt = app.screen
        assert isinstance(prompt, PathPrompt) and prompt.title_text == "New file in /"
        error = prompt.query_one("#prompt-error")
        await pilot.press(*"../x")
        assert "'..'" in str(error.render())  # said as it is typed
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is prompt
        prompt.query_one(Input).value = "README.md"
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is prompt and "README.md already exists" in str(error.render())
        prompt.query_one(Input).value = "notes/todo.txt"  # a missing folder is made
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is files
        assert (world.workspace / "notes" / "todo.txt").read_bytes() == b""
        assert cursor_path(files) == "notes/todo.txt"  # the tree shows it, under the cursor
        # a new folder goes in the selected file's folder
        await pilot.press("N")
        await settle(pilot)
        assert app.screen.title_text == "New folder in notes/"
        assert app.screen.query_one(Input).value == "notes/"
        await pilot.press(*"old", "enter")
        await settle(pilot)
        assert (world.workspace / "notes" / "old").is_dir() and cursor_path(files) == "notes/old"
        # rename (or move) the file
        files.reveal("notes/todo.txt")
        await settle(pilot)
        await pilot.press("R")
        await settle(pilot)
        box = app.screen.query_one(Input)
        assert box.value == "notes/todo.txt"
        box.value = "notes/old/done.txt"
        await pilot.press("enter")
        await settle(pilot)
        assert not (world.workspace / "notes" / "todo.txt").exists()
        assert (world.workspace / "notes" / "old" / "done.txt").exists()
        assert cursor_path(files) == "notes/old/done.txt"
        # delete the folder: the confirmation names it and counts what is in it
        files.reveal("notes")
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        confirm = app.screen
        assert isinstance(confirm, ConfirmScreen) and confirm.title_text == "Delete notes/?"
        body = str(confirm.query_one("#confirm-body").render())
        assert "notes/ and the 2 entries in it (1 file, 1 folder, 0 B)" in body
        assert "gone for good" in body  # no checkpoint has it
        await pilot.press("n")
        await settle(pilot)
        assert (world.workspace / "notes").is_dir()
        await pilot.press("d")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert not (world.workspace / "notes").exists()
        assert "notes/" not in tree_labels(files)
        # a file the newest checkpoint holds: the confirmation says a restore brings it back
        files.reveal("README.md")
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        body = str(app.screen.query_one("#confirm-body").render())
        assert "README.md" in body and f"newest checkpoint {world.checkpoints[2]} holds it" in body
        await pilot.press("n")
    ops = [e["operation"] for e in world.vm.log(project=world.demo, limit=20)]
    assert {"fs.write", "fs.mkdir", "fs.mv", "fs.rm"} <= set(ops)  # every change through the VFS, logged


async def test_live_workspace_actions_are_refused_on_a_checkpoint(world, pilot_at):
    async with pilot_at("files") as (pilot, files):
        app = pilot.app
        for action in ("new_file", "new_folder", "rename", "delete", "edit"):
            assert not files.check_action(action, ())
        for key in ("n", "N", "R", "d", "e"):
            await pilot.press(key)
            await settle(pilot)
            assert app.screen is files, key
        assert sum("a checkpoint never changes" in m for m in messages(app)) == 5


async def test_read_only_refuses_the_file_changes(world, pilot_at):
    async with pilot_at("workspace", read_only=True) as (pilot, files):
        app = pilot.app
        await pilot.press("down")  # build/
        for action in ("new_file", "new_folder", "rename", "delete", "edit"):
            assert not files.check_action(action, ())
        for key in ("n", "N", "R", "d", "e"):
            await pilot.press(key)
            await settle(pilot)
            assert app.screen is files, key
        assert sum("read-only" in m for m in messages(app)) == 5
    assert (world.workspace / "build").is_dir()


async def test_edit_runs_the_editor_suspended_and_saves_through_the_vfs(world, monkeypatch):
    calls: list[list[str]] = []

    def fake_run(argv, check=False):
        calls.append(argv)
        with open(argv[-1], "ab") as fh:
            fh.write(b"# edited\n")
        return subprocess.CompletedProcess(argv, 0)

    @contextmanager
    def fake_suspend():
        calls.append(["suspend"])
        yield

    monkeypatch.setenv("EDITOR", "true --wait")
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setattr(subprocess, "run", fake_run)
    async with run_app(world.vm) as pilot:
        app = pilot.app
        monkeypatch.setattr(app, "suspend", fake_suspend)
        files = await go(pilot, "workspace", world)
        files.reveal("NOTES.md")
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
        assert calls[0] == ["suspend"] and calls[1][:2] == ["true", "--wait"]
        assert calls[1][2].endswith("/NOTES.md") and not calls[1][2].startswith(str(world.workspace))  # a copy
        assert (world.workspace / "NOTES.md").read_bytes().endswith(b"- then undo it with u\n# edited\n")
        assert any(m.startswith("saved NOTES.md") for m in messages(app)), messages(app)
        assert world.vm.log(project=world.demo, limit=1)[0]["operation"] == "fs.write"
        # changed on disk while it was edited: not overwritten, the edited copy kept
        def racing_run(argv, check=False):
            (world.workspace / "NOTES.md").write_text("someone else\n")
            return fake_run(argv, check)

        monkeypatch.setattr(subprocess, "run", racing_run)
        await pilot.press("e")
        await settle(pilot)
        assert (world.workspace / "NOTES.md").read_text() == "someone else\n"
        assert any("changed while you edited it; not overwritten" in m for m in messages(app))
        # no such editor: a clear message, nothing run
        monkeypatch.setenv("EDITOR", "no-such-editor-vmuser")
        count = len(calls)
        await pilot.press("e")
        await settle(pilot)
        assert len(calls) == count
        assert any("editor 'no-such-editor-vmuser' not found: set $EDITOR" in m for m in messages(app))


async def test_y_copies_the_path_with_osc52(world, pilot_at):
    async with pilot_at("files") as (pilot, files):
        app = pilot.app
        files.reveal("src/app.py")
        await settle(pilot)
        await pilot.press("y")
        assert app.clipboard == "src/app.py"
        assert "copied src/app.py (OSC 52)" in messages(app)


async def test_find_by_name_as_you_type_and_jump_to_the_result(world, pilot_at):
    async with pilot_at("files") as (pilot, files):
        app = pilot.app
        await pilot.press("slash")
        await settle(pilot)
        assert files.finding() and files.query_one("#find", Input).has_focus
        await pilot.press(*"help")
        await settle(pilot)
        found = files.query_one("#found", LazyTable)
        assert found.display and row_keys(found) == ["src/helpers.py"]
        assert "src/helpers.py" in str(files.query_one("#meta").render())  # previewed at once
        await pilot.press("backspace", "backspace", "backspace", "backspace", *".md")
        await settle(pilot)
        assert row_keys(found) == ["NOTES.md", "README.md"]
        await pilot.press("backspace", "backspace", "backspace", *"src/")  # a / matches paths
        await settle(pilot)
        assert row_keys(found) == ["src/app.py", "src/helpers.py"]
        await pilot.press("enter")  # to the results
        assert found.has_focus
        await pilot.press("down")
        await pilot.press("y")
        assert app.clipboard == "src/helpers.py"  # the actions work on the result under the cursor
        await pilot.press("enter")  # go to it in the tree
        await settle(pilot)
        assert not files.finding() and files.query_one("#tree", Tree).has_focus
        assert cursor_path(files) == "src/helpers.py"
        await pilot.press("slash", *"nothing-like-it")
        await settle(pilot)
        assert row_keys(found) == []
        assert "nothing matches" in str(files.query_one("StatusLine").render())
        await pilot.press("escape")  # closes the find, not the screen
        assert app.screen is files and not files.finding()


@pytest.mark.parametrize("read_only", [False, True], ids=["read-write", "read-only"])
async def test_the_new_keys_are_in_the_palette_and_help_and_read_only_leaves_changes_out(world, pilot_at, read_only):
    from textual.widgets import DataTable

    from vmuser_tui.tui.commands import VmuserCommands
    from vmuser_tui.tui.screens.help import HelpScreen

    async with pilot_at("projects", read_only=read_only) as (pilot, screen):
        app = pilot.app
        helps = {ident: text for text, ident in
                 ((t, h.rsplit(" · ", 1)[-1]) for t, h, _c in VmuserCommands(screen)._commands())}
        assert helps["projects.sort"] == "Projects: Sort by the next column"
        assert "projects.sort_reverse" in helps
        for ident in ("projects.mark", "projects.pin", "projects.unpin", "projects.extend", "projects.stop",
                      "projects.delete"):
            assert (ident in helps) is not read_only, ident
        # running the palette's command runs the action
        command = next(cmd for text, _h, cmd in VmuserCommands(screen)._commands()
                       if text == "Projects: Sort by the next column")
        await command()
        assert screen.sort == "pinned"
        screen.sort, screen.sort_desc = "active", True  # back to the default order for go()
        screen.apply_filter()
        files = await go(pilot, "workspace", world)
        helps = {h.rsplit(" · ", 1)[-1] for _t, h, _c in VmuserCommands(files)._commands()}
        assert {"files.pick", "files.find", "files.copy", "files.workspace"} <= helps
        for ident in ("files.new_file", "files.new_folder", "files.rename", "files.delete", "files.edit"):
            assert (ident in helps) is not read_only, ident
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        table = app.screen.query_one("#help-table", DataTable)
        rows = {str(table.get_row_at(i)[2]): str(table.get_row_at(i)[1]) for i in range(table.row_count)}
        assert rows["files.pick"] == "Pick a checkpoint (or the live files)"
        assert ("(r" in rows["files.delete"]) is read_only  # "(read-only)", cut to fit 80 columns
