"""A session's container output, streamed from the engine (``l`` on the project screen).

A thread worker reads ``docker logs --follow`` (``vm.sessions.stream_logs``: the last
:data:`TAIL` lines, then each new line as the container prints it) and hands lines to the
screen through a small queue that a timer drains every :data:`DRAIN` seconds, so a burst
of output is drawn in a few batches instead of one message per line. The screen keeps at
most :data:`MAX_LINES` lines (older ones drop off the top, as ``less +F`` on a pipe would
not: a log may be endless). Closing the screen closes the stream (the worker's blocked
read ends at once). As in k9s's log view and lazydocker's: ``f`` follow on/off (the view
stays put while lines keep coming), ``t`` timestamps on/off (the engine always sends them;
they are drawn or not), ``/`` search (every match highlighted), ``n``/``N`` next/previous
matching line (following stops, so the match stays in view).
"""

from __future__ import annotations

import re
import threading
from collections import deque
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Header, Label, RichLog

from vmuser_tui.core.errors import VmuserError
from vmuser_tui.core.models import Session
from vmuser_tui.core.text import printable, printable_lines
from vmuser_tui.tui.screens.base import VmuserScreen
from vmuser_tui.tui.styles import css
from vmuser_tui.tui.widgets.status import StatusLine

if TYPE_CHECKING:  # pragma: no cover
    from vmuser_tui.core.runtime.logs import LogLine, LogStream

#: Lines asked for when the screen opens (the end of the output so far).
TAIL = 2000
#: Lines kept in the view; older ones drop off the top.
MAX_LINES = 5000
#: Seconds between two looks at the lines the reader has queued.
DRAIN = 0.1
#: Styles: a match, the line of the current match, stderr lines, the time column.
MATCH_STYLE = "bold black on yellow"
CURRENT_STYLE = "on grey23"
TIME_STYLE = "dim"


class ContainerLogsScreen(VmuserScreen):
    """The container output of ``session``, streamed. Keys: ``f`` follow, ``t`` timestamps,
    ``/`` search, ``n``/``N`` next/previous match, ``escape`` back."""

    HELP_NAME = "container logs"
    CSS_PATH = css("container_logs")
    RELOAD_ON_RESUME = False  # the stream feeds it
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="logs.back"),
        Binding("f", "follow", "Follow on/off", id="logs.follow"),
        Binding("t", "timestamps", "Times", tooltip="Timestamps on/off", id="logs.timestamps"),
        Binding("slash", "search", "Search", key_display="/", id="logs.search"),
        Binding("n", "next_match", "Next", show=False, tooltip="Next match", id="logs.next"),
        Binding("N", "previous_match", "Previous", show=False, tooltip="Previous match", id="logs.previous"),
    ]

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.lines: deque[LogLine] = deque(maxlen=MAX_LINES)
        self.dropped = 0  # lines that fell off the top: line n of the output is lines[n - dropped]
        self.follow = True
        self.timestamps = False
        self.query_text = ""
        self.matches: list[int] = []  # output line numbers (see dropped) whose text holds the query
        self.current: int | None = None  # index into matches of the line n/N went to
        self.problem: str | None = None
        self.ended = False
        self._pending: list[LogLine] = []
        self._lock = threading.Lock()
        self._stream: LogStream | None = None
        self._closing = False
        self._told_end = False

    # -- what a test (or the status line) reads ----------------------------------------
    @property
    def shown(self) -> list[str]:
        """The texts of the lines held, oldest first (without their times)."""
        return [line.text for line in self.lines]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Label("", id="logs-title", classes="pane-title")
        yield RichLog(id="container-log", wrap=False, markup=False, highlight=False, max_lines=MAX_LINES,
                      auto_scroll=True)
        yield StatusLine()
        yield Footer(compact=True)

    def on_mount(self) -> None:
        s = self.session
        self.sub_title = f"container logs · {s.id}"
        self.query_one("#logs-title", Label).update(
            Text(printable(f"Container output · session {s.id} · {s.container_name or s.container_id or '-'}")))
        self.query_one("#container-log", RichLog).focus()
        self._status()
        self.set_interval(DRAIN, self._drain, name="container logs")
        # group "stream...": a worker that ends only with the screen (the tests' settle() skips such)
        self.run_worker(self._read, thread=True, group="stream: container logs", exit_on_error=False,
                        name="container logs")

    def on_unmount(self) -> None:
        self._closing = True
        stream = self._stream
        if stream is not None:
            stream.close()  # the reader's blocked read ends now

    # -- the reader (a thread) ------------------------------------------------------------
    def _read(self) -> None:
        """Open the stream and queue its lines until it ends or the screen closes."""
        try:
            self._stream = stream = self.vm.sessions.stream_logs(self.session.id, follow=True, tail=TAIL)
            if self._closing:
                stream.close()
                return
            for line in stream:
                with self._lock:
                    self._pending.append(line)
                if self._closing:
                    break
            why = None
        except VmuserError as err:
            why = str(err)
        except Exception as err:  # noqa: BLE001 - a reader must never take the app down
            why = f"unexpected {type(err).__name__}: {err}"
        with self._lock:
            self.ended = True
            self.problem = why

    def _drain(self) -> None:
        """Draw the lines the reader queued since the last look."""
        with self._lock:
            batch, self._pending = self._pending, []
            ended = self.ended
        if not batch:
            if ended and not self._told_end:
                self._told_end = True
                self._status()
            return
        log = self.query_one("#container-log", RichLog)
        needle = self.query_text.lower()
        for line in batch:
            if len(self.lines) == MAX_LINES:
                self.dropped += 1
            number = self.dropped + len(self.lines)
            self.lines.append(line)
            if needle and needle in printable_lines(line.text).lower():
                self.matches.append(number)
            log.write(self._line_text(number, line), scroll_end=self.follow)
        self._forget_dropped()
        self._status()

    # -- drawing --------------------------------------------------------------------------
    def _line_text(self, number: int, line: LogLine) -> Text:
        """One line as drawn: time (when on, dim), text (control characters shown as
        escapes: the container's text is shown, not obeyed), matches highlighted."""
        body = printable_lines(line.text)
        text = Text()
        if self.timestamps and line.time:
            text.append(line.time, style=TIME_STYLE)
            text.append(" ")
        start = len(text)
        text.append(body, style="red" if line.stream == "stderr" else "")
        if self.query_text:
            if self.current is not None and self.matches and self.matches[self.current] == number:
                text.stylize(CURRENT_STYLE)  # first: the matches' own colours go over it
            for m in re.finditer(re.escape(self.query_text), body, flags=re.IGNORECASE):
                text.stylize(MATCH_STYLE, start + m.start(), start + m.end())
        return text

    def _redraw(self) -> None:
        """Draw every held line again (timestamps toggled, a new search, another current match)."""
        log = self.query_one("#container-log", RichLog)
        log.clear()
        for i, line in enumerate(self.lines):
            log.write(self._line_text(self.dropped + i, line), scroll_end=False)
        if self.follow:
            log.scroll_end(animate=False)

    def _forget_dropped(self) -> None:
        """Matches on lines that fell off the top are gone."""
        if self.matches and self.matches[0] < self.dropped:
            current = self.matches[self.current] if self.current is not None else None
            self.matches = [n for n in self.matches if n >= self.dropped]
            self.current = (self.matches.index(current) if current in self.matches
                            else (0 if self.matches and self.current is not None else None))

    def _status(self) -> None:
        follow, search = self.key("logs.follow", "f"), self.key("logs.search", "/")
        parts = []
        if self.problem:
            parts.append(f"logs unavailable: {self.problem}")
        elif self.ended:
            parts.append("the output ended (the container stopped)")
        elif self.follow:
            parts.append(f"following · {follow}: stop")
        else:
            parts.append(f"not following · {follow}: follow")
        parts.append(f"{len(self.lines)} lines" if self.lines or self.ended or self.problem
                     else "no output yet" if self.query_text  # short: the search's part must fit too
                     else "no output yet: the container has printed nothing; new lines show here as they come")
        if self.query_text:
            if not self.matches:
                parts.append(f"{self.query_text!r}: no match")
            else:
                at = f"match {self.current + 1} of {len(self.matches)}" if self.current is not None else (
                    f"{len(self.matches)} matches")
                nxt, prev = self.key("logs.next", "n"), self.key("logs.previous", "N")
                parts.append(f"{printable(self.query_text)!r}: {at} ({nxt}/{prev})")
        else:
            parts.append(f"{search}: search")
        self.query_one(StatusLine).message = " · ".join(parts)

    # -- actions --------------------------------------------------------------------------
    def action_follow(self) -> None:
        """Stop following (the view stays where it is) or follow again (to the end)."""
        self.follow = not self.follow
        log = self.query_one("#container-log", RichLog)
        log.auto_scroll = self.follow
        if self.follow:
            log.scroll_end(animate=False)
        self._status()

    def action_timestamps(self) -> None:
        """Show or hide the engine's time (RFC 3339, UTC) before each line."""
        self.timestamps = not self.timestamps
        self._redraw()
        self._scroll_to_current()
        self._status()

    def action_search(self) -> None:
        """Ask for a text (case-insensitive); its matches are highlighted and ``n`` goes to the first."""
        from vmuser_tui.tui.screens.prompt import PromptScreen

        def apply(text: str | None) -> None:
            if text is None:
                return
            self.query_text = text
            needle = text.lower()
            self.matches = [self.dropped + i for i, line in enumerate(self.lines)
                            if needle and needle in printable_lines(line.text).lower()]
            self.current = None
            self._redraw()
            if self.matches:
                self._go(len(self.matches) - 1)  # the newest match: the end of a log is what one came for
            elif text:
                self.notify(f"no line holds {printable(text)!r}", severity="warning")
            self._status()

        self.app.push_screen(PromptScreen("Search the output", placeholder="text (any case); empty: clear",
                                          value=self.query_text, hint="Enter: search   Esc: cancel"), apply)

    def action_next_match(self) -> None:
        self._step(+1)

    def action_previous_match(self) -> None:
        self._step(-1)

    def _step(self, direction: int) -> None:
        if not self.query_text:
            self.notify(f"nothing searched yet: {self.key('logs.search', '/')} searches", severity="warning")
            return
        if not self.matches:
            self.notify(f"no line holds {self.query_text!r}", severity="warning")
            return
        if self.current is None:
            self._go(0 if direction > 0 else len(self.matches) - 1)
        else:
            self._go((self.current + direction) % len(self.matches))
        self._status()

    def _go(self, index: int) -> None:
        """Make match ``index`` the current one: drawn, in view, following stopped (else the
        next line would scroll it away)."""
        self.current = index
        if self.follow:
            self.action_follow()
        self._redraw()
        self._scroll_to_current()

    def _scroll_to_current(self) -> None:
        if self.current is None or not self.matches:
            return
        log = self.query_one("#container-log", RichLog)
        row = self.matches[self.current] - self.dropped
        self.call_after_refresh(lambda: log.scroll_to(y=max(0, row - log.size.height // 2), animate=False))

    def action_back(self) -> None:
        """Back to the project (the stream closes with the screen)."""
        self.app.pop_screen()
