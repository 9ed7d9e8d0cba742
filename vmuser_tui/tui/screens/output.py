"""Shows a command's output with its exit code and duration (after ``x`` exec)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Label, RichLog, Static

from vmuser_tui.core.text import printable_lines
from vmuser_tui.tui.screens.base import VmuserModal
from vmuser_tui.tui.styles import css
from vmuser_tui.tui.widgets.cells import safe


class OutputScreen(VmuserModal[None]):
    """A scrollable log of ``output``; ``exit_code`` colours the summary line."""

    CSS_PATH = css("output")
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,enter", "close", "Close", id="output.close")]

    def __init__(self, title: str, output: str, *, exit_code: int | None = None, duration: float | None = None,
                 empty: str = "(no output)", at_end: bool = False, summary: str | None = None,
                 wrap: bool = False) -> None:
        super().__init__()
        self.title_text = title
        self.output = output
        self.exit_code = exit_code
        self.duration = duration
        self.empty = empty
        self.at_end = at_end  # start scrolled to the end (the newest messages)
        self.summary = summary  # in place of "exit 0 · 0.05s · 3 lines"
        self.wrap = wrap  # long lines wrap (messages) instead of scrolling sideways (command output)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Label(safe(self.title_text), id="dialog-title")
            summary = Text()
            if self.exit_code is not None:
                summary.append(f"exit {self.exit_code}", style="bold green" if self.exit_code == 0 else "bold red")
            if self.duration is not None:
                summary.append(f"{' · ' if summary else ''}{self.duration:.2f}s")
            lines = self.output.count("\n") + (0 if self.output.endswith("\n") or not self.output else 1)
            summary.append(f"{' · ' if summary else ''}{lines} line{'s' if lines != 1 else ''}", style="dim")
            if self.summary is not None:
                summary = safe(self.summary, style="dim")
            yield Static(summary, id="output-summary")
            yield RichLog(id="output-log", wrap=self.wrap, markup=False, highlight=False, max_lines=20000)
            yield Static("Esc / q / Enter: close   arrows, PgUp/PgDn: scroll", classes="dialog-hint")

    def on_mount(self) -> None:
        log = self.query_one("#output-log", RichLog)
        log.focus()
        if self.wrap:  # wrapped to the log's final width, known after the first layout
            self.call_after_refresh(self._fill)
        else:
            self._fill()

    def _fill(self) -> None:
        log = self.query_one("#output-log", RichLog)
        width = log.scrollable_content_region.width if self.wrap else None
        # a container's output can hold any escape sequence: shown, not obeyed (lines and tabs kept)
        log.write(Text(printable_lines(self.output) or self.empty, style="" if self.output else "dim"),
                  width=width or None, scroll_end=self.at_end)
        if not self.at_end:
            log.scroll_home(animate=False)

    def action_close(self) -> None:
        self.dismiss(None)
