"""The one-line status bar: Docker reachability, read-only mode and a screen message."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from vmuser_tui.core.text import printable


class StatusLine(Static):
    """Shows ``app.docker_state`` (checked in a worker by the app), read-only mode, and
    :attr:`message`, which each screen sets (counts, filter, hints)."""

    DEFAULT_CSS = """
    StatusLine {
        height: 1;
        padding: 0 1;
        background: $panel;
        color: $text-muted;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    message: reactive[str] = reactive("")

    def on_mount(self) -> None:
        self.watch(self.app, "docker_state", self._redraw, init=True)

    def watch_message(self) -> None:
        self._redraw()

    def _redraw(self, *_args) -> None:
        ok, detail = getattr(self.app, "docker_state", (None, ""))
        text = Text(no_wrap=True, overflow="ellipsis")
        if ok is None:
            text.append("Docker …", style="dim")
        elif ok:
            text.append("Docker ✓", style="green")
        else:
            text.append("Docker ✗", style="bold red")
        if getattr(self.app, "read_only", False):
            text.append(" │ ")
            text.append("READ-ONLY", style="bold yellow")
        if self.message:
            text.append(" │ ")
            text.append(printable(self.message))  # it may quote a name: escapes shown
        if ok is False and detail:
            text.append(" │ ")
            text.append(printable(detail), style="dim")
        self.update(text)
