"""Changed files on the left, the selected file's diff on the right: unified or side by
side, coloured by the file's syntax, with hunk jumps and a restore of one path."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import DataTable, Footer, Header, Static

from vmuser_tui.core.text import printable
from vmuser_tui.tui.flows import restore as restore_flow
from vmuser_tui.tui.screens.base import VmuserScreen
from vmuser_tui.tui.styles import css
from vmuser_tui.tui.widgets import diffview
from vmuser_tui.tui.widgets.cells import (
    STATUS_WORD,
    change_status,
    clip_left,
    counts_cell,
    human_size,
)
from vmuser_tui.tui.widgets.patchview import PatchView
from vmuser_tui.tui.widgets.status import StatusLine
from vmuser_tui.tui.widgets.tables import refill
from vmuser_tui.tui.widgets.taskbar import TaskBar

#: Lines of a patch drawn; the rest is summarized (a log of millions of lines would stall).
MAX_PATCH_LINES = 5000
#: Lines drawn when a large diff is rendered anyway.
RENDER_ANYWAY_LINES = 50_000
#: More changed lines than this: the diff is summarized until asked for (diff.render).
LARGE_DIFF_LINES = 2000


def side_name(ref: str | None) -> str:
    return ref if ref else "workspace"


def sizes(change) -> str:
    """``'12.3 KiB → 14.1 KiB'`` (``-`` for a side without the file)."""
    old, new = change.old, change.new
    return f"{human_size(old.size) if old else '-'} → {human_size(new.size) if new else '-'}"


def describe_change(change) -> Text:
    """The heading of one change: status word, path, kinds and modes where they matter."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"{STATUS_WORD.get(change.status, change.status)} ", style="bold")
    label = change.label()  # core's one formatter; the new path (its end) in bold
    new = len(printable(change.path))
    text.append(label[:-new])
    text.append(label[-new:], style="bold")
    old, new = change.old, change.new
    facts = []
    if change.status == "T" and old and new:
        facts.append(f"{old.kind} → {new.kind}")
    if old and new and old.mode != new.mode:
        facts.append(f"mode {old.mode:o} → {new.mode:o}")
    if facts:
        text.append("  (" + "; ".join(facts) + ")", style="dim")
    return text


def restore_paths(change) -> list[str]:
    """What restoring one change from the older side touches: its path, and for a rename
    the old name too (so the file is renamed back, not only deleted)."""
    return [change.path] + ([change.old_path] if change.old_path and change.old_path != change.path else [])


class DiffScreen(VmuserScreen):
    """Diff checkpoint ``from_id`` against ``to_id`` (None: the live workspace). Loads the
    change list in a worker, then each file's diff (parsed and coloured) in a worker as
    the cursor moves; toggling the view or resizing only redraws."""

    HELP_NAME = "diff"
    CSS_PATH = css("diff")
    WRITE_ACTIONS = frozenset({"restore_path"})
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="diff.back"),
        # footer labels are short (80 columns); help and the palette show the tooltip
        Binding("n", "next", "Next", tooltip="Next file", id="diff.next"),
        Binding("p", "prev", "Prev", tooltip="Previous file", id="diff.prev"),
        Binding("right_square_bracket", "next_hunk", "Hunk", key_display="]",
                tooltip="Next hunk (at the last: the next file)", id="diff.next_hunk"),
        Binding("left_square_bracket", "prev_hunk", "Prev hunk", key_display="[", show=False,
                tooltip="Previous hunk (at the first: the previous file)", id="diff.prev_hunk"),
        Binding("s", "side", "Split", tooltip="Side by side / unified", id="diff.side"),
        Binding("z", "zoom", "Zoom", tooltip="Zoom: the diff full width", id="diff.zoom"),
        Binding("R", "restore_path", "Restore", tooltip="Restore this path (or its folder) from the older checkpoint",
                id="diff.restore"),
        Binding("L", "render", "Render a large diff anyway", show=False, id="diff.render"),
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
        self.side = False  # side-by-side view (diff.side)
        self.forced: set[str] = set()  # paths whose large diff the user asked to see (diff.render)
        self.shown: tuple[Any, str, Any] | None = None  # (change, kind, patch) on display, redrawn on toggle and resize
        self.hunk_rows: list[int] = []  # the log line of each hunk's header
        self.hunk_index: int | None = None  # the hunk the last jump went to
        self._pending_hunk: str | None = None  # "first"/"last": jump once the next file is drawn
        self._fit_note = False  # side by side asked for but too narrow: unified with a note

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="diff-summary", classes="nowrap")
        with Horizontal(id="diff-panes"):
            yield DataTable(id="changes", cursor_type="row")
            yield PatchView(id="patch")
        yield TaskBar()
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
        self.watch(self.app, "theme", self._theme_changed, init=False)

    def _theme_changed(self, _theme: str) -> None:
        """Syntax colours and line bands follow the theme: colour the shown file again."""
        change = self.selected_change()
        if change is not None and self.shown is not None:
            self.show_change(self.changes.index(change))

    RELOAD_ON_RESUME = False  # loaded once: back from help or a dialog, the view stays as it was

    @property
    def restore_source(self) -> str | None:
        """The checkpoint a path is restored from: the older side (``from_id``), or the
        checkpoint when this diff compares the workspace with one."""
        return self.from_id or self.to_id

    def reload(self) -> None:
        self.loaded = True
        self.query_one("#diff-panes").loading = True
        from_id, to_id = self.from_id, self.to_id

        def fn():
            if from_id is None:  # workspace -> checkpoint: what a restore would change
                assert to_id is not None, "the workspace is diffed against a checkpoint"
                return self.vm.restores.preview(to_id)
            return self.vm.checkpoints.diff(from_id, to_id)

        self.run_blocking(fn, self._loaded, failed=self._failed)

    def _failed(self, err) -> None:
        self.query_one("#diff-panes").loading = False
        self.query_one("#diff-summary", Static).update(Text(f"cannot diff: {err}", style="bold red"))
        self.show_error(err)

    def _loaded(self, result) -> None:
        self.query_one("#diff-panes").loading = False
        table = self.query_one("#changes", DataTable)
        keep = self.selected_change()
        self.result = result
        self.changes = list(result.changes)
        self._fill_table()
        adds = sum(c.additions for c in self.changes)
        dels = sum(c.deletions for c in self.changes)
        summary = Text(no_wrap=True, overflow="ellipsis")
        summary.append(f"{side_name(result.from_id)} → {side_name(result.to_id)}", style="bold")
        summary.append(f" · {len(self.changes)} file{'s' if len(self.changes) != 1 else ''} changed · ")
        summary.append(f"+{adds}", style="green")
        summary.append(" ")
        summary.append(f"-{dels}", style="red")
        self.query_one("#diff-summary", Static).update(summary)
        self._hint()
        patch = self.query_one("#patch", PatchView)
        self.shown = None
        patch.clear()
        if not self.changes:
            patch.set_rows(1, lambda _index: Text("No differences.", style="dim"), self._patch_width())
        else:
            paths = [c.path for c in self.changes]
            row = paths.index(keep.path) if keep is not None and keep.path in paths else 0
            table.move_cursor(row=row, animate=False)
            self.show_change(row)

    def _fill_table(self) -> None:
        """The change list, paths cut from the left to what the list's width leaves."""
        table = self.query_one("#changes", DataTable)
        row = table.cursor_row
        counts = [counts_cell(c.additions, c.deletions, binary=c.binary, large=c.large) for c in self.changes]
        widest = max((c.cell_len for c in counts), default=1)
        # what is left for the path: status (1) and counts columns, 2 cells of padding each, scrollbar
        width = max(12, (table.size.width or 32) - 1 - widest - 6 - 1)
        refill(table, (([change_status(change.status), Text(clip_left(change.path, width)), count], None)
                       for change, count in zip(self.changes, counts, strict=True)))
        if self.changes and row:
            table.move_cursor(row=min(row, len(self.changes) - 1), animate=False)

    def _hint(self) -> None:
        k = self.key
        parts = [f"{k('diff.next', 'n')}/{k('diff.prev', 'p')}: file",
                 f"{k('diff.next_hunk', ']')}/{k('diff.prev_hunk', '[')}: hunk",
                 f"{k('diff.side', 's')}: {'unified' if self.side else 'side by side'}"]
        if self.hunk_rows and self.hunk_index is not None:
            parts.insert(0, f"hunk {self.hunk_index + 1}/{len(self.hunk_rows)}")
        if not self.vapp.read_only:
            parts.append(f"{k('diff.restore', 'R')}: restore path")
        self.query_one(StatusLine).message = " · ".join(parts)

    def selected_change(self):
        """The change under the cursor of the change list, or None."""
        if not self.changes:
            return None
        row = self.query_one("#changes", DataTable).cursor_row
        return self.changes[row] if 0 <= row < len(self.changes) else None

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "changes" and self.changes:
            self.show_change(event.cursor_row)

    def show_change(self, index: int) -> None:
        """Fetch, parse and colour the diff of ``changes[index]`` in a worker, then draw it."""
        if not (0 <= index < len(self.changes)) or self.result is None:
            return
        change = self.changes[index]
        result = self.result
        dark = self._dark()
        forced = change.path in self.forced

        def fetch() -> tuple[str, object]:
            if change.binary:
                return "binary", None
            if change.large:
                return "large", None
            if not any(e is not None and e.kind == "file" for e in (change.old, change.new)):
                return "kind", None
            if change.old and change.new and change.old.hash == change.new.hash:
                return "same", None  # renamed or mode changed, same content
            if change.additions + change.deletions > LARGE_DIFF_LINES and not forced:
                return "many", None
            text = self.vm.checkpoints.file_diff(result, change)
            if not text.strip():
                return "same", None
            limit = RENDER_ANYWAY_LINES if forced else MAX_PATCH_LINES
            return "patch", diffview.build(text, change.path, dark, limit=limit)

        # every selection goes through the same worker group, so a slow older diff
        # can never overwrite a newer selection
        self.run_blocking(fetch, lambda shown: self._show_patch(change, *shown), group="patch")

    def _show_patch(self, change, kind: str, patch_data) -> None:
        self.shown = (change, kind, patch_data)
        self.hunk_index = None
        self._draw()
        pending, self._pending_hunk = self._pending_hunk, None
        if pending and self.hunk_rows:
            self._jump(0 if pending == "first" else len(self.hunk_rows) - 1)
        self._hint()

    def _patch_width(self) -> int:
        """Columns a row of the patch has (the vertical scrollbar is always there, so a
        band never makes a horizontal scrollbar appear)."""
        return max(20, self.query_one("#patch", PatchView).scrollable_content_region.width)

    def _draw(self) -> None:
        """Draw :attr:`shown` in the current view and width: a list of row descriptions,
        each made into Text only when it scrolls into view (no reading, no colouring)."""
        patch = self.query_one("#patch", PatchView)
        self.hunk_rows = []
        self._fit_note = False
        if self.shown is None:
            patch.clear()
            return
        change, kind, data = self.shown
        width = pane = self._patch_width()
        dark = self._dark()
        rows: list = []  # Text (one line), or a Hunk, Line or side-by-side pair

        def say(text: Text) -> None:
            """A heading or note: wrapped to the pane, a row per line."""
            rows.extend(text.wrap(self.app.console, pane, overflow="fold"))

        say(describe_change(change))
        if kind == "binary":
            say(Text(f"Binary file, {sizes(change)}: not rendered.", style="italic"))
        elif kind == "large":
            say(Text(f"Large file, {sizes(change)}: over 2 MiB a side, not diffed.", style="italic"))
        elif kind == "many":
            total = change.additions + change.deletions
            say(Text(f"Large diff: {total:,} lines changed (+{change.additions:,} -{change.deletions:,}), "
                     f"not rendered. {self.key('diff.render', 'L')} renders it anyway.", style="italic"))
        elif kind == "kind":
            entry = change.new or change.old
            say(Text({"symlink": "symbolic link", "dir": "empty directory"}.get(entry.kind, entry.kind),
                     style="italic"))
        elif kind == "same":
            say(Text("Content unchanged." if change.status in ("R", "T") or change.mode_changed
                     else "No text difference.", style="italic"))
        else:
            side = self.side and diffview.side_fits(width, data.hunks)
            if self.side and not side:
                self._fit_note = True
                say(Text(f"Side by side needs {diffview.side_min_width(data.hunks)} columns: "
                         f"{self.key('diff.zoom', 'z')} zooms", style="dim italic"))
            for note in data.notes:
                say(Text(note, style="italic"))
            for hunk in data.hunks:
                self.hunk_rows.append(len(rows))
                rows.append(hunk)
                rows.extend(diffview.side_pairs(hunk) if side else hunk.lines)
            if data.omitted:
                more = (f"; {self.key('diff.render', 'L')} renders up to {RENDER_ANYWAY_LINES:,}"
                        if change.path not in self.forced else "")
                say(Text(f"… {data.omitted:,} more lines not shown{more}", style="dim"))
            if not side:
                width = max(width, data.widest)  # code keeps long lines whole: the pane scrolls sideways
        num_w = diffview.number_width(data.hunks) if kind == "patch" else 3

        def make(index: int) -> Text:
            item = rows[index]
            if isinstance(item, Text):
                return item
            if isinstance(item, diffview.Hunk):
                return diffview.header_row(item, width)
            if isinstance(item, diffview.Line):
                return diffview.unified_row(item, width, dark)
            return diffview.side_row(item, width, dark, num_w=num_w)

        patch.set_rows(len(rows), make, width)

    def _dark(self) -> bool:
        return self.app.current_theme.dark

    def on_patch_view_resized(self, event: PatchView.Resized) -> None:
        self._relayout()

    def _relayout(self) -> None:
        """After the patch pane changed width: redraw the patch (bands, side-by-side columns)."""
        if self.shown is not None:
            top = self.query_one("#patch", PatchView).scroll_y
            index = self.hunk_index
            self._draw()
            self.hunk_index = index
            self.query_one("#patch", PatchView).scroll_to(y=top, animate=False)

    # -- moving ---------------------------------------------------------------------
    def _move(self, delta: int) -> bool:
        if not self.changes:
            return False
        table = self.query_one("#changes", DataTable)
        row = min(max((table.cursor_row or 0) + delta, 0), len(self.changes) - 1)
        if row == table.cursor_row:
            return False
        table.move_cursor(row=row, animate=False)
        return True

    def action_next(self) -> None:
        self._move(1)

    def action_prev(self) -> None:
        self._move(-1)

    def _hunk_at_top(self) -> int:
        """The hunk the view is at: the one last jumped to while the view stayed there (at
        the end of a short patch the view cannot scroll to it), else the last hunk that
        starts at or above the top line (-1: above the first)."""
        patch = self.query_one("#patch", PatchView)
        y = round(patch.scroll_y)
        index = self.hunk_index
        if index is not None and index < len(self.hunk_rows) and (self.hunk_rows[index] == y
                                                                  or y >= round(patch.max_scroll_y)):
            return index
        return max((i for i, row in enumerate(self.hunk_rows) if row <= y), default=-1)

    def _jump(self, index: int) -> None:
        self.hunk_index = index
        self.query_one("#patch", PatchView).scroll_to(y=self.hunk_rows[index], animate=False)
        self._hint()

    def action_next_hunk(self) -> None:
        """The next hunk of this file, else the first of the next file."""
        here = self._hunk_at_top() if self.hunk_rows else -1
        if here + 1 < len(self.hunk_rows):
            self._jump(here + 1)
        elif self._move(1):
            self._pending_hunk = "first"
        else:
            self.notify("last hunk of the last file", severity="warning", timeout=2)

    def action_prev_hunk(self) -> None:
        """The previous hunk of this file, else the last of the previous file."""
        here = self._hunk_at_top() if self.hunk_rows else 0
        if here - 1 >= 0:
            self._jump(here - 1)
        elif self._move(-1):
            self._pending_hunk = "last"
        else:
            self.notify("first hunk of the first file", severity="warning", timeout=2)

    # -- views ------------------------------------------------------------------------
    def action_side(self) -> None:
        """Toggle unified / side by side (too narrow a pane: unified, with a note)."""
        self.side = not self.side
        self._hint()
        self._relayout()

    def action_zoom(self) -> None:
        table = self.query_one("#changes", DataTable)
        table.display = not table.display
        if not table.display:
            self.query_one("#patch", PatchView).focus()
        else:
            table.focus()

    def action_render(self) -> None:
        """Draw the selected file's large diff after all (up to RENDER_ANYWAY_LINES lines)."""
        change = self.selected_change()
        if change is None:
            return
        if change.binary or change.large:
            self.notify("binary and files over 2 MiB are not diffed; f on the project screen browses them",
                        severity="warning")
            return
        if change.path in self.forced:
            return
        self.forced.add(change.path)
        self.show_change(self.changes.index(change))

    def action_refresh(self) -> None:
        self.reload()

    def action_back(self) -> None:
        self.app.pop_screen()

    # -- restore one path -----------------------------------------------------------------
    def action_restore_path(self) -> None:
        """Restore the selected path (or, in the dialog, its folder) from the older
        checkpoint onto the workspace, after a confirmation that shows what changes."""
        if not self.guard_write("restore"):
            return
        change = self.selected_change()
        source = self.restore_source
        if change is None or source is None:
            self.notify("no changed path selected", severity="warning")
            return
        paths = restore_paths(change)
        self.run_blocking(lambda: self.vm.checkpoints.get(source),
                          lambda cp: restore_flow.restore(self, cp, paths=paths, where=" on the project screen",
                                                          then=self._after_restore),
                          group="restore-confirm")

    def _after_restore(self, _outcome) -> None:
        """After a restore (reported by the flow): a diff that shows the workspace reloads."""
        if self.to_id is None or self.from_id is None:
            self.reload()
