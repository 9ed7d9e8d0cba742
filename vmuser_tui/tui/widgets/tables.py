"""Filling a DataTable with columns sized synchronously.

Textual finalizes auto column widths in ``DataTable._on_idle``, which can race with
layout: under load a table was seen drawn with every column at its header's width and
the cells clipped ("f6", "manu"). The same race is described in torrra's PR #291.
Sizing each column to its widest cell here, in the same call that adds the rows, makes
the first frame right.

A column can also be *flexible*: its cells are :class:`Fit` objects that render
themselves to the width the other columns leave (a description keeps its ``[tags]``
whole instead of losing the closing bracket at the table's right edge).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from rich.cells import cell_len
from rich.console import RenderableType
from rich.text import Text
from textual.css.scalar import Unit
from textual.widget import Widget
from textual.widgets import DataTable

from vmuser_tui.core.text import printable
from vmuser_tui.tui.widgets.cells import shown

#: Cells of columns that show a relative time ("34s ago", "just now"): never narrower,
#: so a periodic refresh of those cells never needs a wider column.
TIME_WIDTH = 8


class Fit:
    """A cell rendered to its column's final width: ``render(width)`` returns the cell."""

    __slots__ = ("render",)

    def __init__(self, render: Callable[[int], RenderableType]) -> None:
        self.render = render

    def natural(self) -> int:
        return cell_width(self.render(10_000))

    @classmethod
    def text(cls, value: str, *, style: str = "", cap: int | None = None,
             cut: Callable[[str, int], str] | None = None) -> Fit:
        """``value`` cut to the column's width (at most ``cap``) by ``cut`` (default: an
        ellipsis at the end)."""
        from vmuser_tui.tui.widgets.cells import clip

        cutter = cut or clip

        shown = printable(value)  # escapes count in the width (cut after them, not through one)

        def render(width: int) -> Text:
            return Text(cutter(shown, min(width, cap) if cap else width), style=style)

        return cls(render)


def cell_width(cell: RenderableType | Fit) -> int:
    """Cells the widest line of ``cell`` takes (a Fit: at its natural width)."""
    if isinstance(cell, Fit):
        return cell.natural()
    if isinstance(cell, Text):
        return max((cell_len(line) for line in cell.plain.split("\n")), default=0)
    return cell_len(str(cell))


def table_width(table: DataTable, width: int | None = None, rows: int | None = None) -> int:
    """The cells the table has for its columns: ``width`` (the widget's outer width when
    the caller knows it better, e.g. the screen's on a resize) less a vertical scrollbar
    when ``rows`` (None: unknown) may not fit its height."""
    parent = table.parent  # a Widget (or Screen) once mounted
    parent_width = parent.size.width if isinstance(parent, Widget) else 0
    outer = width or table.size.width or parent_width or table.app.size.width
    gutter = 0
    if table.styles.overflow_y != "hidden":
        height = table.size.height
        styles = table.styles
        if styles.height is not None and styles.height.is_auto and styles.max_height is not None \
                and styles.max_height.unit == Unit.CELLS:
            height = int(styles.max_height.value)  # height: auto grows up to max-height
        header = table.header_height if table.show_header else 0
        if rows is None or not height or rows + header > height:
            gutter = styles.scrollbar_size_vertical
    return max(0, outer - gutter)


def refill(
    table: DataTable,
    rows: Iterable[tuple[Sequence[RenderableType | Fit], str | None]],
    *,
    width: int | None = None,
    minimum: dict[str, int] | None = None,
    flex_minimum: int = 8,
) -> None:
    """Replace the rows of ``table`` with ``rows`` (``(cells, key)`` pairs), every column
    as wide as its widest cell or its label (or ``minimum[column key]``). Columns given
    a fixed width keep it.

    :class:`Fit` cells make their column flexible: it gets what the other columns leave
    of the table's width (``width``: see :func:`table_width`), at most its widest cell
    and at least ``flex_minimum``, and each Fit is rendered to exactly that width.
    """
    # a str cell would be read as markup by DataTable; control characters would reach the terminal
    rows = [([shown(c) for c in cells], key) for cells, key in rows]
    table.clear()
    columns = list(table.ordered_columns)
    minimum = minimum or {}
    widths = [max(cell_width(c.label), minimum.get(str(c.key.value), 0)) for c in columns]
    flexible: set[int] = set()
    for cells, _ in rows:
        for i, cell in enumerate(cells[: len(widths)]):
            widths[i] = max(widths[i], cell_width(cell))
            if isinstance(cell, Fit):
                flexible.add(i)
    if flexible:
        padding = 2 * table.cell_padding
        fixed = sum(w + padding for i, w in enumerate(widths) if i not in flexible)
        left = table_width(table, width, len(rows)) - fixed - padding * len(flexible)
        share = max(flex_minimum, left // len(flexible))
        for i in flexible:
            widths[i] = min(widths[i], share)
    for column, w in zip(columns, widths, strict=True):  # one width per column, made above
        if column.auto_width:
            column.content_width = w
    for cells, key in rows:
        table.add_row(*(cell.render(widths[i]) if isinstance(cell, Fit) else cell for i, cell in enumerate(cells)),
                      key=key)


def set_columns(table: DataTable, columns: Sequence[tuple[str | Text, str]]) -> bool:
    """Make ``table``'s columns exactly ``columns`` (``(label, key)``), removing the rows
    when they change. True when they changed."""
    if [str(c.key.value) for c in table.ordered_columns] == [key for _, key in columns]:
        return False
    table.clear(columns=True)
    for label, key in columns:
        table.add_column(label, key=key)
    return True
