"""A row-cursor table over a list of items that renders only the rows on screen.

Textual's DataTable keeps every row as cells and measures each cell as it is added:
filling it with 10,000 checkpoints took 1.7 s (1,000 took 0.3 s) before the first
frame. :class:`LazyTable` keeps the items themselves and a function that makes one
row's cells; a row is rendered when it is drawn (Textual's Line API, as toolong does
for huge logs) and cached until the rows, the widths or the styles change. Filling it
costs nothing per row, a frame costs the rows on screen.

Columns get their widths from the caller, who can compute them from the data without
rendering it (string lengths), so the first frame is right (no widths settled on idle).
At most one column is flexible: it gets what the others leave, up to its natural width.

It looks and moves like a DataTable with ``cursor_type="row"``: the same component
classes and colours, the same keys (and ``home``/``end`` go to the first/last row),
``RowHighlighted`` when the cursor moves and ``RowSelected`` on Enter or a click.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.console import RenderableType
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from vmuser_tui.tui.widgets.cells import shown

Cells = Callable[[Any, dict[str, int]], Sequence[RenderableType]]
"""``cells(item, widths)``: one row's cells, in column order; ``widths`` maps column keys
to the content widths the cells get (a flexible column's cell may render to fit it)."""


@dataclass
class Column:
    """A column: ``width`` is its content width (cells are cut to it with an ellipsis).
    A ``flex`` column gets what the other columns leave, at most ``width`` and at least
    ``min_width``."""

    key: str
    label: str | Text
    width: int = 0
    flex: bool = False
    min_width: int = 8


def text_width(values: Iterable[str], *, floor: int = 0, cap: int | None = None) -> int:
    """The widest of ``values`` (strings), at least ``floor``, at most ``cap``: a column
    width computed from the data without rendering it."""
    widest = max((len(v) for v in values), default=0)
    widest = max(widest, floor)
    return min(widest, cap) if cap is not None else widest


class LazyTable(ScrollView, can_focus=True):
    """A table of ``items`` with a row cursor; see the module docstring."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Select", show=False),
        Binding("up", "cursor_up", "Cursor up", show=False),
        Binding("down", "cursor_down", "Cursor down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home,ctrl+home", "first", "First row", show=False),
        Binding("end,ctrl+end", "last", "Last row", show=False),
    ]

    # DataTable's component classes and styles, so both kinds of table look alike
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "datatable--header",
        "datatable--cursor",
        "datatable--even-row",
        "datatable--odd-row",
    }

    DEFAULT_CSS = """
    LazyTable {
        background: $surface;
        color: $foreground;
        height: auto;
        max-height: 100%;
        &:focus {
            background-tint: $foreground 5%;
            & > .datatable--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .datatable--header {
                background-tint: $foreground 5%;
            }
        }
        &:dark {
            & > .datatable--even-row {
                background: $surface-darken-1 40%;
            }
        }
        & > .datatable--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        &:ansi > .datatable--header {
            background: ansi_bright_blue;
            color: ansi_default;
        }
        & > .datatable--even-row {
            background: $surface-lighten-1 50%;
        }
        & > .datatable--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
    }
    """

    class _RowMessage(Message):
        """About the row ``cursor_row`` (the row of ``row_key``) of ``table``."""

        def __init__(self, table: LazyTable, cursor_row: int, row_key: str | None) -> None:
            super().__init__()
            self.table = table
            self.cursor_row = cursor_row
            self.row_key = row_key

        @property
        def control(self) -> LazyTable:
            return self.table

    class RowHighlighted(_RowMessage):
        """The cursor moved to ``cursor_row`` (the row of ``row_key``)."""

    class RowSelected(_RowMessage):
        """Enter (or a click) on the row ``cursor_row`` (the row of ``row_key``)."""

    def __init__(
        self,
        columns: Sequence[Column],
        cells: Cells,
        key: Callable[[Any], str],
        *,
        zebra_stripes: bool = True,
        cell_padding: int = 1,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.columns: list[Column] = list(columns)
        self._cells = cells
        self._key = key
        self.zebra_stripes = zebra_stripes
        self.cell_padding = cell_padding
        self.show_header = True
        self.header_height = 1
        self.items: Sequence[Any] = ()
        self._cursor = 0
        self._index: dict[str, int] | None = None  # row key -> row, built when first asked
        self._widths: dict[str, int] = {}
        self._widths_for = -1  # the available width the widths were computed for
        self._generation = 0  # bumped whenever every rendered row goes stale
        self._rows: LRUCache[tuple, Strip] = LRUCache(1024)

    # -- data ---------------------------------------------------------------------------
    @property
    def row_count(self) -> int:
        """How many rows the table has."""
        return len(self.items)

    @property
    def cursor_row(self) -> int:
        """The row under the cursor (0 when empty)."""
        return self._cursor

    @cursor_row.setter
    def cursor_row(self, row: int) -> None:
        self.move_cursor(row=row)

    def set_columns(self, columns: Sequence[Column]) -> None:
        """Replace the columns (their widths included) and redraw."""
        self.columns = list(columns)
        self._widths_for = -1
        self.refresh_rows()

    def set_rows(self, items: Sequence[Any], *, cursor_key: str | None = None) -> None:
        """Show ``items`` (kept by reference: no copy, nothing rendered now). The cursor goes
        to the row of ``cursor_key`` when it is there, else to the first row (as a DataTable
        refilled after ``clear()``). No RowHighlighted is posted for it."""
        self.items = items
        self._index = None
        self._widths_for = -1
        row = self.index_of(cursor_key) if cursor_key is not None else None
        self._cursor = row or 0
        self.virtual_size = Size(self._total_width(), len(items) + self._header_lines())
        self.refresh_rows()
        self._scroll_to_cursor()

    def refresh_rows(self) -> None:
        """Render the rows again (their cells may have changed, e.g. relative times)."""
        self._generation += 1
        self._rows.clear()
        self.refresh()

    def row_key(self, row: int) -> str | None:
        """The key of ``row``'s item (None out of range)."""
        return self._key(self.items[row]) if 0 <= row < len(self.items) else None

    def index_of(self, key: str) -> int | None:
        """The row of the item with ``key``, or None."""
        if self._index is None:
            self._index = {self._key(item): i for i, item in enumerate(self.items)}
        return self._index.get(key)

    def get_cell(self, key: str, column: str) -> RenderableType:
        """The cell of column ``column`` in the row of ``key`` as it is drawn now."""
        row = self.index_of(key)
        if row is None:
            raise KeyError(key)
        keys = [c.key for c in self.columns]
        return self._cells(self.items[row], self.widths())[keys.index(column)]

    # -- geometry -----------------------------------------------------------------------
    def _header_lines(self) -> int:
        return self.header_height if self.show_header else 0

    def _available(self) -> int:
        return self.scrollable_content_region.width or self.size.width or self.app.size.width

    def widths(self) -> dict[str, int]:
        """Content width of every column at the current size (the flexible one fitted)."""
        available = self._available()
        if available != self._widths_for:
            padding = 2 * self.cell_padding
            fixed = sum(max(c.width, 1) + padding for c in self.columns if not c.flex)
            flexible = [c for c in self.columns if c.flex]
            widths = {c.key: max(c.width, 1) for c in self.columns if not c.flex}
            if flexible:
                share = max(min(c.min_width for c in flexible), (available - fixed) // len(flexible) - padding)
                for c in flexible:
                    widths[c.key] = max(1, min(c.width, max(c.min_width, share)))
            self._widths, self._widths_for = widths, available
        return self._widths

    def _total_width(self) -> int:
        widths = self.widths()
        return sum(widths[c.key] + 2 * self.cell_padding for c in self.columns)

    @property
    def total_width(self) -> int:
        """Cells the columns take, padding included."""
        return self._total_width()

    def on_resize(self) -> None:
        self._widths_for = -1
        self.virtual_size = Size(self._total_width(), len(self.items) + self._header_lines())
        self.refresh_rows()
        self._scroll_to_cursor()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._generation += 1  # theme or focus changed the component styles
        self._rows.clear()

    # -- rendering ----------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        """Line ``y`` of the widget: the header, or the row under it after scrolling."""
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        header = self._header_lines()
        if y < header:
            strip = self._render_row(-1)
        else:
            row = y - header + scroll_y
            if row >= len(self.items):
                return Strip.blank(width, self.rich_style)
            strip = self._render_row(row)
        return strip.crop_extend(scroll_x, scroll_x + width, self.rich_style)

    def _render_row(self, row: int) -> Strip:
        cursor = row == self._cursor and row >= 0
        key = (row, cursor, self._generation, self._available(), self.has_focus)
        strip = self._rows.get(key)
        if strip is None:
            strip = self._rows[key] = self._make_row(row, cursor)
        return strip

    def _make_row(self, row: int, cursor: bool) -> Strip:
        widths = self.widths()
        base = self.rich_style
        if row < 0:
            cells: Sequence[RenderableType] = [c.label for c in self.columns]
            row_style = self.get_component_rich_style("datatable--header")
        else:
            cells = self._cells(self.items[row], widths)
            if self.zebra_stripes:
                row_style = self.get_component_rich_style("datatable--odd-row" if row % 2 else "datatable--even-row")
            else:
                row_style = base
        component = self.get_component_rich_style("datatable--cursor") if cursor else Style()
        pre = row_style + component
        # as DataTable's default cursor_foreground_priority "css": the cursor's colour wins
        post = Style.from_color(color=component.color) if cursor else Style()
        pad = " " * self.cell_padding
        line = Text(no_wrap=True)
        # not strict: a drawing path must not raise; a row's cells function is meant to
        # give one cell per column, and any extra cell would have no column to go in
        for column, cell in zip(self.columns, cells, strict=False):
            # names and messages hold anything: escapes shown, never drawn (cells.shown)
            text = shown(cell).copy() if isinstance(cell, Text) else shown(str(cell))
            text.truncate(widths[column.key], overflow="ellipsis", pad=True)
            line.append(pad)
            line.append_text(text)  # (its own style becomes a span of the line)
            line.append(pad)
        # the row's style under the cells' own, as DataTable's Styled(pre_style, post_style)
        segments = list(Segment.apply_style(line.render(self.app.console), pre, post))
        rest = max(0, self._available() - line.cell_len)
        if rest:
            segments.append(Segment(" " * rest, pre))
        return Strip(segments).simplify()

    # -- cursor ---------------------------------------------------------------------------
    def move_cursor(self, *, row: int, animate: bool = False, scroll: bool = True) -> None:
        """Put the cursor on ``row`` (clamped); posts RowHighlighted when it moved."""
        del animate  # never animated: the terminal may be at the end of an SSH link
        if not self.items:
            self._cursor = 0
            return
        row = max(0, min(row, len(self.items) - 1))
        old, self._cursor = self._cursor, row
        if scroll:
            self._scroll_to_cursor()
        if old != row:
            header = self._header_lines()
            self.refresh_line(old + header)
            self.refresh_line(row + header)
            self.post_message(self.RowHighlighted(self, row, self.row_key(row)))

    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height - self._header_lines())

    def _scroll_to_cursor(self) -> None:
        page = self._page()
        top = round(self.scroll_y)
        if self._cursor < top:
            self.scroll_to(y=self._cursor, animate=False, immediate=True)
        elif self._cursor >= top + page:
            self.scroll_to(y=self._cursor - page + 1, animate=False, immediate=True)

    def action_cursor_down(self) -> None:
        self.move_cursor(row=self._cursor + 1)

    def action_cursor_up(self) -> None:
        self.move_cursor(row=self._cursor - 1)

    def action_page_down(self) -> None:
        page = self._page()
        self.scroll_to(y=self.scroll_y + page, animate=False, immediate=True)
        self.move_cursor(row=self._cursor + page)

    def action_page_up(self) -> None:
        page = self._page()
        self.scroll_to(y=max(0, self.scroll_y - page), animate=False, immediate=True)
        self.move_cursor(row=self._cursor - page)

    def action_first(self) -> None:
        self.move_cursor(row=0)

    def action_last(self) -> None:
        self.move_cursor(row=len(self.items) - 1)

    def action_select_cursor(self) -> None:
        if self.items:
            self.post_message(self.RowSelected(self, self._cursor, self.row_key(self._cursor)))

    def on_click(self, event: events.Click) -> None:
        """A click on a row moves the cursor there and selects it (as DataTable does)."""
        header = self._header_lines()
        if event.y < header:
            return
        row = round(self.scroll_y) + event.y - header
        if 0 <= row < len(self.items):
            event.stop()
            self.move_cursor(row=row)
            self.action_select_cursor()
