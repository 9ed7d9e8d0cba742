"""Behaviour of the TUI driven by keys (Textual Pilot) on a real database and real files."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Input

from vmuser_tui.tui.screens.confirm import ConfirmScreen
from vmuser_tui.tui.screens.diff import DiffScreen
from vmuser_tui.tui.screens.exec_output import ExecOutputScreen
from vmuser_tui.tui.screens.files import FilesScreen
from vmuser_tui.tui.screens.help import HelpScreen
from vmuser_tui.tui.screens.new_project import NewProjectScreen
from vmuser_tui.tui.screens.project import ProjectScreen
from vmuser_tui.tui.screens.projects import ProjectsScreen
from vmuser_tui.tui.screens.prompt import PromptScreen
from vmuser_tui.tui.screens.restore_confirm import RestoreConfirmScreen
from vmuser_tui.tui.widgets.lazytable import LazyTable

from .conftest import SIZE, make_app, messages, patch_text, row_keys, run_app, settle
from .world import FILES_1, FILES_3, read_tree


async def test_projects_screen_lists_projects(world, pilot_at):
    async with pilot_at("projects") as (_pilot, screen):
        assert isinstance(screen, ProjectsScreen)
        table = screen.query_one("#projects", LazyTable)
        assert row_keys(table) == [world.demo, world.web, world.scratch]


async def test_filter_as_you_type_and_escape_clears(world, pilot_at):
    async with pilot_at("projects") as (pilot, screen):
        app = pilot.app
        table = screen.query_one("#projects", LazyTable)
        await pilot.press("slash")
        box = screen.query_one("#filter", Input)
        assert box.display and box.has_focus
        await pilot.press("w", "e")
        assert row_keys(table) == [world.web]
        await pilot.press("backspace", "backspace", *"prod")  # tags match too
        assert row_keys(table) == [world.web]
        await pilot.press("backspace", "backspace", "backspace", "backspace", *"00000001")  # and ids
        assert row_keys(table) == [world.scratch]
        await pilot.press("escape")
        assert not box.display and box.value == ""
        assert row_keys(table) == [world.demo, world.web, world.scratch]
        # Enter in the filter keeps it and returns to the list; Enter again opens the match
        await pilot.press("slash", *"tmp", "enter")
        assert row_keys(table) == [world.scratch] and table.has_focus
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ProjectScreen) and app.screen.project_id == world.scratch


async def test_mark_and_diff_lists_changed_files(world, pilot_at):
    async with pilot_at("project") as (pilot, screen):
        app = pilot.app
        assert [c.id for c in screen.checkpoints] == list(reversed(world.checkpoints))  # newest first
        # mark the newest, move to the oldest, D: oldest -> newest
        await pilot.press("space", "down", "down", "D")
        await settle(pilot)
        diff = app.screen
        assert isinstance(diff, DiffScreen)
        assert (diff.from_id, diff.to_id) == (world.checkpoints[0], world.checkpoints[2])
        paths = {(c.status, c.path) for c in diff.changes}
        assert paths == {("A", "NOTES.md"), ("M", "README.md"), ("D", "docs/guide.md"), ("R", "src/helpers.py"),
                         ("M", "src/app.py"), ("A", "build/STATUS"), ("M", "data.bin")}
        assert diff.query_one("#changes", DataTable).row_count == 7
        assert "A sample workspace" not in patch_text(diff) and "+# Notes" in patch_text(diff)
        await pilot.press("n")
        await settle(pilot)
        assert diff.query_one("#changes", DataTable).cursor_row == 1
        assert "+Edited in the second checkpoint." in patch_text(diff)
        await pilot.press("n", "n")  # data.bin: binary, summarized
        await settle(pilot)
        assert "Binary file" in patch_text(diff) and "1.0 KiB → 1.0 KiB" in patch_text(diff)
        await pilot.press("p", "p", "p")
        await settle(pilot)
        assert diff.query_one("#changes", DataTable).cursor_row == 0
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen


async def test_diff_without_mark_compares_with_the_workspace(world, pilot_at):
    (world.workspace / "README.md").write_text("changed live\n")
    async with pilot_at("project") as (pilot, _screen):
        app = pilot.app
        await pilot.press("D")
        await settle(pilot)
        diff = app.screen
        assert isinstance(diff, DiffScreen) and diff.to_id is None
        assert [(c.status, c.path) for c in diff.changes] == [("M", "README.md")]


async def test_restore_end_to_end_with_keys(world, pilot_at):
    # unsaved work in the workspace, so the restore must save it first (pre-restore)
    (world.workspace / "src" / "app.py").write_text("print('unsaved work')\n")
    (world.workspace / "scratch.txt").write_text("new file\n")
    async with pilot_at("project") as (pilot, _screen):
        app = pilot.app
        await pilot.press("down", "down")  # the oldest checkpoint
        await pilot.press("r")
        await settle(pilot)
        confirm = app.screen
        assert isinstance(confirm, RestoreConfirmScreen)
        assert confirm.checkpoint.id == world.checkpoints[0]
        assert confirm.preview is not None
        statuses = {c.path: c.status for c in confirm.preview.changes}
        assert statuses["scratch.txt"] == "D" and statuses["docs/guide.md"] == "A"
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, ProjectScreen)
        assert any(m.startswith(f"restored {world.checkpoints[0]}") for m in messages(app))
    # the files on disk are the checkpoint's
    assert read_tree(world.workspace) == FILES_1
    # and the unsaved work is in a pre-restore checkpoint
    pre = [c for c in world.vm.checkpoints.list(world.demo) if c.kind == "pre-restore"]
    assert len(pre) == 1
    assert world.vm.fs.read(world.demo, "src/app.py", at=pre[0].id) == b"print('unsaved work')\n"
    assert world.vm.projects.get(world.demo).head_checkpoint_id == world.checkpoints[0]


async def test_restore_cancel_changes_nothing(world, pilot_at):
    before = read_tree(world.workspace)
    async with pilot_at("project") as (pilot, _screen):
        app = pilot.app
        await pilot.press("down", "down", "r")
        await settle(pilot)
        assert isinstance(app.screen, RestoreConfirmScreen)
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, ProjectScreen)
    assert read_tree(world.workspace) == before


async def test_undo_restore(world, pilot_at):
    async with pilot_at("project") as (pilot, _screen):
        app = pilot.app
        await pilot.press("down", "down", "r")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert read_tree(world.workspace) == FILES_1
        await pilot.press("u")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot)
    assert read_tree(world.workspace) == FILES_3


async def test_read_only_refuses_restore(world, pilot_at):
    before = read_tree(world.workspace)
    async with pilot_at("project", read_only=True) as (pilot, screen):
        app = pilot.app
        assert screen.check_action("restore", ()) is False  # hidden from the footer
        assert "r" not in {k for k, b in screen.active_bindings.items() if b.enabled and b.binding.show}
        await pilot.press("down", "down", "r")
        await settle(pilot)
        assert app.screen is screen  # no confirmation dialog
        assert any("read-only" in m and "restore" in m for m in messages(app))
        screen.action_restore()  # reached another way (e.g. code): still refused
        await settle(pilot)
        assert app.screen is screen
        await pilot.press("c")  # checkpoint is refused too
        await settle(pilot)
        assert app.screen is screen
    assert read_tree(world.workspace) == before
    assert len(world.vm.checkpoints.list(world.demo)) == 3


async def test_read_only_from_config(world, pilot_at):
    world.vm.config.values["ui"]["read_only"] = True
    async with pilot_at("projects") as (pilot, _screen):
        app = pilot.app
        assert app.read_only
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, ProjectsScreen)
        assert any("read-only" in m for m in messages(app))


async def test_keymap_override(world, pilot_at):
    world.vm.config.keymap = {"projects.filter": "f", "project.mark": "m", "project.diff": "ctrl+d"}
    async with pilot_at("projects") as (pilot, screen):
        app = pilot.app
        await pilot.press("slash")  # the old key no longer filters
        assert not screen.query_one("#filter", Input).display
        await pilot.press("f")
        assert screen.query_one("#filter", Input).display
        await pilot.press("escape")
        await pilot.press("enter")
        await settle(pilot)
        project = app.screen
        assert isinstance(project, ProjectScreen)
        await pilot.press("m")
        assert project.marked == world.checkpoints[2]
        await pilot.press("space")  # unbound now: no change
        assert project.marked == world.checkpoints[2]
        await pilot.press("down", "ctrl+d")
        await settle(pilot)
        assert isinstance(app.screen, DiffScreen)
        # the help screen shows the remapped keys
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        table = help_screen.query_one("#help-table", DataTable)
        rows = {str(table.get_row_at(i)[2]): str(table.get_row_at(i)[0]) for i in range(table.row_count)}
        assert rows["project.mark"] == "m"
        assert rows["project.diff"] == "^d"


async def test_unknown_keymap_id_is_reported(world, pilot_at):
    world.vm.config.keymap = {"project.nonsense": "z"}
    async with pilot_at("projects") as (pilot, _screen):
        app = pilot.app
        assert any("project.nonsense" in m for m in messages(app))


async def test_a_key_textual_cannot_bind_is_refused_and_the_default_kept(world, pilot_at):
    world.vm.config.keymap = {"projects.filter": "notakey!!"}
    async with pilot_at("projects") as (pilot, _screen):
        app = pilot.app
        assert "keymap projects.filter=notakey!! ignored: not a key" in messages(app)
        await pilot.press("slash")  # the default key still filters
        assert app.screen.query_one("#filter", Input).display


async def test_checkpoint_now_and_nothing_changed(world, pilot_at):
    async with pilot_at("project") as (pilot, screen):
        app = pilot.app
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, PromptScreen)
        await pilot.press("enter")
        await settle(pilot)
        assert any(m.startswith(f"nothing changed since {world.checkpoints[2]}") for m in messages(app))
        assert len(screen.checkpoints) == 3
        (world.workspace / "new.txt").write_text("new\n")
        await pilot.press("c", *"added new", "enter")
        await settle(pilot)
        assert len(screen.checkpoints) == 4
        assert screen.checkpoints[0].description == "added new"
        assert screen.project.head_checkpoint_id == screen.checkpoints[0].id


async def test_files_screen_browses_checkpoint_and_workspace(world, pilot_at):
    (world.workspace / "live-only.txt").write_text("live\n")
    async with pilot_at("project") as (pilot, _screen):
        app = pilot.app
        await pilot.press("down", "down", "f")  # the oldest checkpoint
        await settle(pilot)
        files = app.screen
        assert isinstance(files, FilesScreen) and files.at == world.checkpoints[0]
        tree = files.query_one("#tree")
        top = [str(n.label) for n in tree.root.children]
        assert top == ["docs/", "src/", "README.md", "data.bin"]
        await pilot.press("down", "down", "enter")  # expand src/
        await settle(pilot)
        src = tree.root.children[1]
        assert [str(n.label) for n in src.children] == ["app.py", "util.py"]
        await pilot.press("down")  # src/app.py
        await settle(pilot)
        meta = str(files.query_one("#meta").render())
        assert "src/app.py" in meta and "mode 644" in meta
        await pilot.press("w")  # the live workspace
        await settle(pilot)
        assert files.at is None
        assert "live-only.txt" in [str(n.label) for n in tree.root.children]
        await pilot.press("w")
        await settle(pilot)
        assert files.at == world.checkpoints[0]


async def test_new_project_form_validates_inline(world, pilot_at, tmp_path):
    src = tmp_path / "import-me"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "x.txt").write_text("x\n")
    async with pilot_at("projects") as (pilot, _screen):
        app = pilot.app
        await pilot.press("n")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, NewProjectScreen)
        await pilot.press(*"api")
        form.query_one("#field-prefix", Input).value = "BAD_prefix"
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is form
        assert "invalid project prefix" in str(form.query_one("#error-prefix").render())  # under the field
        form.query_one("#field-prefix", Input).value = "api"
        form.query_one("#field-tags", Input).value = "svc, backend"
        form.query_one("#field-import_dir", Input).value = str(src)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ProjectsScreen)
    created = [p for p in world.vm.projects.list() if p.name == "api"]
    assert len(created) == 1 and created[0].id.startswith("api-") and created[0].tags == ["backend", "svc"]
    assert world.vm.fs.read(created[0].id, "sub/x.txt") == b"x\n"


async def test_pin_and_delete_with_confirmation(world, pilot_at):
    async with pilot_at("projects") as (pilot, _screen):
        app = pilot.app
        await pilot.press("down", "down")  # scratch
        await pilot.press("p")
        await settle(pilot)
        assert world.vm.projects.get(world.scratch).pinned
        await pilot.press("d")
        await settle(pilot)
        confirm = app.screen
        assert isinstance(confirm, ConfirmScreen)
        body = str(confirm.query_one("#confirm-body").render())
        assert "workspace" in body and "0 checkpoints" in body
        await pilot.press("escape")
        await settle(pilot)
        assert world.vm.projects.get(world.scratch)
        await pilot.press("d")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        table = app.screen.query_one("#projects", LazyTable)
        assert world.scratch not in row_keys(table)
    assert world.scratch not in [p.id for p in world.vm.projects.list()]


async def test_start_workspace_only_session_when_docker_is_unreachable(world, pilot_at):
    async with pilot_at("projects", docker_status=lambda: (False, "Cannot reach Docker (test)")) as (pilot, _screen):
        app = pilot.app
        await pilot.press("down")  # web-app
        await pilot.press("s")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)  # offers runtime none
        await pilot.press("y")
        await settle(pilot)
        assert any(m.startswith("session ") and "workspace only" in m for m in messages(app))
    sessions = world.vm.sessions.list(world.web)
    assert [(s.runtime, s.status) for s in sessions] == [("none", "running")]


async def test_exec_without_container_explains(world, pilot_at):
    async with pilot_at("project") as (pilot, _screen):
        app = pilot.app
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, ProjectScreen)
        assert any("no running container session" in m for m in messages(app))


async def test_help_lists_every_binding_with_ids(world, pilot_at):
    async with pilot_at("project") as (pilot, _screen):
        app = pilot.app
        await pilot.press("question_mark")
        await settle(pilot)
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        table = help_screen.query_one("#help-table", DataTable)
        ids = {str(table.get_row_at(i)[2]) for i in range(table.row_count)}
        for ident in ("project.checkpoint", "project.mark", "project.diff", "project.restore", "project.undo",
                      "project.files", "project.exec", "project.back", "app.help", "app.quit"):
            assert ident in ids
        await pilot.press("escape")
        assert isinstance(app.screen, ProjectScreen)


async def test_every_binding_has_a_unique_id():
    from textual.binding import Binding

    from vmuser_tui.tui.app import all_binding_ids
    from vmuser_tui.tui.keymap_check import scopes

    seen: dict[str, str] = {}  # binding id -> the one screen (scope) that owns it
    for scope in scopes():
        for cls in scope.classes:
            for binding in Binding.make_bindings(cls.BINDINGS):
                assert binding.id, f"{cls.__name__}: {binding.key} has no id"
                owner = seen.setdefault(binding.id, scope.name)
                assert owner == scope.name, f"{binding.id} used on {owner} and on {scope.name}"
    assert set(seen) == all_binding_ids()


def test_package_import_does_not_import_textual():
    import subprocess
    import sys

    code = "import sys, vmuser_tui.tui; print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert out.stdout.strip() == "False", out.stderr


@pytest.mark.docker
async def test_docker_session_start_and_exec(world, pilot_at):
    from vmuser_tui.core.service import Vmuser  # noqa: F401

    try:
        async with pilot_at("projects", docker_status=world.vm.docker_status) as (pilot, _screen):
            app = pilot.app
            await pilot.press("down")  # web-app
            await pilot.press("enter")
            await settle(pilot)
            await pilot.press("s")
            await settle(pilot, rounds=6)
            project = app.screen
            assert isinstance(project, ProjectScreen)
            running = [s for s in project.sessions if s.runtime == "docker" and s.status == "running"]
            assert running, messages(app)
            await pilot.press("x")
            await settle(pilot)
            assert isinstance(app.screen, PromptScreen)
            await pilot.press(*"echo hi from $HOSTNAME > out.txt; cat out.txt", "enter")
            await settle(pilot, rounds=6)
            out = app.screen  # the output streams into its own view (issue 13): here the command has ended
            assert isinstance(out, ExecOutputScreen) and not out.running
            assert out.outcome is not None and out.outcome.exit_code == 0
            shown = "\n".join("".join(seg.text for seg in strip) for strip in out.query_one("#exec-log").lines)
            assert "hi from" in shown
            await pilot.press("escape")
            await settle(pilot)
        assert world.vm.fs.read(world.web, "out.txt").startswith(b"hi from")
    finally:
        for s in world.vm.sessions.list(world.web):
            if s.status == "running":
                world.vm.sessions.stop(s.id)


@pytest.mark.parametrize("read_only", [False, True], ids=["read-write", "read-only"])
async def test_command_palette_lists_allowed_actions(world, pilot_at, read_only):
    from vmuser_tui.tui.commands import VmuserCommands

    async with pilot_at("project", read_only=read_only) as (pilot, screen):
        texts = [text for text, _help, _cmd in VmuserCommands(screen)._commands()]
        assert "Project: Diff" in texts and "Project: Files" in texts
        assert ("Project: Restore" in texts) is not read_only
        assert "vmuser: Go to projects (home)" in texts
        # running a palette command runs the screen's action
        command = next(cmd for text, _h, cmd in VmuserCommands(screen)._commands() if text == "Project: Files")
        await command()
        await settle(pilot)
        assert isinstance(pilot.app.screen, FilesScreen)


async def test_operation_log_screen(world):
    from vmuser_tui.tui.screens.log import LogScreen

    app = make_app(world.vm)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("L")
        await settle(pilot)
        assert isinstance(app.screen, LogScreen)
        ops = [e["operation"] for e in app.screen.entries]
        assert "checkpoint.create" in ops and "project.create" in ops
        await pilot.press("escape")
        assert isinstance(app.screen, ProjectsScreen)


async def test_another_process_commit_reloads_the_screen(world, pilot_at, data_dir, config_path):
    from vmuser_tui.core.service import Vmuser

    async with pilot_at("projects", watch_interval=0.1) as (pilot, screen):
        table = screen.query_one("#projects", LazyTable)
        assert table.row_count == 3
        other = Vmuser.open(data_dir=str(data_dir), config_path=config_path)  # "another process"
        try:
            other.projects.create("from-the-cli")
        finally:
            other.close()
        for _ in range(20):
            await pilot.pause(0.1)
            await settle(pilot, rounds=1)
            if table.row_count == 4:
                break
        assert table.row_count == 4


async def test_open_project_at_start(world):
    async with run_app(world.vm, open_project=world.demo) as pilot:
        app = pilot.app
        assert isinstance(app.screen, ProjectScreen) and app.screen.project_id == world.demo
        await pilot.press("escape")
        assert isinstance(app.screen, ProjectsScreen)


async def test_scope_toggle_and_stop_session(world, pilot_at):
    async with pilot_at("project") as (pilot, screen):
        app = pilot.app
        assert len(screen.checkpoints) == 3
        await pilot.press("w")  # only the selected session's checkpoints
        await settle(pilot)
        assert screen.scope == "session" and [c.id for c in screen.checkpoints] == [world.checkpoints[2]]
        await pilot.press("w")
        await settle(pilot)
        assert screen.scope == "project" and len(screen.checkpoints) == 3
        await pilot.press("S")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot)
        assert [s.status for s in screen.sessions] == ["stopped"]
    assert world.vm.sessions.get(world.session).status == "stopped"


async def test_theme_from_config(world, pilot_at):
    world.vm.config.values["ui"]["theme"] = "nord"
    async with pilot_at("projects") as (pilot, _screen):
        app = pilot.app
        assert app.theme == "nord"
    world.vm.config.values["ui"]["theme"] = "no-such-theme"
    async with pilot_at("projects") as (pilot, _screen):
        app = pilot.app
        assert app.theme == "textual-dark"
        assert any("unknown theme 'no-such-theme'" in m for m in messages(app))
