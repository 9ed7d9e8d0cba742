"""Problems a newcomer found driving the TUI in tmux at 80x24, each pinned by a test."""

from __future__ import annotations

import dataclasses
import io
import sys
import threading
from contextlib import contextmanager

from textual.widgets import DataTable, Input, RichLog, Tree
from textual.widgets._toast import Toast

from vmuser_tui.tui.screens.diff import DiffScreen
from vmuser_tui.tui.screens.files import FilesScreen
from vmuser_tui.tui.screens.log import LogScreen
from vmuser_tui.tui.screens.new_project import NewProjectScreen
from vmuser_tui.tui.screens.output import OutputScreen
from vmuser_tui.tui.screens.project import ProjectScreen
from vmuser_tui.tui.screens.projects import ProjectsScreen
from vmuser_tui.tui.screens.prompt import PromptScreen
from vmuser_tui.tui.screens.restore_confirm import RestoreConfirmScreen
from vmuser_tui.tui.widgets.lazytable import LazyTable

from .conftest import SIZE, go, make_app, messages, open_demo, settle


def log_text(log: RichLog) -> str:
    return "\n".join(strip.text for strip in log.lines)


def rendered_rows(table: DataTable | LazyTable) -> list[str]:
    """The table's rows as drawn (header excluded), right-trimmed."""
    top = table.header_height if table.show_header else 0
    return [table.render_line(top + i).text.rstrip() for i in range(table.row_count)]


def columns_width(table: DataTable | LazyTable) -> int:
    if isinstance(table, LazyTable):
        return table.total_width
    return sum(c.get_render_width(table) for c in table.ordered_columns)


# -- 1. files: a slow preview never lands over a newer highlight -------------------------
async def test_files_preview_drops_a_stale_read_when_a_folder_is_highlighted(world, pilot_at, monkeypatch):
    gate = threading.Event()
    read = world.vm.fs.read

    def slow_read(project, path, *args, **kwargs):
        if path == "NOTES.md":
            gate.wait(10)
        return read(project, path, *args, **kwargs)

    monkeypatch.setattr(world.vm.fs, "read", slow_read)
    try:
        # the newest checkpoint: build/ src/ NOTES.md README.md data.bin
        async with pilot_at("files") as (pilot, files):
            tree = files.query_one("#tree", Tree)
            assert [str(n.label) for n in tree.root.children][:3] == ["build/", "src/", "NOTES.md"]
            await pilot.press("down", "down", "down")  # NOTES.md: its read hangs
            await pilot.pause()
            assert "NOTES.md" in str(files.query_one("#meta").render())
            await pilot.press("up", "up")  # build/, before the read is back
            await pilot.pause()
            gate.set()  # now the NOTES.md read lands
            await settle(pilot)
            preview = log_text(files.query_one("#preview", RichLog))
            assert "# Notes" not in preview
            assert "directory" in preview
            assert "build" in str(files.query_one("#meta").render())

            gate.clear()
            await pilot.press("down", "down")  # NOTES.md again, hanging
            await pilot.pause()
            await pilot.press("up", "up", "up")  # the root: "/ of checkpoint ..."
            await pilot.pause()
            gate.set()
            await settle(pilot)
            assert str(files.query_one("#meta").render()).startswith("/ of checkpoint")
            assert "# Notes" not in log_text(files.query_one("#preview", RichLog))
    finally:
        gate.set()


# -- 2. notifications: one short line, gone soon; the full text in the messages view ----
async def test_notifications_are_single_short_lines_with_the_full_text_kept(world, pilot_at, monkeypatch):
    registry = "\n".join(f"registry lookup failed (attempt {i}): could not resolve host" for i in range(13))
    world.vm.notes = [registry]
    start = world.vm.sessions.start

    def start_with_notes(*args, **kwargs):
        outcome = start(*args, **kwargs)
        return dataclasses.replace(outcome, notes=[registry])

    monkeypatch.setattr(world.vm.sessions, "start", start_with_notes)
    async with pilot_at("projects", notifications=True,
                        docker_status=lambda: (False, "Cannot reach Docker (test)")) as (pilot, _screen):
        app = pilot.app
        await pilot.press("down", "s")  # web-app: Docker is down, so a workspace-only session
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        sent = messages(app)
        assert any(m.startswith("session ") and "workspace only" in m for m in sent)
        assert all("\n" not in m and len(m) <= app.toast_width() for m in sent), sent
        toasts = list(app.screen.query(Toast))
        assert toasts and all(t.size.height == 1 for t in toasts)
        # over the status line and the footer, not on them
        assert all(t.region.bottom <= app.size.height - 2 for t in toasts)
        timeouts = {n.severity: n.timeout for n in app._notifications}
        assert timeouts["information"] <= 5
        app.notify("boom", severity="error")
        await pilot.pause()
        assert max(n.timeout for n in app._notifications if n.severity == "error") > timeouts["information"]
        # m shows every notification in full
        await pilot.press("m")
        await settle(pilot)
        assert isinstance(app.screen, OutputScreen)
        assert app.screen.output.count("registry lookup failed") == 26  # on start, and the session's notes
        await pilot.press("escape")
        assert isinstance(app.screen, ProjectsScreen)


async def test_toasts_over_a_dialog_stay_off_its_edges(world, pilot_at):
    async with pilot_at("project", notifications=True) as (pilot, _screen):
        app = pilot.app
        await pilot.press("down", "down", "r")
        await settle(pilot)
        dialog = app.screen.query_one("#dialog")
        app.notify("a short one")
        await pilot.pause()
        toast = app.screen.query_one(Toast)
        assert toast.size.height == 1
        assert not toast.region.overlaps(dialog.region)


# -- 3. new-project form: the message follows the edits ---------------------------------
async def test_new_project_form_error_clears_and_refreshes_while_editing(world, pilot_at):
    async with pilot_at("projects") as (pilot, _screen):
        app = pilot.app
        await pilot.press("n")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, NewProjectScreen)
        error = form.query_one("#error-prefix")  # the line under the field
        await pilot.press(*"api")
        prefix = form.query_one("#field-prefix", Input)
        prefix.value = "BAD_prefix"
        await pilot.pause()
        assert str(error.render()).strip() == ""  # no nagging before the first Create
        await pilot.press("enter")
        await settle(pilot)
        assert "invalid project prefix" in str(error.render())
        assert prefix.has_class("-invalid")
        prefix.value = "Still_Bad"  # still wrong: the message says so about the new value
        await pilot.pause()
        assert "'Still_Bad'" in str(error.render())
        prefix.value = "api"  # fixed: the message goes without another Enter
        await pilot.pause()
        assert str(error.render()).strip() == ""
        assert not prefix.has_class("-invalid")
        prefix.value = "x_"  # and comes back, now that Create was tried once
        await pilot.pause()
        assert "'x_'" in str(error.render())
        # two fields wrong at once: each says so under itself
        form.query_one("#field-tags", Input).value = "ok bad\x01tag"
        await pilot.pause()
        assert "'x_'" in str(error.render()) and "invalid tag" in str(form.query_one("#error-tags").render())
        form.query_one("#field-tags", Input).value = ""
        prefix.value = "api"
        await pilot.pause()
        assert form.errors == {}
        # an error only the core can find (the directory): cleared when that field is edited
        box = form.query_one("#field-import_dir", Input)
        box.value = "/nonexistent-vmuser-dir"
        await pilot.press("enter")
        await settle(pilot)
        under = form.query_one("#error-import_dir")
        assert "nonexistent-vmuser-dir" in str(under.render())
        assert box.has_class("-invalid")
        form.query_one("#field-description", Input).value = "other field"
        await pilot.pause()
        assert "nonexistent-vmuser-dir" in str(under.render())  # not that field: still relevant
        box.value = "/nonexistent-vmuser-di"
        await pilot.pause()
        assert str(under.render()).strip() == ""
        assert isinstance(app.screen, NewProjectScreen)


# -- 4. nothing cut off at 80 columns ----------------------------------------------------
def _docker_like(session):
    return dataclasses.replace(session, runtime="docker", image="ghcr.io/example/devbox-python:3.11-slim",
                               container_name=f"vmuser-{session.project_id}-{session.id}")


async def test_sessions_table_drops_the_image_column_when_it_does_not_fit(world, pilot_at):
    async with pilot_at("project") as (pilot, screen):
        table = screen.query_one("#sessions", DataTable)
        screen.sessions = [_docker_like(s) for s in screen.sessions]
        screen._show_sessions(None)
        await pilot.pause()
        keys = [c.key.value for c in table.ordered_columns]
        assert "image" not in keys
        assert columns_width(table) <= table.size.width
        row = rendered_rows(table)[0]
        assert "vmuser-" in row and row.endswith("1")  # every column whole, Cps last
        # the image is in the status line while the sessions table has the focus
        table.focus()
        await pilot.pause()
        status = str(screen.query_one("StatusLine").render())
        assert "devbox-python" in status
        # wide enough: the column is back
        await pilot.resize_terminal(160, 30)
        await settle(pilot)
        screen.sessions = [_docker_like(s) for s in screen.sessions]
        screen._show_sessions(None)
        await pilot.pause()
        assert "image" in [c.key.value for c in table.ordered_columns]
        assert rendered_rows(table)[0].endswith("3.11-slim")


async def test_timeline_tags_keep_their_closing_bracket_after_a_restore(world, pilot_at):
    (world.workspace / "README.md").write_text("unsaved work\n")
    world.vm.restores.restore(world.checkpoints[0])  # saves a pre-restore checkpoint first
    async with pilot_at("project") as (pilot, screen):
        assert any(cp.kind == "pre-restore" for cp in screen.checkpoints)
        table = screen.query_one("#checkpoints", LazyTable)
        assert columns_width(table) <= table.size.width
        rows = rendered_rows(table)
        for cp, row in zip(screen.checkpoints, rows, strict=True):
            if cp.tags:
                assert row.endswith("]"), row
                assert f"[{cp.tags[0][:2]}" in row
        assert any("[edit]" in row for row in rows)


async def test_help_fits_80_columns_and_end_does_not_scroll_sideways(world, pilot_at):
    async with pilot_at("project") as (pilot, _screen):
        app = pilot.app
        await pilot.press("question_mark")
        await settle(pilot)
        table = app.screen.query_one("#help-table", DataTable)
        assert columns_width(table) + table.styles.scrollbar_size_vertical <= table.size.width
        await pilot.press("end")
        await pilot.pause()
        assert table.scroll_x == 0
        # the Key column is there: each row drawn starts with its key (rows drawn from scroll_y on)
        first = round(table.scroll_y)
        for i, row in enumerate(rendered_rows(table)[:5]):
            assert row.lstrip().startswith(str(table.get_row_at(first + i)[0])), row


# -- 5. j/k everywhere, q goes back ------------------------------------------------------
async def test_j_and_k_move_in_tables_trees_and_help(world, pilot_at):
    async with pilot_at("projects") as (pilot, _screen):
        app = pilot.app
        projects = app.screen.query_one("#projects", LazyTable)
        await pilot.press("j", "j")
        assert projects.cursor_row == 2
        await pilot.press("k")
        assert projects.cursor_row == 1
        shown = {b.binding.key for b in app.screen.active_bindings.values() if b.binding.show}
        assert not shown & {"j", "k"}  # not in the footer
        await pilot.press("k", "enter")
        await settle(pilot)
        project = app.screen
        timeline = project.query_one("#checkpoints", LazyTable)
        await pilot.press("j")
        assert timeline.cursor_row == 1
        await pilot.press("f")
        await settle(pilot)
        tree = app.screen.query_one("#tree", Tree)
        line = tree.cursor_line
        await pilot.press("j", "j")
        assert tree.cursor_line == line + 2
        await pilot.press("k")
        assert tree.cursor_line == line + 1
        await pilot.press("question_mark")
        await settle(pilot)
        help_table = app.screen.query_one("#help-table", DataTable)
        await pilot.press("j", "j")
        assert help_table.cursor_row == 2
        ids = {str(help_table.get_row_at(i)[2]): str(help_table.get_row_at(i)[0]) for i in range(help_table.row_count)}
        assert ids["app.down"] == "j" and ids["app.up"] == "k"


async def test_q_goes_back_on_sub_screens_and_quits_only_at_home(world):
    app = make_app(world.vm)
    async with app.run_test(size=SIZE) as pilot:
        await open_demo(pilot)
        for key, screen_type in (("f", FilesScreen), ("D", DiffScreen), ("L", LogScreen)):
            await pilot.press(key)
            await settle(pilot)
            assert isinstance(app.screen, screen_type)
            await pilot.press("q")
            await settle(pilot)
            assert isinstance(app.screen, ProjectScreen), key
        await pilot.press("question_mark")  # help closes with q as before
        await settle(pilot)
        await pilot.press("q")
        await settle(pilot)
        assert isinstance(app.screen, ProjectScreen)
        await pilot.press("q")
        await settle(pilot)
        assert isinstance(app.screen, ProjectsScreen)
        assert app.return_code is None  # still running
        await pilot.press("n")
        await settle(pilot)
        await pilot.press("tab", "tab", "tab", "tab", "tab", "tab")  # the form's buttons
        await pilot.press("q")  # not on a form: the typing would be lost
        await pilot.pause()
        assert isinstance(app.screen, NewProjectScreen)
        await pilot.press("escape")
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_ctrl_q_quits_from_a_sub_screen(world, pilot_at):
    async with pilot_at("project") as (pilot, _screen):
        app = pilot.app
        await pilot.press("f")
        await settle(pilot)
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert app.return_code == 0


# -- 6. relative times move on by themselves ---------------------------------------------
async def test_relative_times_refresh_without_reloading_or_moving_the_cursor(world, pilot_at, monkeypatch):
    monkeypatch.setattr("vmuser_tui.tui.screens.base.TIME_REFRESH", 0.1, raising=False)
    async with pilot_at("project") as (pilot, screen):
        app = pilot.app
        timeline = screen.query_one("#checkpoints", LazyTable)
        await pilot.press("down")
        assert str(timeline.get_cell(world.checkpoints[2], "when")) == "20m ago"

        def no_database(*_args, **_kwargs):
            raise AssertionError("a time refresh must not query the database")

        monkeypatch.setattr(world.vm.checkpoints, "list", no_database)
        monkeypatch.setattr(world.vm.sessions, "list", no_database)
        monkeypatch.setenv("VMUSER_FROZEN_TIME", "2026-11-21T12:30:00Z")
        await pilot.pause(0.4)
        assert str(timeline.get_cell(world.checkpoints[2], "when")) == "50m ago"
        assert str(screen.query_one("#sessions", DataTable).get_cell(world.session, "uptime")) == "1h 30m"
        assert timeline.cursor_row == 1
        await pilot.press("escape")
        await pilot.pause(0.3)
        projects = app.screen.query_one("#projects", LazyTable)
        assert str(projects.get_cell(world.demo, "active")).endswith("ago")


# -- 7. ! says where the shell is --------------------------------------------------------
async def test_shell_starts_on_a_cleared_screen_with_a_hint(world, pilot_at, monkeypatch):
    import subprocess

    async with pilot_at("project") as (pilot, screen):
        app = pilot.app
        out = io.StringIO()
        events: list[str] = []

        @contextmanager
        def fake_suspend():
            events.append("suspend")
            real, sys.stdout = sys.stdout, out
            try:
                yield
            finally:
                sys.stdout = real
                events.append("resume")

        def fake_call(argv):
            events.append(f"call {argv[0]} after {out.getvalue()!r}")
            return 0

        monkeypatch.setattr(app, "suspend", fake_suspend)
        monkeypatch.setattr(subprocess, "call", fake_call)
        session = _docker_like(screen.sessions[0])
        screen._run_shell(["docker", "exec", "-it", session.container_name, "sh"], session)
        await settle(pilot)
        assert events[0] == "suspend" and events[-1] == "resume"
        banner = out.getvalue()
        assert banner.startswith("\x1b[H\x1b[2J")
        assert f"vmuser: shell in {session.container_name} — exit to return" in banner
        assert "after" in events[1] and session.container_name in events[1]  # printed before the shell ran


# -- 8. a keymap collision is refused at start, with a warning -----------------------------
async def test_keymap_collision_keeps_both_keys_working(world, pilot_at):
    world.vm.config.keymap = {"project.restore": "c"}
    async with pilot_at("projects") as (pilot, _screen):
        app = pilot.app
        warning = [m for m in messages(app) if "project.restore" in m]
        assert warning and "project.checkpoint" in warning[0]
        screen = await go(pilot, "project", world)
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, PromptScreen)  # c is still Checkpoint
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, RestoreConfirmScreen)  # r still restores
        await pilot.press("escape")
        assert app.screen is screen
