"""Hostile text on the TUI's screens (issue 11, case 12): a project description, a checkpoint
message and file names holding terminal escapes (``ESC [2J``, ``ESC ]0;…BEL``), a newline, a
bidi override or Rich/Textual markup (``[b]``, ``[@click=app.quit]``) are shown as escapes and
literal text on the projects, timeline and files screens: no control character reaches the
terminal, no markup is applied."""

from __future__ import annotations

import re

from textual.widgets import Tree

from vmuser_tui.tui.screens.files import FilesScreen
from vmuser_tui.tui.screens.project import ProjectScreen

from .conftest import run_app, settle

CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
CLEAR = "\x1b[2J"
TITLE = "\x1b]0;pwned\x07"
SIZE = (160, 40)


def screen_text(app) -> str:
    """What the terminal is sent for the screen (and its toasts), as plain text."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def test_hostile_names_are_shown_escaped_and_literal(make_vm):
    vm = make_vm()
    project = vm.projects.create("[b]loud", description=f"desc{TITLE}{CLEAR}[@click=app.quit]q")
    ws = vm.projects.get(project.id).workspace
    import pathlib

    ws = pathlib.Path(ws)
    (ws / "[red]red.txt").write_text("1\n")
    (ws / "evil\u202etxt.exe").write_text("2\n")
    vm.checkpoints.create(project.id, description=f"msg{TITLE}{CLEAR}\nsecond[@click=app.quit]q")
    (ws / f"esc{CLEAR}.txt").write_text("3\n")  # never captured (a control character): live only
    (ws / "line1\nline2").write_text("4\n")
    async with run_app(vm, size=SIZE) as pilot:
        app = pilot.app
        text = screen_text(app)  # the projects screen
        assert not CONTROL.search(text), repr(text)
        assert "[b]loud" in text and "desc\\x1b]0;pwned\\x07\\x1b[2J[@click=app.quit]q" in text
        # a click on the description runs nothing: not where the text is drawn, nor where the
        # link would be, were the markup applied ("q" right after "desc" and its escapes)
        y, line = next((y, line) for y, line in enumerate(text.split("\n")) if "[@click=app.quit]q" in line)
        x, home = line.index("[@click=app.quit]q"), app.screen
        for column in (x, x + len("[@click=app.quit]")):
            await pilot.click(offset=(column, y))
            await settle(pilot)
            assert app.is_running and app.screen is home, column

        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ProjectScreen)
        text = screen_text(app)  # the timeline
        assert not CONTROL.search(text), repr(text)
        assert "msg\\x1b]0;pwned\\x07\\x1b[2J\\nsecond[@click=app.quit]q" in text

        await pilot.press("f")
        await settle(pilot)
        files = app.screen
        assert isinstance(files, FilesScreen)
        text = screen_text(app)  # the checkpoint's files
        assert not CONTROL.search(text), repr(text)
        assert "[red]red.txt" in text and "evil\\u202etxt.exe" in text
        await pilot.press("w")  # the live workspace
        await settle(pilot)
        text = screen_text(app)
        assert not CONTROL.search(text), repr(text)
        assert "esc\\x1b[2J.txt" in text and "line1\\nline2" in text and "[red]red.txt" in text
        labels = [str(n.label) for n in files.query_one("#tree", Tree).root.children]
        assert "[red]red.txt" in labels


async def test_command_output_titles_and_toasts_show_escapes(make_vm):
    """What a container prints (exec output) and messages quoting a name: shown, not obeyed."""
    from vmuser_tui.tui.screens.output import OutputScreen

    vm = make_vm()
    vm.projects.create("plain")
    async with run_app(vm, size=SIZE) as pilot:
        app = pilot.app
        app.notify(f"could not read evil{CLEAR}.txt")
        await settle(pilot)
        # the toast's text as handed to Textual (the toast rack is not drawn under run_test)
        assert [n.message for n in app._notifications] == ["could not read evil\\x1b[2J.txt"]
        app.push_screen(OutputScreen(f"$ cat evil{CLEAR}.txt", f"red \x1b[31mtext\x1b[0m\tand a tab\r\nbell{TITLE}\n",
                                     exit_code=0))
        await settle(pilot)
        text = screen_text(app)
        assert not CONTROL.search(text), repr(text)
        assert "$ cat evil\\x1b[2J.txt" in text
        assert "red \\x1b[31mtext\\x1b[0m" in text and "\\r" in text and "bell\\x1b]0;pwned\\x07" in text
