"""The operation log: who did what, when (newest first), for all projects or one."""

from __future__ import annotations

import json
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Header, Static

from vmuser_tui.tui.screens.base import VmuserScreen
from vmuser_tui.tui.styles import css
from vmuser_tui.tui.widgets.cells import ago
from vmuser_tui.tui.widgets.status import StatusLine
from vmuser_tui.tui.widgets.tables import TIME_WIDTH, Fit, refill

LIMIT = 500


def detail_text(details: dict) -> str:
    parts = []
    for key, value in details.items():
        if value in (None, "", [], {}):
            continue
        if isinstance(value, (list, dict)):
            value = json.dumps(value, separators=(",", ":"))
        parts.append(f"{key}={value}")
    return " ".join(parts)


class LogScreen(VmuserScreen):
    """Newest operation-log entries (``vm.log``); Enter shows one entry in full."""

    HELP_NAME = "operation log"
    AUTO_RELOAD = True
    CSS_PATH = css("log")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="log.back"),
        Binding("ctrl+r", "refresh", "Refresh", id="log.refresh"),
    ]

    def __init__(self, project_id: str | None) -> None:
        super().__init__()
        self.project_id = project_id
        self.entries: list[dict] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(id="log", cursor_type="row", zebra_stripes=True)
        yield Static("", id="log-detail")
        yield StatusLine()
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.sub_title = f"log · {self.project_id}" if self.project_id else "log · all projects"
        table = self.query_one("#log", DataTable)
        for label, key in (("When", "when"), ("Operation", "op"), ("Project", "project"), ("Details", "details")):
            table.add_column(label, key=key)
        table.focus()

    def reload(self) -> None:
        self.run_blocking(lambda: self.vm.log(project=self.project_id, limit=LIMIT), self._loaded)

    def _loaded(self, entries: list[dict]) -> None:
        self.entries = entries
        table = self.query_one("#log", DataTable)
        row = table.cursor_row
        refill(table, (([ago(e.get("at")), Text(e.get("operation", ""), style="bold"), Text(e.get("project_id") or "-"),
                         Fit.text(detail_text(e.get("details") or {}), cap=60)], str(i))
                       for i, e in enumerate(entries)), width=self.size.width or None, minimum={"when": TIME_WIDTH})
        if row and row < len(entries):
            table.move_cursor(row=row, animate=False)
        self.query_one(StatusLine).message = f"{len(entries)} newest entries"

    def refresh_times(self) -> None:
        table = self.query_one("#log", DataTable)
        for i, e in enumerate(self.entries):
            table.update_cell(str(i), "when", ago(e.get("at")))

    def on_resize(self) -> None:
        if self.entries:
            self._loaded(self.entries)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if 0 <= event.cursor_row < len(self.entries):
            e = self.entries[event.cursor_row]
            self.query_one("#log-detail", Static).update(Text.assemble(
                (f"{e.get('at')} {e.get('actor')} pid {e.get('pid')}\n", "dim"),
                detail_text(e.get("details") or {})))

    def action_refresh(self) -> None:
        self.reload()

    def action_back(self) -> None:
        self.app.pop_screen()
