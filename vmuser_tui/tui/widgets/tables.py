"""Filling a DataTable with columns sized synchronously.

Textual finalizes auto column widths in ``DataTable._on_idle``, which can race with
layout: under load a table was seen drawn with every column at its header's width and
the cells clipped ("f6", "manu"). The same race is described in torrra's PR #291.
Sizing each column to its widest cell here, in the same call that adds the rows, makes
the first frame right.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.cells import cell_len
from rich.console import RenderableType
from rich.text import Text
from textual.widgets import DataTable


def _width(cell: RenderableType) -> int:
    if isinstance(cell, Text):
        return max((cell_len(line) for line in cell.plain.split("\n")), default=0)
    return cell_len(str(cell))


def refill(table: DataTable, rows: Iterable[tuple[Sequence[RenderableType], object]]) -> None:
    """Replace the rows of ``table`` with ``rows`` (``(cells, key)`` pairs), every column
    as wide as its widest cell or its label. Columns given a fixed width keep it."""
    rows = list(rows)
    table.clear()
    columns = list(table.ordered_columns)
    widths = [_width(c.label) for c in columns]
    for cells, _ in rows:
        for i, cell in enumerate(cells[: len(widths)]):
            widths[i] = max(widths[i], _width(cell))
    for column, width in zip(columns, widths):
        if column.auto_width:
            column.content_width = width
    for cells, key in rows:
        table.add_row(*cells, key=key)
