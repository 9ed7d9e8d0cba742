"""Pilot tests of the diff (views, hunks, large files, restore of one path), operation log
(filters, details) and settings (edit, theme, save) screens, read-only mode and keymaps."""

from __future__ import annotations

import json

import pytest
from textual.widgets import DataTable, Input, Select

from vmuser_tui.core import config as cfg
from vmuser_tui.tui.screens.confirm import ConfirmScreen
from vmuser_tui.tui.screens.diff import DiffScreen
from vmuser_tui.tui.screens.help import HelpScreen
from vmuser_tui.tui.screens.log import LogScreen, Query
from vmuser_tui.tui.screens.output import OutputScreen
from vmuser_tui.tui.screens.project import ProjectScreen
from vmuser_tui.tui.screens.projects import ProjectsScreen
from vmuser_tui.tui.screens.restore_confirm import RestoreConfirmScreen, folder_levels
from vmuser_tui.tui.screens.settings import SettingEditScreen, SettingsScreen, ThemeScreen

from .conftest import go, messages, patch_text, run_app, settle
from .world import FILES_1, FILES_3, read_tree

WIDE = (120, 40)


async def select_path(pilot, diff: DiffScreen, path: str) -> None:
    row = [c.path for c in diff.changes].index(path)
    diff.query_one("#changes", DataTable).move_cursor(row=row, animate=False)
    await settle(pilot)
    assert diff.shown is not None and diff.shown[0].path == path


def flat(diff: DiffScreen) -> str:
    """The patch's text with its wrapped notes joined (one space between words)."""
    return " ".join(patch_text(diff).split())


def plain(widget) -> str:
    """The text a Static shows (Text or any Rich renderable)."""
    from rich.console import Console

    console = Console(width=200, record=True, color_system=None, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(widget.content)
    return console.export_text()


def many_lines(n: int, tag: str = "") -> bytes:
    return "".join(f"line {i}{tag}\n" for i in range(n)).encode()


# -- diff ---------------------------------------------------------------------------------
async def test_diff_side_by_side_toggle_and_narrow_fallback(world, pilot_at):
    async with pilot_at("diff") as (pilot, diff):
        await select_path(pilot, diff, "src/app.py")
        unified = patch_text(diff)
        assert '+if __name__ == "__main__":' in unified and "│" not in unified
        await pilot.press("s")
        await settle(pilot)
        assert diff.side
        # 80 columns with the change list: too narrow, unified with a note
        assert "Side by side needs" in flat(diff) and "z zooms" in flat(diff)
        await pilot.press("z")
        await settle(pilot)
        side = patch_text(diff)
        assert "Side by side needs" not in side
        row = next(line for line in side.splitlines() if "if __name__" in line)
        left, right = row.split("│")
        assert not left.strip() and right.split()[0] == "10"  # added: nothing on the left, line 10 on the right
        await pilot.press("s")
        await settle(pilot)
        assert not diff.side and "│" not in patch_text(diff)
        await pilot.press("escape")  # back to the timeline the diff was opened from
        await settle(pilot)
        assert isinstance(pilot.app.screen, ProjectScreen)


async def test_diff_side_by_side_fits_at_120_columns(world, pilot_at):
    async with pilot_at("diff", size=WIDE) as (pilot, diff):
        await select_path(pilot, diff, "README.md")
        await pilot.press("s")
        await settle(pilot)
        text = patch_text(diff)
        assert "Side by side needs" not in text
        assert any(line.split("│")[0].split()[:1] == ["3"] and "A sample workspace" in line
                   for line in text.splitlines() if "│" in line)


async def test_diff_is_coloured_by_syntax(world, pilot_at):
    async with pilot_at("diff") as (pilot, diff):
        await select_path(pilot, diff, "src/app.py")
        log = diff.query_one("#patch")
        styles = {seg.text.strip(): seg.style for strip in log.lines for seg in strip if seg.text.strip()}
        assert styles["def"].color is not None  # a Python keyword has its own colour
        assert styles["main"].color != styles["def"].color
        # and an added line sits on a tinted band
        added = next(strip for strip in log.lines if "".join(s.text for s in strip).startswith("+if"))
        assert all(seg.style.bgcolor is not None for seg in added if seg.text)


async def test_binary_file_is_summarized(world, pilot_at):
    async with pilot_at("diff") as (pilot, diff):
        await select_path(pilot, diff, "data.bin")
        assert "Binary file, 1.0 KiB → 1.0 KiB: not rendered." in flat(diff)
        assert not diff.hunk_rows


def hunky_world(world) -> None:
    """A checkpoint with big.py (200 lines), then three far-apart edits in the workspace."""
    lines = [f"value_{i} = {i}\n" for i in range(200)]
    (world.workspace / "big.py").write_text("".join(lines))
    world.vm.checkpoints.create(world.demo, description="big file")
    for i in (10, 100, 190):
        lines[i] = f"value_{i} = {i} * 2\n"
    (world.workspace / "big.py").write_text("".join(lines))


async def test_hunk_jumps(world, pilot_at):
    hunky_world(world)
    async with pilot_at("diff_workspace") as (pilot, diff):  # newest checkpoint -> workspace
        app = pilot.app
        assert [c.path for c in diff.changes] == ["big.py"]
        await settle(pilot)
        assert len(diff.hunk_rows) == 3
        patch = diff.query_one("#patch")
        for index in (0, 1, 2):
            await pilot.press("right_square_bracket")
            await settle(pilot)
            assert diff.hunk_index == index
        assert round(patch.scroll_y) == min(diff.hunk_rows[2], round(patch.max_scroll_y))
        await pilot.press("left_square_bracket")
        await settle(pilot)
        assert diff.hunk_index == 1 and round(patch.scroll_y) == min(diff.hunk_rows[1], round(patch.max_scroll_y))
        await pilot.press("right_square_bracket", "right_square_bracket")  # past the last hunk of the last file
        await settle(pilot)
        assert diff.hunk_index == 2 and any("last hunk" in m for m in messages(app))


async def test_hunk_jump_crosses_into_the_next_file(world, pilot_at):
    async with pilot_at("diff") as (pilot, diff):
        await select_path(pilot, diff, "NOTES.md")  # one hunk
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert diff.hunk_index == 0
        await pilot.press("right_square_bracket")  # no more here: README.md, first hunk
        await settle(pilot)
        assert diff.shown[0].path == "README.md" and diff.hunk_index == 0
        await pilot.press("left_square_bracket")  # back: NOTES.md at its last hunk
        await settle(pilot)
        assert diff.shown[0].path == "NOTES.md" and diff.hunk_index == 0


async def test_large_diff_is_summarized_until_asked(world, pilot_at):
    (world.workspace / "huge.txt").write_bytes(many_lines(1500))
    world.vm.checkpoints.create(world.demo, description="huge")
    (world.workspace / "huge.txt").write_bytes(many_lines(1500, " changed"))  # 3,000 lines changed
    async with pilot_at("diff_workspace") as (pilot, diff):
        await settle(pilot)
        assert "Large diff: 3,000 lines changed (+1,500 -1,500), not rendered. L renders it anyway." in flat(diff)
        assert not diff.hunk_rows
        await pilot.press("L")
        await settle(pilot)
        assert diff.hunk_rows and "+line 1499 changed" in patch_text(diff)


async def test_restore_one_file_from_the_diff(world, pilot_at):
    (world.workspace / "scratch.txt").write_text("unsaved\n")
    async with pilot_at("diff") as (pilot, diff):
        app = pilot.app
        await select_path(pilot, diff, "src/app.py")
        await pilot.press("R")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, RestoreConfirmScreen)
        assert dialog.paths == ["src/app.py"] and dialog.checkpoint.id == world.checkpoints[0]
        body = plain(dialog.query_one("#restore-body"))
        assert "1 overwritten" in body and "src/app.py" in body and "pre-restore" in body
        assert "src/app.py" in str(dialog.query_one("#dialog-title").render())
        await pilot.press("y")
        await settle(pilot)
        assert app.screen is diff
        assert any(m.startswith(f"restored src/app.py from {world.checkpoints[0]}") for m in messages(app))
    files = read_tree(world.workspace)
    assert files["src/app.py"] == FILES_1["src/app.py"]
    assert files["README.md"] == FILES_3["README.md"] and files["scratch.txt"] == b"unsaved\n"  # the rest stays
    pre = [c for c in world.vm.checkpoints.list(world.demo) if c.kind == "pre-restore"]
    assert len(pre) == 1 and world.vm.fs.read(world.demo, "scratch.txt", at=pre[0].id) == b"unsaved\n"


async def test_restore_the_folder_from_the_diff(world, pilot_at):
    async with pilot_at("diff") as (pilot, diff):
        app = pilot.app
        await select_path(pilot, diff, "src/helpers.py")  # renamed from src/util.py
        await pilot.press("R")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, RestoreConfirmScreen)
        assert dialog.paths == ["src/helpers.py", "src/util.py"]
        await pilot.press("f")  # the whole folder
        await settle(pilot)
        assert dialog.paths == ["src"]
        assert "src/" in str(dialog.query_one("#dialog-title").render())
        assert {c.path for c in dialog.preview.changes} == {"src/app.py", "src/util.py"}
        await pilot.press("y")
        await settle(pilot)
    files = read_tree(world.workspace)
    assert {p: files[p] for p in files if p.startswith("src/")} == {p: v for p, v in FILES_1.items()
                                                                   if p.startswith("src/")}
    assert files["NOTES.md"] == FILES_3["NOTES.md"]


async def test_restore_cancel_and_nothing_to_restore(world, pilot_at):
    before = read_tree(world.workspace)
    async with pilot_at("diff") as (pilot, diff):
        app = pilot.app
        await select_path(pilot, diff, "src/app.py")
        await pilot.press("R")
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        assert app.screen is diff
        # docs/guide.md is deleted in the newer checkpoint and absent from the workspace:
        # restoring it from the older one re-creates it. build/STATUS was added: restoring deletes it.
        await select_path(pilot, diff, "build/STATUS")
        await pilot.press("R")
        await settle(pilot)
        dialog = app.screen
        assert [c.status for c in dialog.preview.changes] == ["D"]
        await pilot.press("escape")
        await settle(pilot)
    assert read_tree(world.workspace) == before


async def test_read_only_refuses_path_restore(world, pilot_at):
    before = read_tree(world.workspace)
    async with pilot_at("diff", read_only=True) as (pilot, diff):
        app = pilot.app
        assert diff.check_action("restore_path", ()) is False  # hidden from the footer
        await pilot.press("R")
        await settle(pilot)
        assert app.screen is diff
        assert any("read-only" in m and "restore" in m for m in messages(app))
        diff.action_restore_path()  # reached another way: still refused
        await settle(pilot)
        assert app.screen is diff
        assert "R: restore" not in str(diff.query_one("#changes").screen.query_one("StatusLine").render())
    assert read_tree(world.workspace) == before


def test_folder_levels():
    assert folder_levels(["a/b/c.py"]) == [["a/b/c.py"], ["a/b"], ["a"]]
    assert folder_levels(["src/new.py", "src/old.py"]) == [["src/new.py", "src/old.py"], ["src"]]
    assert folder_levels(["a/x/1", "a/y/2"]) == [["a/x/1", "a/y/2"], ["a"]]
    assert folder_levels(["top.txt"]) == [["top.txt"]]


# -- operation log ------------------------------------------------------------------------
def ops(screen: LogScreen) -> list[str]:
    return [e["operation"] for e in screen.entries]


async def test_log_newest_first_and_text_filter(world, pilot_at):
    async with pilot_at("log") as (pilot, log):
        app = pilot.app
        ats = [e["at"] for e in log.entries]
        assert ats == sorted(ats, reverse=True) and len(log.entries) == 9
        await pilot.press("slash")
        box = log.query_one("#log-filter", Input)
        assert box.has_focus
        await pilot.press(*"RENAME")  # case does not matter
        await settle(pilot)
        assert [e["details"]["checkpoint"] for e in log.entries] == [world.checkpoints[1]]
        await pilot.press("escape")  # clears the filter, back to the list
        await settle(pilot)
        assert box.value == "" and len(log.entries) == 9 and log.query_one("#log", DataTable).has_focus
        await pilot.press("slash", *"project:web-app", "enter")  # a project by name
        await settle(pilot)
        assert ops(log) == ["project.pin", "project.create"] and {e["project_id"] for e in log.entries} == {world.web}
        assert log.query_one("#log", DataTable).has_focus
        await pilot.press("slash", *"x")  # no such project (yet): said in the status line, no toast
        await settle(pilot)
        assert log.entries == [] and "project" in str(log.query_one("StatusLine").render())
        assert not any("web-appx" in m for m in messages(app))


async def test_log_operation_filter(world, pilot_at):
    async with pilot_at("log") as (pilot, log):
        select = log.query_one("#log-op", Select)
        values = [value for _label, value in select._options if isinstance(value, str)]
        assert "checkpoint." in values and "session.start" in values
        await pilot.press("o")
        assert select.expanded
        await pilot.press("escape")
        select.value = "checkpoint."
        await settle(pilot)
        assert ops(log) == ["checkpoint.create"] * 3
        select.value = "session.start"
        await settle(pilot)
        assert ops(log) == ["session.start"]
        # with text too: both apply
        await pilot.press("slash", *"nothing-matches")
        await settle(pilot)
        assert log.entries == []


async def test_log_from_a_project_is_scoped_and_can_widen(world, pilot_at):
    async with pilot_at("projects") as (pilot, _screen):
        app = pilot.app
        await pilot.press("down", "enter")  # web-app
        await settle(pilot)
        await pilot.press("L")  # the operation log (l: container logs)
        await settle(pilot)
        log = app.screen
        assert isinstance(log, LogScreen)
        assert {e["project_id"] for e in log.entries} == {world.web}
        box = log.query_one("#log-filter", Input)
        assert box.value.startswith(f"project:{world.web}")
        box.value = ""  # the token removed: every project
        await settle(pilot)
        assert len(log.entries) == 9


async def test_log_details_as_json(world, pilot_at):
    async with pilot_at("log") as (pilot, log):
        app = pilot.app
        await pilot.press("enter")  # the newest entry
        await settle(pilot)
        out = app.screen
        assert isinstance(out, OutputScreen)
        entry = json.loads(out.output)
        assert entry["operation"] == "checkpoint.create" and entry["details"]["checkpoint"] == world.checkpoints[2]
        assert list(entry)[:3] == ["id", "at", "operation"] and list(entry)[-1] == "details"
        await pilot.press("enter")  # closes
        await settle(pilot)
        assert app.screen is log


def test_log_query_parsing():
    assert Query.parse("  rename  util ", None) == Query("rename util", None, None)
    assert Query.parse("project:demo build", "checkpoint.") == Query("build", "demo", "checkpoint.")
    assert Query.parse("P:web", None, default_project="demo") == Query("", "web", None)
    assert Query.parse("", None, default_project="demo").project == "demo"


# -- settings -----------------------------------------------------------------------------
async def go_to(pilot, screen: SettingsScreen, section: str, key: str) -> None:
    screen.query_one("#settings", DataTable).move_cursor(row=screen.rows.index((section, key)), animate=False)
    await pilot.pause()


async def test_settings_lists_every_setting_with_source(world, pilot_at):
    async with pilot_at("settings") as (pilot, screen):
        app = pilot.app
        keys = [(s, k) for s, k in screen.rows if k]
        assert keys == [(s, k) for s, settings in cfg.SCHEMA.items() for k in settings]
        assert screen.source("data", "dir") == "option" and screen.source("docker", "image") == "default"
        await go_to(pilot, screen, "docker", "memory")
        doc = str(screen.query_one("#settings-doc").render())
        assert "Memory limit per container" in doc and "default 1g" in doc
        await pilot.press("comma")  # already here: nothing new
        assert app.screen is screen


async def test_settings_edit_validates_and_saves(world, pilot_at, config_path):
    async with pilot_at("settings") as (pilot, screen):
        app = pilot.app
        await go_to(pilot, screen, "docker", "memory")
        await pilot.press("enter")
        await settle(pilot)
        edit = app.screen
        assert isinstance(edit, SettingEditScreen)
        field = edit.query_one("#setting-input", Input)
        assert field.value == "1g"
        field.value = "lots"
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is edit  # refused, with the config module's own message
        assert "[docker] memory: expected a size" in str(edit.query_one("#setting-error").render())
        field.value = "2g"
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is screen and screen.source("docker", "memory") == "edited"
        await go_to(pilot, screen, "cleanup", "enabled")
        await pilot.press("enter")  # a true/false setting flips in place
        assert screen.effective("cleanup", "enabled") is True
        assert not config_path.exists()
        await pilot.press("ctrl+s")
        await settle(pilot)
        confirm = app.screen
        assert isinstance(confirm, ConfirmScreen)
        assert str(config_path) in confirm.title_text
        body = str(confirm.query_one("#confirm-body").render())
        assert "[docker] memory = 2g" in body and "[cleanup] enabled = true" in body and "created" in body
        await pilot.press("y")
        await settle(pilot)
        assert app.screen is screen and not screen.edits
        assert screen.source("docker", "memory") == "file"
    saved = cfg.load(config_path, environ={})
    assert saved.values["docker"]["memory"] == 2 * 1024**3 and saved.values["cleanup"]["enabled"] is True
    assert config_path.read_text() == '[docker]\nmemory = "2g"\n\n[cleanup]\nenabled = true\n'
    assert world.vm.config.values["docker"]["memory"] == 2 * 1024**3  # the running app has it too


async def test_settings_save_keeps_keymap_and_names_lost_comments(make_vm, config_path, monkeypatch):
    from .world import build_world

    text = '# my settings\n[docker]\nimage = "alpine"\n\n[keymap]\n"diff.next" = "x"\n'
    world = build_world(make_vm(config_text=text), monkeypatch)
    async with run_app(world.vm) as pilot:
        app = pilot.app
        screen = await go(pilot, "settings", world)
        await go_to(pilot, screen, "docker", "image")
        assert screen.source("docker", "image") == "file"
        await pilot.press("d")  # back to the default: the key leaves the file
        await go_to(pilot, screen, "store", "compression_level")
        await pilot.press("enter")
        await settle(pilot)
        app.screen.query_one("#setting-input", Input).value = "5"
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        body = str(app.screen.query_one("#confirm-body").render())
        assert "[docker] image back to the default" in body and "1 comment line" in body and "lost" in body
        await pilot.press("y")
        await settle(pilot)
    assert config_path.read_text() == '[store]\ncompression_level = 5\n\n[keymap]\n"diff.next" = "x"\n'


async def test_settings_theme_picker_applies_live(world, pilot_at):
    async with pilot_at("settings") as (pilot, screen):
        app = pilot.app
        assert app.theme == "textual-dark"
        await pilot.press("t")
        await settle(pilot)
        assert isinstance(app.screen, ThemeScreen)
        await pilot.press("down")  # textual-dark -> textual-light: applied at once
        assert app.theme == "textual-light"
        await pilot.press("escape")  # and taken back
        await settle(pilot)
        assert app.theme == "textual-dark" and not screen.edits
        await pilot.press("t")
        await settle(pilot)
        app.screen.query_one("#theme-list").highlighted = sorted(app.available_themes).index("nord")
        await pilot.press("enter")
        await settle(pilot)
        assert app.theme == "nord" and screen.edits[("ui", "theme")] == ("nord", "nord")
        assert screen.selected() == ("ui", "theme")


async def test_settings_leave_with_unsaved_changes_asks(world, pilot_at, config_path):
    async with pilot_at("settings") as (pilot, screen):
        app = pilot.app
        await go_to(pilot, screen, "cleanup", "enabled")
        await pilot.press("enter", "t")
        await settle(pilot)
        app.screen.query_one("#theme-list").highlighted = sorted(app.available_themes).index("nord")
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        confirm = app.screen
        assert isinstance(confirm, ConfirmScreen) and "Discard 2 unsaved changes?" == confirm.title_text
        assert "[cleanup] enabled = true" in str(confirm.query_one("#confirm-body").render())
        await pilot.press("n")  # stay
        await settle(pilot)
        assert app.screen is screen and len(screen.edits) == 2
        await pilot.press("escape", "y")
        await settle(pilot)
        assert isinstance(app.screen, ProjectsScreen)
        assert app.theme == "textual-dark"  # the picked theme goes with the discarded edits
    assert not config_path.exists()


async def test_settings_read_only_is_view_only(world, pilot_at, config_path):
    async with pilot_at("settings", read_only=True) as (pilot, screen):
        app = pilot.app
        for action in ("edit", "theme", "reset", "save"):
            assert screen.check_action(action, ()) is False
        await go_to(pilot, screen, "cleanup", "enabled")
        await pilot.press("enter", "t", "d", "ctrl+s")
        await settle(pilot)
        assert app.screen is screen and not screen.edits
        assert sum("read-only" in m for m in messages(app)) >= 3
        screen.action_save()  # reached another way: still refused
        screen.action_edit()
        await settle(pilot)
        assert app.screen is screen and not screen.edits
        assert "view only" in str(screen.query_one("StatusLine").render())
    assert not config_path.exists()


# -- keymap, help, palette ----------------------------------------------------------------------
async def test_keymap_override_of_new_keys(world, pilot_at):
    world.vm.config.keymap = {"diff.side": "v", "app.settings": "f2", "log.details": "i"}
    async with pilot_at("diff") as (pilot, diff):
        app = pilot.app
        await pilot.press("s")  # no longer bound
        assert not diff.side
        await pilot.press("v")
        assert diff.side
        await pilot.press("question_mark")
        await settle(pilot)
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        table = help_screen.query_one("#help-table", DataTable)
        rows = {str(table.get_row_at(i)[2]): str(table.get_row_at(i)[0]) for i in range(table.row_count)}
        assert rows["diff.side"] == "v" and rows["diff.restore"] == "R" and rows["app.settings"] == "f2"
        await pilot.press("escape")
        await pilot.press("comma")  # the old key does nothing now
        await settle(pilot)
        assert app.screen is diff
        await pilot.press("f2")
        await settle(pilot)
        assert isinstance(app.screen, SettingsScreen)
        await pilot.press("escape", "escape", "escape")
        await settle(pilot)
        await pilot.press("L")
        await settle(pilot)
        log = app.screen
        assert isinstance(log, LogScreen)
        await pilot.press("i")
        await settle(pilot)
        assert isinstance(app.screen, OutputScreen)


@pytest.mark.parametrize("read_only", [False, True], ids=["read-write", "read-only"])
async def test_palette_lists_the_new_actions(world, pilot_at, read_only):
    from vmuser_tui.tui.commands import VmuserCommands

    async with pilot_at("diff", read_only=read_only) as (pilot, diff):
        app = pilot.app
        texts = [text for text, _help, _cmd in VmuserCommands(diff)._commands()]
        assert "Diff: Side by side / unified" in texts and "Diff: Next hunk (at the last: the next file)" in texts
        assert ("Diff: Restore this path (or its folder) from the older checkpoint" in texts) is not read_only
        assert "vmuser: Settings and theme" in texts
        command = next(cmd for text, _h, cmd in VmuserCommands(diff)._commands()
                       if text == "Diff: Side by side / unified")
        await command()
        assert diff.side
        settings = next(cmd for text, _h, cmd in VmuserCommands(diff)._commands()
                        if text == "vmuser: Settings and theme")
        await settings()
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SettingsScreen)
        texts = [text for text, _help, _cmd in VmuserCommands(screen)._commands()]
        assert ("Settings: Save" in texts) is not read_only and ("Settings: Theme" in texts) is not read_only
