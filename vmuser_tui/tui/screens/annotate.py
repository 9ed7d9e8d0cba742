"""The annotate dialog: a label (shown on the timeline) and an optional note for a checkpoint."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Vertical
from textual.widgets import Input, Label, Static

from vmuser_tui.core.models import Checkpoint
from vmuser_tui.core.text import printable
from vmuser_tui.tui.screens.base import VmuserModal
from vmuser_tui.tui.styles import css
from vmuser_tui.tui.widgets.cells import clip, short_time

LABEL_MAX = 80  # as core.checkpoints.annotate checks
SHOWN = 3  # existing annotations listed above the form


class AnnotateScreen(VmuserModal["tuple[str, str] | None"]):
    """Dismisses with ``(label, note)`` or None (Esc). Enter in the label moves to the
    note; Enter in the note saves. The checkpoint's newest annotations are listed above."""

    CSS_PATH = css("annotate")
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="annotate.cancel")]

    def __init__(self, checkpoint: Checkpoint) -> None:
        super().__init__()
        self.checkpoint = checkpoint

    def compose(self) -> ComposeResult:
        cp = self.checkpoint
        with Vertical(id="dialog", classes="dialog"):
            yield Label(Text(f"Annotate checkpoint {cp.id} · {clip(cp.description or '-', 40)}"), id="dialog-title")
            yield Static(self._existing(), id="annotate-existing")
            with Grid(id="annotate-form"):
                yield Label("Label", classes="form-label")
                yield Input(placeholder="shown on the timeline, e.g. tests pass", max_length=LABEL_MAX,
                            id="annotate-label", compact=True)
                yield Label("Note", classes="form-label")
                yield Input(placeholder="optional: anything worth remembering", id="annotate-note", compact=True)
            yield Static("", id="annotate-error", classes="form-error")
            yield Static("Enter: next field, then save   Esc: cancel", classes="dialog-hint")

    def _existing(self) -> Text:
        notes = self.checkpoint.annotations
        if not notes:
            return Text("No annotations yet.", style="dim")
        text = Text(no_wrap=True, overflow="ellipsis")
        for i, note in enumerate(notes[-SHOWN:]):
            if i:
                text.append("\n")
            text.append(f"✎ {printable(note.get('label', ''))}", style="bold magenta")
            if note.get("note"):
                text.append(f" — {' '.join(printable(note['note']).split())}")  # escapes shown, one line
            text.append(f"  {note.get('actor', '')} {short_time(note.get('at'))}", style="dim")
        if len(notes) > SHOWN:
            text.append(f"\n(+{len(notes) - SHOWN} older)", style="dim")
        return text

    def on_mount(self) -> None:
        self.query_one("#annotate-label", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        label = self.query_one("#annotate-label", Input).value.strip()
        if not label:
            self.query_one("#annotate-error", Static).update("a label is needed (1-80 characters), or Esc to cancel")
            self.query_one("#annotate-label", Input).focus()
            return
        if event.input.id == "annotate-label":
            self.query_one("#annotate-note", Input).focus()
            return
        self.dismiss((label, self.query_one("#annotate-note", Input).value.strip()))

    def action_cancel(self) -> None:
        self.dismiss(None)
