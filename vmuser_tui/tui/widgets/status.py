"""The one-line status bar: Docker reachability, read-only mode and a screen message."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from vmuser_tui.core.text import printable

if TYPE_CHECKING:  # pragma: no cover
    from vmuser_tui.tui.app import VmuserApp


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

    @property
    def vapp(self) -> VmuserApp:
        """The app, typed (a StatusLine only runs inside :class:`VmuserApp`)."""
        return cast("VmuserApp", self.app)

    def on_mount(self) -> None:
        self.watch(self.vapp, "docker_state", self._redraw, init=True)

    def watch_message(self) -> None:
        self._redraw()

    def _redraw(self, *_args: object) -> None:
        ok, detail = self.vapp.docker_state
        text = Text(no_wrap=True, overflow="ellipsis")
        if ok is None:
            text.append("Docker …", style="dim")
        elif ok:
            text.append("Docker ✓", style="green")
        else:
            text.append("Docker ✗", style="bold red")
        if self.vapp.read_only:
            text.append(" │ ")
            text.append("READ-ONLY", style="bold yellow")
        if self.message:
            text.append(" │ ")
            text.append(printable(self.message))  # it may quote a name: escapes shown
        if ok is False and detail:
            text.append(" │ ")
            text.append(printable(detail), style="dim")
        self.update(text)
