"""Long lists stay cheap (issue #4): the tables render only the rows on screen, the
timeline of a big project draws its newest page first, a folder of thousands of entries
expands with one tree invalidation, and Docker is asked only once the first screen is up."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import App, ComposeResult

from vmuser_tui.tui.screens.project import ProjectScreen
from vmuser_tui.tui.widgets.filetree import FileTree
from vmuser_tui.tui.widgets.lazytable import Column, LazyTable, text_width

from .conftest import SIZE, make_app, settle


class TableApp(App):
    def __init__(self, items: list[int]) -> None:
        super().__init__()
        self.items = items
        self.made: list[int] = []  # the rows whose cells were made
        self.events: list[tuple[str, int, str | None]] = []

    def cells(self, item: int, widths: dict[str, int]) -> list:
        self.made.append(item)
        return [f"r{item}", Text(f"item number {item}", style="bold")]

    def compose(self) -> ComposeResult:
        columns = [Column("id", "Id", text_width(f"r{i}" for i in self.items)), Column("text", "Text", 40, flex=True)]
        yield LazyTable(columns, self.cells, lambda i: f"k{i}")

    def on_mount(self) -> None:
        table = self.query_one(LazyTable)
        table.set_rows(self.items)
        table.focus()

    def on_lazy_table_row_highlighted(self, event: LazyTable.RowHighlighted) -> None:
        self.events.append(("highlighted", event.cursor_row, event.row_key))

    def on_lazy_table_row_selected(self, event: LazyTable.RowSelected) -> None:
        self.events.append(("selected", event.cursor_row, event.row_key))


async def test_lazy_table_makes_only_the_rows_on_screen():
    app = TableApp(list(range(100_000)))
    async with app.run_test(size=(60, 12)) as pilot:
        await pilot.pause()
        table = app.query_one(LazyTable)
        assert table.row_count == 100_000
        assert len(set(app.made)) <= 12  # the rows on screen (a few more at most), not 100,000
        assert table.render_line(1).text.startswith(" r0 ")
        await pilot.press("down", "down")
        assert table.cursor_row == 2
        await pilot.press("end")
        assert table.cursor_row == 99_999 and table.scroll_y > 99_000
        assert "item number 99999" in "".join(table.render_line(y).text for y in range(12))
        await pilot.press("home", "pagedown")
        assert 5 <= table.cursor_row <= 11  # one page of rows below the header
        await pilot.press("enter")
        assert app.events[-1] == ("selected", table.cursor_row, f"k{table.cursor_row}")
        assert ("highlighted", 99_999, "k99999") in app.events
        assert len(set(app.made)) < 100  # still only what was drawn
        assert str(table.get_cell("k5", "text")) == "item number 5"


async def test_lazy_table_click_selects_and_set_rows_keeps_the_cursor_on_its_key():
    app = TableApp(list(range(50)))
    async with app.run_test(size=(60, 12)) as pilot:
        await pilot.pause()
        table = app.query_one(LazyTable)
        await pilot.click(LazyTable, offset=(3, 4))  # the header is line 0: row 3
        assert table.cursor_row == 3 and app.events[-1] == ("selected", 3, "k3")
        table.set_rows(list(range(-10, 50)), cursor_key="k3")  # ten new rows on top
        assert table.cursor_row == 13
        table.set_rows([7, 8, 9], cursor_key="k3")  # gone: the first row, as a refilled DataTable
        assert table.cursor_row == 0


async def test_big_timeline_draws_its_newest_page_first_then_all(world, pilot_at, monkeypatch):
    monkeypatch.setattr("vmuser_tui.tui.screens.project.FIRST_PAGE", 2)
    pages: list[int | None] = []
    listing = world.vm.checkpoints.list

    def spy(ref, **kwargs):
        pages.append(kwargs.get("limit"))
        return listing(ref, **kwargs)

    monkeypatch.setattr(world.vm.checkpoints, "list", spy)
    async with pilot_at("project") as (pilot, screen):
        assert isinstance(screen, ProjectScreen)
        assert pages[:2] == [3, 20_001]  # the first page (and one more, to know there are more), then all
        assert [c.id for c in screen.checkpoints] == list(reversed(world.checkpoints))
        assert not screen.partial
        assert "(3)" in str(screen.query_one("#timeline-title").render())
        # a reload (another process committed, a checkpoint was taken) loads all at once
        screen.reload()
        await settle(pilot)
        assert pages[2:] == [20_001]


async def test_a_folder_of_thousands_expands_with_one_invalidation(world, pilot_at, monkeypatch):
    folder = Path(world.workspace) / "many"
    folder.mkdir()
    for i in range(3000):
        (folder / f"f{i:04d}.txt").write_text(f"{i}\n")
    invalidations = []
    original = FileTree._invalidate

    def counting(self):
        invalidations.append(self._batching)
        original(self)

    monkeypatch.setattr(FileTree, "_invalidate", counting)
    async with pilot_at("project") as (pilot, _screen):
        app = pilot.app
        app.screen.action_files()
        await settle(pilot)
        files = app.screen
        files.action_toggle_workspace()  # the live workspace, where many/ is
        await settle(pilot)
        tree = files.query_one("#tree", FileTree)
        node = next(n for n in tree.root.children if n.data.info and n.data.info.name == "many")
        tree.move_cursor(node)
        invalidations.clear()
        await pilot.press("enter")
        await settle(pilot)
        assert len(node.children) == 3000 and node.is_expanded
        assert invalidations.count(False) <= 4  # the batch, the label updates, the expand: not 3,000
        assert tree.get_label_width(node.children[0]) == len("f0000.txt")
        assert tree.get_label_width(node) == len("many/") + 2  # the expand icon
        await pilot.press("end")  # scrolls to the last entry
        assert tree.scroll_y >= 3000 - tree.size.height


async def test_docker_is_asked_only_once_the_project_list_is_drawn(world):
    rows_when_asked: list[int] = []
    app = make_app(world.vm)

    def status() -> tuple[bool, str]:
        rows_when_asked.append(app.screen.query_one("#projects", LazyTable).row_count)
        return True, "Docker reachable"

    app._docker_status = status
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert rows_when_asked == [3]
        assert "Docker ✓" in str(app.screen.query_one("StatusLine").render())
