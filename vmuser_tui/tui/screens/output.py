"""Shows a command's output with its exit code and duration (after ``x`` exec)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Label, RichLog, Static

from vmuser_tui.tui.screens.base import VmuserModal
from vmuser_tui.tui.styles import css


class OutputScreen(VmuserModal[None]):
    """A scrollable log of ``output``; ``exit_code`` colours the summary line."""

    CSS_PATH = css("output")
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,enter", "close", "Close", id="output.close")]

    def __init__(self, title: str, output: str, *, exit_code: int | None = None, duration: float | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.output = output
        self.exit_code = exit_code
        self.duration = duration

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Label(Text(self.title_text), id="dialog-title")
            summary = Text()
            if self.exit_code is not None:
                summary.append(f"exit {self.exit_code}", style="bold green" if self.exit_code == 0 else "bold red")
            if self.duration is not None:
                summary.append(f" · {self.duration:.2f}s")
            lines = self.output.count("\n") + (0 if self.output.endswith("\n") or not self.output else 1)
            summary.append(f" · {lines} line{'s' if lines != 1 else ''}", style="dim")
            yield Static(summary, id="output-summary")
            yield RichLog(id="output-log", wrap=False, markup=False, highlight=False, max_lines=20000)
            yield Static("Esc / q / Enter: close   arrows, PgUp/PgDn: scroll", classes="dialog-hint")

    def on_mount(self) -> None:
        log = self.query_one("#output-log", RichLog)
        log.write(Text(self.output or "(no output)", style="" if self.output else "dim"))
        log.scroll_home(animate=False)
        log.focus()

    def action_close(self) -> None:
        self.dismiss(None)
