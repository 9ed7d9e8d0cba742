"""Table columns are sized in the same call that fills them, not later on idle (where
Textual's auto widths race with layout and were seen clipping every cell)."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import DataTable

from vmuser_tui.tui.widgets.tables import refill


class TableApp(App):
    def compose(self) -> ComposeResult:
        yield DataTable()


async def test_refill_sizes_columns_before_any_idle():
    app = TableApp()
    async with app.run_test(size=(80, 24)):
        table = app.query_one(DataTable)
        table.add_column("Id", key="id")
        table.add_column("Kind", key="kind")
        table.add_column("Description", key="desc")
        refill(table, [(["a4455fbabe", Text("pre-restore"), "x"], "r1"), (["b", "manual", "y"], "r2")])
        # no await between filling and measuring: this is the first frame's geometry
        widths = [c.content_width for c in table.ordered_columns]
        assert widths == [10, 11, len("Description")]
        # a later, narrower fill shrinks them again (Textual's own widths only ever grow)
        refill(table, [(["c", "auto", "z"], "r3")])
        assert [c.content_width for c in table.ordered_columns] == [2, 4, len("Description")]
        assert table.row_count == 1
