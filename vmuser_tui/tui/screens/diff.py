"""Changed files on the left, the selected file's unified diff (coloured) on the right."""

from __future__ import annotations

from typing import ClassVar

from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import DataTable, Footer, Header, RichLog, Static

from vmuser_tui.tui.screens.base import VmuserScreen
from vmuser_tui.tui.styles import css
from vmuser_tui.tui.widgets.cells import (
    STATUS_WORD,
    change_status,
    clip_left,
    counts_cell,
    human_size,
)
from vmuser_tui.tui.widgets.status import StatusLine
from vmuser_tui.tui.widgets.tables import refill

MAX_PATCH_LINES = 5000


def side_name(ref: str | None) -> str:
    return ref if ref else "workspace"


def describe_change(change) -> Text:
    """The heading of one change: status word, path, sizes and modes where they matter."""
    text = Text()
    text.append(f"{STATUS_WORD.get(change.status, change.status)} ", style="bold")
    if change.old_path:
        text.append(f"{change.old_path} → ")
    text.append(change.path, style="bold")
    old, new = change.old, change.new
    facts = []
    if change.status == "T" and old and new:
        facts.append(f"{old.kind} → {new.kind}")
    if old and new and old.mode != new.mode:
        facts.append(f"mode {old.mode:o} → {new.mode:o}")
    if change.binary or change.large:
        facts.append(f"{human_size(old.size) if old else '-'} → {human_size(new.size) if new else '-'}")
    if facts:
        text.append("  (" + "; ".join(facts) + ")", style="dim")
    return text


class DiffScreen(VmuserScreen):
    """Diff checkpoint ``from_id`` against ``to_id`` (None: the live workspace). Loads the
    change list in a worker, then each file's text diff in a worker as the cursor moves."""

    HELP_NAME = "diff"
    CSS_PATH = css("diff")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="diff.back"),
        Binding("n", "next", "Next file", id="diff.next"),
        Binding("p", "prev", "Prev file", id="diff.prev"),
        Binding("z", "zoom", "Zoom", id="diff.zoom"),
        Binding("ctrl+r", "refresh", "Refresh", show=False, id="diff.refresh"),
    ]

    def __init__(self, project_id: str, from_id: str | None, to_id: str | None) -> None:
        super().__init__()
        self.project_id = project_id
        self.from_id = from_id
        self.to_id = to_id
        self.result = None
        self.changes: list = []
        self.loaded = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="diff-summary", classes="nowrap")
        with Horizontal(id="diff-panes"):
            yield DataTable(id="changes", cursor_type="row")
            yield RichLog(id="patch", wrap=False, markup=False, highlight=False, auto_scroll=False)
        yield StatusLine()
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.sub_title = f"diff {side_name(self.from_id)} → {side_name(self.to_id)}"
        table = self.query_one("#changes", DataTable)
        table.add_column("", key="status")
        table.add_column("Path", key="path")
        table.add_column("±", key="counts")
        self.query_one("#diff-summary", Static).update(Text(f"{side_name(self.from_id)} → {side_name(self.to_id)}: "
                                                              "computing…", style="dim"))
        table.focus()

    RELOAD_ON_RESUME = False  # loaded once: back from help or a dialog, the view stays as it was

    def reload(self) -> None:
        self.loaded = True
        self.query_one("#diff-panes").loading = True
        if self.from_id is None:  # workspace -> checkpoint: what a restore would change
            fn = lambda: self.vm.checkpoints.restore_preview(self.to_id)
        else:
            fn = lambda: self.vm.checkpoints.diff(self.from_id, self.to_id)
        self.run_blocking(fn, self._loaded, failed=self._failed)

    def _failed(self, err) -> None:
        self.query_one("#diff-panes").loading = False
        self.query_one("#diff-summary", Static).update(Text(f"cannot diff: {err}", style="bold red"))
        self.show_error(err)

    def _loaded(self, result) -> None:
        self.query_one("#diff-panes").loading = False
        self.result = result
        self.changes = list(result.changes)
        table = self.query_one("#changes", DataTable)
        counts = [counts_cell(c.additions, c.deletions, binary=c.binary, large=c.large) for c in self.changes]
        widest = max((c.cell_len for c in counts), default=1)
        # what is left for the path: status (1) and counts columns, 2 cells of padding each, scrollbar
        width = max(12, (table.size.width or 32) - 1 - widest - 6 - 1)
        refill(table, (([change_status(change.status), Text(clip_left(change.path, width)), count], None)
                       for change, count in zip(self.changes, counts)))
        adds = sum(c.additions for c in self.changes)
        dels = sum(c.deletions for c in self.changes)
        summary = Text(no_wrap=True, overflow="ellipsis")
        summary.append(f"{side_name(result.from_id)} → {side_name(result.to_id)}", style="bold")
        summary.append(f" · {len(self.changes)} file{'s' if len(self.changes) != 1 else ''} changed · ")
        summary.append(f"+{adds}", style="green")
        summary.append(" ")
        summary.append(f"-{dels}", style="red")
        self.query_one("#diff-summary", Static).update(summary)
        self.query_one(StatusLine).message = (f"{self.key('diff.next', 'n')}/{self.key('diff.prev', 'p')}: "
                                              f"next/previous file · {self.key('diff.zoom', 'z')}: zoom the diff")
        patch = self.query_one("#patch", RichLog)
        patch.clear()
        if not self.changes:
            patch.write(Text("No differences.", style="dim"))
        else:
            table.move_cursor(row=0, animate=False)
            self.show_change(0)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "changes" and self.changes:
            self.show_change(event.cursor_row)

    def show_change(self, index: int) -> None:
        if not (0 <= index < len(self.changes)) or self.result is None:
            return
        change = self.changes[index]
        result = self.result

        def fetch() -> str | None:
            if change.binary or change.large:
                return None
            if not any(e is not None and e.kind == "file" for e in (change.old, change.new)):
                return None
            if change.old and change.new and change.old.hash == change.new.hash:
                return ""  # renamed or mode changed, same content
            return self.vm.checkpoints.file_diff(result, change)

        # every selection goes through the same worker group, so a slow older diff
        # can never overwrite a newer selection
        self.run_blocking(fetch, lambda text: self._show_patch(change, text), group="patch")

    def _show_patch(self, change, text: str | None) -> None:
        patch = self.query_one("#patch", RichLog)
        patch.clear()
        patch.write(describe_change(change))
        if change.binary:
            patch.write(Text("Binary file: no text diff.", style="italic"))
        elif change.large:
            patch.write(Text("Large file (over 2 MiB a side): not diffed.", style="italic"))
        elif text is None:
            kind = (change.new or change.old).kind
            if kind == "symlink":
                patch.write(Text("symbolic link", style="italic"))
            elif kind == "dir":
                patch.write(Text("empty directory", style="italic"))
        elif not text.strip():
            patch.write(Text("Content unchanged." if change.status in ("R", "T") or change.mode_changed
                             else "No text difference.", style="italic"))
        else:
            lines = text.splitlines()
            if len(lines) > MAX_PATCH_LINES:
                text = "\n".join(lines[:MAX_PATCH_LINES])
            dark = getattr(self.app.current_theme, "dark", True)
            patch.write(Syntax(text, "diff", theme="ansi_dark" if dark else "ansi_light", word_wrap=False,
                               background_color="default"))
            if len(lines) > MAX_PATCH_LINES:
                patch.write(Text(f"… {len(lines) - MAX_PATCH_LINES} more lines not shown", style="dim"))
        patch.scroll_home(animate=False)

    def _move(self, delta: int) -> None:
        if not self.changes:
            return
        table = self.query_one("#changes", DataTable)
        row = min(max((table.cursor_row or 0) + delta, 0), len(self.changes) - 1)
        table.move_cursor(row=row, animate=False)

    def action_next(self) -> None:
        self._move(1)

    def action_prev(self) -> None:
        self._move(-1)

    def action_zoom(self) -> None:
        table = self.query_one("#changes", DataTable)
        table.display = not table.display
        if not table.display:
            self.query_one("#patch", RichLog).focus()
        else:
            table.focus()

    def action_refresh(self) -> None:
        self.reload()

    def action_back(self) -> None:
        self.app.pop_screen()
