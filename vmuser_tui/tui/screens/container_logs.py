"""A session's container output, followed live (``l`` on the project screen).

The output is read again every second in a thread worker (the last :data:`TAIL` lines,
as ``docker logs --tail``); only the lines not shown yet are appended, so a busy log
does not redraw what is already there. ``f`` stops and resumes following (the view
stays where it is while the lines keep coming).
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Header, Label, RichLog

from vmuser_tui.core.errors import StateError, VmuserError
from vmuser_tui.core.models import Session
from vmuser_tui.core.text import printable, printable_lines
from vmuser_tui.tui.screens.base import VmuserScreen
from vmuser_tui.tui.styles import css
from vmuser_tui.tui.widgets.status import StatusLine

#: Seconds between reads of the container's output while the view is open.
POLL = 1.0
#: Lines read each time (and kept in the view).
TAIL = 2000


def new_lines(shown: list[str], latest: list[str]) -> list[str] | None:
    """The lines of ``latest`` (the output's last lines now) that follow ``shown`` (its
    last lines before): the output's window slid forward, so some tail of ``shown`` is a
    head of ``latest``. None when they do not overlap (more came than one read holds,
    or the output was reset): the caller shows ``latest`` afresh."""
    if not shown:
        return latest
    if latest[: len(shown)] == shown:
        return latest[len(shown):]
    first = latest[0] if latest else None
    for start in range(1, len(shown)):
        # a candidate start must match the first new line; compare the rest only then
        if shown[start] == first and shown[start:] == latest[: len(shown) - start]:
            return latest[len(shown) - start:]
    return None


class ContainerLogsScreen(VmuserScreen):
    """The container output of ``session``, followed. Keys: ``f`` follow on/off, ``escape`` back."""

    HELP_NAME = "container logs"
    CSS_PATH = css("container_logs")
    RELOAD_ON_RESUME = False  # it polls on its own
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="logs.back"),
        Binding("f", "follow", "Follow on/off", id="logs.follow"),
    ]

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.shown: list[str] = []
        self.follow = True
        self.problem: str | None = None
        self._reading = False
        self.reads = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield Label("", id="logs-title", classes="pane-title")
        yield RichLog(id="container-log", wrap=False, markup=False, highlight=False, max_lines=TAIL,
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
        self._timer = self.set_interval(POLL, self.reload, name="container logs")

    def reload(self) -> None:
        """Read the output's last lines in a worker (one read at a time)."""
        if self._reading or not self.is_current:
            return
        self._reading = True
        sid = self.session.id
        self.run_blocking(lambda: self.vm.sessions.logs(sid, tail=TAIL), self._got, group="logs",
                          failed=self._failed)

    def _got(self, output: str) -> None:
        self._reading = False
        self.reads += 1
        log = self.query_one("#container-log", RichLog)
        latest = output.splitlines()
        was_problem, self.problem = self.problem, None
        if self.reads == 1 and not latest:
            log.write(Text("(no output yet: the container has printed nothing; new lines show here as they come)",
                           style="dim"))
        added = new_lines(self.shown, latest)
        if added is None or was_problem:
            log.clear()
            added = latest
        self.shown = latest[-TAIL:]
        for line in added:
            log.write(Text(printable_lines(line)), scroll_end=self.follow)  # the container's text: shown, not obeyed
        self._status()

    def _failed(self, err: VmuserError) -> None:
        self._reading = False
        self.problem = str(err)
        self._status()
        if isinstance(err, StateError):
            # the session stopped (its container is gone) or never had one: no point asking again
            self._timer.stop()
            self.query_one("#container-log", RichLog).write(Text(f"— {err}", style="bold yellow"))

    def _status(self) -> None:
        follow = self.key("logs.follow", "f")
        if self.problem:
            msg = f"logs unavailable: {self.problem}"
        elif self.follow:
            msg = f"following (read every {POLL:.0f} s) · {len(self.shown)} lines · {follow}: stop following"
        else:
            msg = f"not following: the view stays put · {len(self.shown)} lines · {follow}: follow"
        self.query_one(StatusLine).message = msg

    def action_follow(self) -> None:
        """Stop following (the view stays where it is) or follow again (to the end)."""
        self.follow = not self.follow
        log = self.query_one("#container-log", RichLog)
        log.auto_scroll = self.follow
        if self.follow:
            log.scroll_end(animate=False)
        self._status()

    def action_back(self) -> None:
        """Back to the project (the reads stop with the screen)."""
        self.app.pop_screen()
