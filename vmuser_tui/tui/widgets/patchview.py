"""A scrolling view of rows that are made on demand (Textual's Line API).

The diff screen gives it a row count and a function that makes row ``i`` as Rich Text;
a row becomes Text, then a Strip, only when it scrolls into view (and stays cached for a
while), so a 20,000-line diff costs what the screen shows, not what the file holds.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual import events
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

RowMaker = Callable[[int], Text]


class PatchView(ScrollView, can_focus=True):
    """Rows ``0..count-1`` made by ``make_row(i)``; ``width`` is the widest row (the view
    scrolls sideways beyond its own width)."""

    DEFAULT_CSS = """
    PatchView {
        background: $surface;
        color: $foreground;
        overflow-y: scroll;
        overflow-x: auto;
        &:focus {
            background-tint: $foreground 5%;
        }
    }
    """

    class Resized(Message):
        """The width rows are drawn for changed (a zoom, a resize, the end of loading):
        rows padded or laid out to the old width need making again."""

        def __init__(self, view: PatchView, width: int) -> None:
            super().__init__()
            self.view = view
            self.width = width

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._width = 0
        self._count = 0
        self._make: RowMaker = lambda _index: Text()
        self._cache: LRUCache[int, Strip] = LRUCache(1024)

    @property
    def row_count(self) -> int:
        return self._count

    def set_rows(self, count: int, make_row: RowMaker, width: int) -> None:
        """Show ``count`` rows made by ``make_row``, ``width`` cells at most, from the top."""
        self._count = count
        self._make = make_row
        self._cache.clear()
        self.virtual_size = Size(width, count)
        self.scroll_to(0, 0, animate=False, immediate=True)
        self.refresh()

    def clear(self) -> None:
        self.set_rows(0, lambda _index: Text(), 0)

    def on_resize(self, event: events.Resize) -> None:
        width = self.scrollable_content_region.width
        if width != self._width:
            self._width = width
            self.post_message(self.Resized(self, width))

    def notify_style_update(self) -> None:
        # a theme or focus change restyles every row: drop the cached strips
        super().notify_style_update()
        self._cache.clear()

    def _strip(self, index: int) -> Strip:
        strip = self._cache.get(index)
        if strip is None:
            text = self._make(index)
            strip = Strip(text.render(self.app.console), text.cell_len).apply_style(self.rich_style)
            self._cache[index] = strip
        return strip

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.size.width
        rich_style = self.rich_style
        if index >= self._count:
            return Strip.blank(width, rich_style)
        return self._strip(index).crop_extend(scroll_x, scroll_x + width, rich_style).apply_offsets(scroll_x, index)

    @property
    def lines(self) -> list[Strip]:
        """Every row as a Strip (renders them all: for tests and for copying a small patch)."""
        return [self._strip(i) for i in range(self._count)]
