"""Pick what the files screen browses: the live workspace or one of the project's
checkpoints (a dialog over the files screen)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Label, Static

from vmuser_tui.core.models import Checkpoint
from vmuser_tui.tui.screens.base import VmuserModal
from vmuser_tui.tui.styles import css
from vmuser_tui.tui.widgets.cells import clip, human_size, short_time
from vmuser_tui.tui.widgets.lazytable import Column, LazyTable, text_width


class CheckpointPicker(VmuserModal["str | None"]):
    """Pick what the files screen browses: the live workspace (dismisses with ``""``) or a
    checkpoint (its id), newest first; None when cancelled."""

    CSS_PATH = css("files")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="pick.cancel"),
    ]

    def __init__(self, project_id: str, current: str | None) -> None:
        super().__init__()
        self.project_id = project_id
        self.current = current
        self.items: list[Checkpoint | None] = [None]  # None: the live workspace

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Label("Browse which files?", id="dialog-title")
            yield LazyTable(self._columns(), self._cells, lambda c: c.id if c else "", id="pick-table")
            yield Static(Text("Enter: browse it   Esc: cancel   (● what is shown now)"), classes="dialog-hint")

    def on_mount(self) -> None:
        table = self.query_one("#pick-table", LazyTable)
        table.set_rows(self.items)
        table.focus()
        self.run_blocking(lambda: self.vm.checkpoints.list(self.project_id), self._loaded)

    def _columns(self) -> list[Column]:
        checkpoints = [c for c in self.items if c is not None]
        return [
            Column("mark", "", 1),
            Column("id", "Checkpoint", text_width((c.id for c in checkpoints), floor=len("live workspace"))),
            Column("when", "When", 11),
            Column("size", "Size", text_width({human_size(c.total_size) for c in checkpoints}, floor=4)),
            Column("what", "Description", text_width((c.description or c.kind for c in checkpoints), floor=11,
                                                     cap=200), flex=True),
        ]

    def _cells(self, cp: Checkpoint | None, widths: dict[str, int]) -> list:
        here = (cp.id if cp else None) == self.current
        mark = Text("●" if here else " ", style="bold green")
        if cp is None:
            return [mark, Text("live workspace", style="bold"), "now", "", Text("the files as they are", style="dim")]
        what = Text(clip(cp.description, widths["what"])) if cp.description else Text(cp.kind, style="dim")
        return [mark, cp.id, short_time(cp.created_at), human_size(cp.total_size), what]

    def _loaded(self, checkpoints: list[Checkpoint]) -> None:
        self.items = [None, *checkpoints]
        table = self.query_one("#pick-table", LazyTable)
        table.set_columns(self._columns())
        table.set_rows(self.items, cursor_key=self.current or "")

    def on_lazy_table_row_selected(self, event: LazyTable.RowSelected) -> None:
        event.stop()
        if 0 <= event.cursor_row < len(self.items):
            cp = self.items[event.cursor_row]
            self.dismiss(cp.id if cp else "")

    def action_cancel(self) -> None:
        self.dismiss(None)
