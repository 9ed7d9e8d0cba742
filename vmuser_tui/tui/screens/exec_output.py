"""A command running in a session's container, its output shown as it arrives (``x``).

A thread worker runs :meth:`Sessions.exec_stream <vmuser_tui.core.sessions.Sessions.exec_stream>`
(a blocking loop over the engine's connection); each piece of output comes back to the
event loop with ``call_from_thread`` and is appended to the log: complete lines at once,
the line still being written below the log until its newline comes. stderr lines are red.
Colours (SGR) are kept, other escapes dropped or shown (:mod:`~vmuser_tui.tui.widgets.ansi_lines`).

While it runs the summary says so and ctrl+c / escape cancel: the core signals the
command's processes in the container (TERM, then KILL; see
:mod:`vmuser_tui.core.runtime.exec_stream`), and the summary says it was stopped. The exit
code and duration show at the end; then escape, q or enter close. Leaving the app while a
command runs cancels it too (:meth:`on_unmount`), so no thread is left waiting on it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Label, RichLog, Static

from vmuser_tui.core.errors import VmuserError
from vmuser_tui.core.runtime.exec_control import ExecControl
from vmuser_tui.tui.screens.base import VmuserModal
from vmuser_tui.tui.styles import css
from vmuser_tui.tui.widgets.ansi_lines import LineAssembler, ansi_line
from vmuser_tui.tui.widgets.cells import safe

if TYPE_CHECKING:  # pragma: no cover
    from vmuser_tui.core.models import Session
    from vmuser_tui.core.runtime.base import ExecOutcome, OutputSink, StreamName

    #: What runs instead of a session's exec: ``runner(on_output, control)``, blocking.
    Runner = Callable[[OutputSink, ExecControl], ExecOutcome]

#: Lines kept in the view (older ones scroll away; the command's output is not stored).
MAX_LINES = 20000
STDERR_STYLE = "red"


class ExecOutputScreen(VmuserModal[None]):
    """``argv`` running in ``session``'s container; its output followed live."""

    CSS_PATH = css("exec_output")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+c,escape", "cancel", "Cancel", tooltip="Stop the command in the container",
                id="exec.cancel"),
        Binding("escape,q,enter", "close", "Close", id="exec.close"),
    ]

    def __init__(self, session: Session | None, argv: list[str], title: str, *, runner: Runner | None = None,
                 target: str = "") -> None:
        """``runner(on_output, control)``: what runs instead of ``session``'s exec (a custom
        command: on the host, or logged as one); ``target``: where it runs, for messages."""
        super().__init__()
        self.session = session
        self.runner = runner
        self.target = target or (f"container {session.container_name}" if session else "host")
        self.argv = list(argv)
        self.title_text = title
        self.control = ExecControl()
        self.running = True
        self.cancelling = False
        self.outcome: ExecOutcome | None = None
        self.error: str | None = None
        self.lines = 0
        self._streams: dict[str, LineAssembler] = {"stdout": LineAssembler(), "stderr": LineAssembler()}

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Label(safe(self.title_text), id="dialog-title")
            yield Static(self._summary(), id="exec-summary")
            yield RichLog(id="exec-log", wrap=False, markup=False, highlight=False, max_lines=MAX_LINES,
                          auto_scroll=True)
            yield Static("", id="exec-partial")
            yield Static(self._hint(), id="exec-hint", classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one("#exec-log", RichLog).focus()
        self.run_worker(self._run, thread=True, exit_on_error=False, name=f"exec in {self.target}",
                        group="exec")

    def on_unmount(self) -> None:
        if self.running:  # the app is closing: do not leave the command (and this worker) running
            self.control.cancel()

    # -- the worker (a thread) ---------------------------------------------------------------

    def _run(self) -> None:
        try:
            if self.runner is not None:
                outcome = self.runner(self._from_thread, self.control)
            else:
                assert self.session is not None
                outcome = self.vm.sessions.exec_stream(self.session.id, self.argv, on_output=self._from_thread,
                                                       control=self.control)
        except VmuserError as err:
            self._call(self._failed, str(err))
        except Exception as err:  # noqa: BLE001 - a worker never takes the app down
            self._call(self._failed, f"unexpected {type(err).__name__}: {err}")
        else:
            self._call(self._finished, outcome)

    def _from_thread(self, stream: StreamName, data: bytes) -> None:
        self._call(self._append, stream, data)

    def _call(self, fn: Callable[..., object], *args: object) -> None:
        try:
            self.app.call_from_thread(fn, *args)
        except RuntimeError:  # the app has stopped: nobody is watching, stop the command
            self.control.cancel()

    # -- on the event loop ----------------------------------------------------------------------

    def _append(self, stream: StreamName, data: bytes) -> None:
        lines = self._streams[stream].feed(data)
        self._write(lines, stream)
        self._show_partial()

    def _write(self, lines: list[str], stream: str) -> None:
        if not lines:
            return
        log = self.query_one("#exec-log", RichLog)
        style = STDERR_STYLE if stream == "stderr" else ""
        for line in lines:
            log.write(ansi_line(line, style))
        self.lines += len(lines)

    def _show_partial(self) -> None:
        partial = Text()
        for stream, assembler in self._streams.items():
            if assembler.partial:
                partial.append_text(ansi_line(assembler.partial, STDERR_STYLE if stream == "stderr" else ""))
        self.query_one("#exec-partial", Static).update(partial)
        self.query_one("#exec-partial", Static).display = bool(partial)

    def _end_output(self) -> None:
        for stream, assembler in self._streams.items():
            self._write(assembler.finish(), stream)
        self._show_partial()

    def _finished(self, outcome: ExecOutcome) -> None:
        self.running = False
        self.outcome = outcome
        self._end_output()
        self._update()
        if outcome.cancelled:
            how = f" with SIG{outcome.signal}" if outcome.signal else ""
            self.notify(f"command cancelled: stopped{how} in {self.target}",
                        severity="warning")

    def _failed(self, why: str) -> None:
        self.running = False
        self.error = why
        self._end_output()
        self._update()
        self.notify(why, severity="error")

    def _update(self) -> None:
        self.query_one("#exec-summary", Static).update(self._summary())
        self.query_one("#exec-hint", Static).update(self._hint())
        self.refresh_bindings()

    def _summary(self) -> Text:
        summary = Text()
        if self.running:
            cancel = self._cancel_keys()
            if self.cancelling:
                return Text("cancelling… (SIGTERM sent; SIGKILL follows if it goes on)", style="bold yellow")
            return Text(f"running… ({cancel} to cancel)", style="bold yellow")
        if self.error is not None:
            return Text(f"failed: {self.error}", style="bold red")
        outcome = self.outcome
        assert outcome is not None
        if outcome.cancelled:
            how = f"SIG{outcome.signal}" if outcome.signal else "a signal"
            summary.append(f"cancelled: stopped with {how}", style="bold yellow")
        if outcome.exit_code is not None:
            summary.append(" · " if summary else "")
            summary.append(f"exit {outcome.exit_code}", style="bold green" if outcome.exit_code == 0 else "bold red")
        summary.append(f"{' · ' if summary else ''}{outcome.duration:.2f}s")
        summary.append(f" · {self.lines} line{'s' if self.lines != 1 else ''}", style="dim")
        return summary

    def _cancel_keys(self) -> str:
        """The cancel keys as typed ("ctrl+c/escape"), after the keymap."""
        keys = self.vapp.keymap.get("exec.cancel", "ctrl+c,escape")
        return "/".join(k.strip() for k in keys.split(",") if k.strip())

    def _hint(self) -> str:
        if self.running:
            where = "on the host" if self.target == "host" else "in the container"  # a custom command's
            return f"{self._cancel_keys()}: cancel (stops it {where}) · ↑↓ PgUp/Dn scroll"  # fits 80 columns
        return "Esc / q / Enter: close   arrows, PgUp/PgDn: scroll"

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel":
            return self.running
        if action == "close":
            return not self.running
        return super().check_action(action, parameters)

    def action_cancel(self) -> None:
        if not self.running or self.cancelling:
            return
        self.cancelling = True
        self.control.cancel()
        self._update()

    def action_close(self) -> None:
        self.dismiss(None)
