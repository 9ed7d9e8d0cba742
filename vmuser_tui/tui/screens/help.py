"""Every key of the screen below it, with the binding ids a ``[keymap]`` can remap."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Label, Static

from vmuser_tui.tui.screens.base import VmuserModal, describe_bindings
from vmuser_tui.tui.styles import css

COMMON = (
    ("tab ⇧tab", "Move focus between panes"),
    ("↑↓ PgUp/Dn", "Move in lists"),
    ("^p", "Command palette: search every action"),
)


class HelpScreen(VmuserModal[None]):
    """Lists the bindings of ``target`` (a screen) and of the app, as remapped."""

    CSS_PATH = css("help")
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,question_mark,q", "close", "Close", id="help.close")]

    def __init__(self, target: Screen) -> None:
        super().__init__()
        self.target = target

    def compose(self) -> ComposeResult:
        name = getattr(self.target, "HELP_NAME", type(self.target).__name__)
        with Vertical(id="dialog", classes="dialog"):
            yield Label(Text(f"Keys: {name}"), id="dialog-title")
            yield DataTable(id="help-table", cursor_type="row", zebra_stripes=True, show_header=True)
            yield Static(Text("Remap a key in config.toml: [keymap] \"<id>\" = \"<key>\"   Esc: close"),
                         classes="dialog-hint")

    def on_mount(self) -> None:
        table = self.query_one("#help-table", DataTable)
        table.add_column("Key", key="key", width=10)
        table.add_column("Action", key="action", width=36)
        table.add_column("Id", key="id", width=22)
        for keys, desc, ident, allowed in describe_bindings(self.target, self.app):
            style = "" if allowed else "dim strike"
            note = "" if allowed else " (read-only)"
            table.add_row(Text(keys, style="bold " + style if allowed else style), Text(desc + note, style=style),
                          Text(ident, style="dim"))
        for keys, desc, ident, _allowed in describe_bindings(self.app, self.app):
            table.add_row(Text(keys, style="bold"), desc, Text(ident, style="dim"))
        for keys, desc in COMMON:
            table.add_row(Text(keys, style="bold"), desc, "")
        table.focus()

    def action_close(self) -> None:
        self.dismiss(None)
