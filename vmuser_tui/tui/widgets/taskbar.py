"""A one-line progress bar for work running in a thread worker (hidden when idle)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label, ProgressBar


class TaskBar(Horizontal):
    """``start(label, total)`` shows it; ``progress(done, total)`` moves it; ``finish()`` hides it.
    With ``total=None`` the bar is indeterminate (pulses until a total is known)."""

    DEFAULT_CSS = """
    TaskBar {
        height: 1;
        display: none;
        padding: 0 1;
        background: $boost;
    }
    TaskBar.-active {
        display: block;
    }
    TaskBar > Label {
        width: auto;
        max-width: 60%;
        margin-right: 1;
        color: $text-accent;
    }
    TaskBar > ProgressBar {
        width: 1fr;
    }
    """

    def compose(self) -> ComposeResult:
        yield Label("", id="task-label")
        yield ProgressBar(total=None, show_eta=False, id="task-progress")

    @property
    def active(self) -> bool:
        return self.has_class("-active")

    def start(self, label: str, total: float | None = None) -> None:
        self.query_one("#task-label", Label).update(Text(label))
        bar = self.query_one("#task-progress", ProgressBar)
        bar.update(total=total, progress=0)
        self.add_class("-active")

    def progress(self, done: float, total: float | None, label: str | None = None) -> None:
        if label is not None:
            self.query_one("#task-label", Label).update(Text(label))
        bar = self.query_one("#task-progress", ProgressBar)
        bar.update(total=total if total else None, progress=done)

    def finish(self) -> None:
        self.remove_class("-active")
