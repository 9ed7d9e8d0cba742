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
from vmuser_tui.tui.widgets.cells import clip

COMMON = (
    ("tab ⇧tab", "Move focus between panes"),
    ("↑↓ PgUp/Dn", "Move in lists (j/k too)"),
    ("^p", "Command palette: search every action"),
    ("^q", "Quit from any screen"),
)
DIALOG_WIDTH = 76  # .dialog in app.tcss; its border and padding take 4 more


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
        self.fill()
        self.query_one("#help-table", DataTable).focus()

    def on_resize(self) -> None:
        self.fill()

    def fill(self) -> None:
        """The rows, with columns that fit the dialog: Key and Id as wide as their widest
        cell, Action the rest (cut with an ellipsis), so nothing scrolls sideways."""
        table = self.query_one("#help-table", DataTable)
        rows: list[tuple[str, str, str, str]] = []  # keys, action, id, style
        for keys, desc, ident, allowed in describe_bindings(self.target, self.app):
            rows.append((keys, desc if allowed else desc + " (read-only)", ident, "" if allowed else "dim strike"))
        for keys, desc, ident, _allowed in describe_bindings(self.app, self.app):
            rows.append((keys, desc, ident, ""))
        for keys, desc in COMMON:
            rows.append((keys, desc, "", ""))
        inner = min(DIALOG_WIDTH, self.app.size.width or DIALOG_WIDTH) - 4
        padding = 2 * table.cell_padding
        key_w = max(len("Key"), *(len(r[0]) for r in rows))
        id_w = max(len("Id"), *(len(r[2]) for r in rows))
        scrollbar = table.styles.scrollbar_size_vertical
        action_w = max(12, inner - scrollbar - 3 * padding - key_w - id_w)
        row = table.cursor_row
        table.clear(columns=True)
        table.add_column("Key", key="key", width=key_w)
        table.add_column("Action", key="action", width=action_w)
        table.add_column("Id", key="id", width=id_w)
        for keys, desc, ident, style in rows:
            table.add_row(Text(keys, style=style or "bold"), Text(clip(desc, action_w), style=style),
                          Text(ident, style="dim"))
        if row:
            table.move_cursor(row=row, animate=False)

    def action_close(self) -> None:
        self.dismiss(None)
