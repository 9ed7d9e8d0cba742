"""The annotate dialog: a label (shown on the timeline), an optional note and the
annotation's own tags for a checkpoint; ctrl+r removes the annotation with the label typed."""

from __future__ import annotations

from dataclasses import dataclass, field
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

LABEL_MAX = 80  # as core.annotations.validate_label checks
SHOWN = 3  # existing annotations listed above the form


@dataclass
class Annotation:
    """What the dialog asks for: save ``label`` with ``note`` and ``tags`` (the same label
    again replaces that annotation), or, with ``remove``, remove the annotation ``label``."""

    label: str
    note: str = ""
    tags: list[str] = field(default_factory=list)
    remove: bool = False


class AnnotateScreen(VmuserModal["Annotation | None"]):
    """Dismisses with an :class:`Annotation` or None (Esc). Enter in the label moves to the
    note; Enter in the note or the tags saves (Tab reaches the tags); ctrl+r removes the
    annotation whose label is typed. The checkpoint's newest annotations are listed above."""

    CSS_PATH = css("annotate")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="annotate.cancel"),
        # ctrl+r: Input binds ctrl+d (delete right) and ctrl+x (cut) itself
        Binding("ctrl+r", "remove", "Remove the label typed", id="annotate.remove"),
        # priority, as on the new-project form: the App moves the focus before it routes the
        # next key, so "label<Enter>note<Tab>tags" typed in one burst (one read over SSH)
        # lands in three fields. Enter is ours only in a label already typed (check_action):
        # elsewhere it is the Input's, acted on after the keys before it are in (an empty
        # label is refused there; the note and the tags save)
        Binding("enter", "next_field", "Next field", show=False, priority=True, id="annotate.next"),
        Binding("tab", "app.focus_next", "Next field", show=False, priority=True, id="annotate.next_field"),
        Binding("shift+tab", "app.focus_previous", "Previous field", show=False, priority=True,
                id="annotate.previous_field"),
    ]

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
                yield Label("Tags", classes="form-label")
                yield Input(placeholder="optional: the annotation's tags, e.g. ci green", id="annotate-tags",
                            compact=True)
            yield Static("", id="annotate-error", classes="form-error")
            yield Static("Enter: next field, then save   Tab: tags   ctrl+r: remove the label   Esc: cancel",
                         classes="dialog-hint")

    def _existing(self) -> Text:
        notes = self.checkpoint.annotations
        if not notes:
            return Text("No annotations yet.", style="dim")
        text = Text(no_wrap=True, overflow="ellipsis")
        for i, note in enumerate(notes[-SHOWN:]):
            if i:
                text.append("\n")
            text.append(f"✎ {printable(note.get('label', ''))}", style="bold magenta")
            if note.get("tags"):
                text.append(f" [{printable(','.join(note['tags']))}]", style="cyan")
            if note.get("note"):
                text.append(f" — {' '.join(printable(note['note']).split())}")  # escapes shown, one line
            text.append(f"  {note.get('actor', '')} {short_time(note.get('at'))}", style="dim")
        if len(notes) > SHOWN:
            text.append(f"\n(+{len(notes) - SHOWN} older)", style="dim")
        return text

    def on_mount(self) -> None:
        self.query_one("#annotate-label", Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        """A full label says so: the Input drops the keys past ``LABEL_MAX`` without a word."""
        if event.input.id == "annotate-label":
            full = len(event.value) >= LABEL_MAX
            self.query_one("#annotate-error", Static).update(
                f"the label is full: it holds at most {LABEL_MAX} characters; put more in the note" if full else "")

    def _label(self) -> str | None:
        """The label typed, or None (and the error line says so) when there is none."""
        label = self.query_one("#annotate-label", Input).value.strip()
        if not label:
            self.query_one("#annotate-error", Static).update("a label is needed (1-80 characters), or Esc to cancel")
            self.set_focus(self.query_one("#annotate-label", Input))
            return None
        return label

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "next_field":
            focused = self.focused
            # in the label, typed or not: in a burst ("xyz<Enter>note") the letters before the
            # Enter may still be queued in the Input, its value still empty, when the Enter is routed
            return focused is not None and focused.id == "annotate-label"
        return super().check_action(action, parameters)

    def action_next_field(self) -> None:
        """Enter in the label: on to the note (now, not at the next idle, so the keys after it
        in the same burst land there); an empty label is refused once its keys are in."""
        self.set_focus(self.query_one("#annotate-note", Input))
        self.call_after_refresh(self._label)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in the note or the tags: save; in the label (typed in the same burst as
        the Enter, or empty): check it and go on to the note."""
        event.stop()
        label = self._label()
        if label is None:
            return
        if event.input.id == "annotate-label":
            self.set_focus(self.query_one("#annotate-note", Input))
            return
        tags = [t for t in self.query_one("#annotate-tags", Input).value.replace(",", " ").split() if t]
        self.dismiss(Annotation(label, self.query_one("#annotate-note", Input).value.strip(), tags))

    def action_remove(self) -> None:
        """ctrl+r: remove the annotation with the label typed (one the checkpoint has)."""
        label = self._label()
        if label is None:
            return
        labels = [n.get("label") for n in self.checkpoint.annotations]
        if label not in labels:
            shown = ", ".join(printable(str(x)) for x in labels) or "none"
            self.query_one("#annotate-error", Static).update(
                Text(f"no annotation is labelled {printable(label)!r} (labels: {clip(shown, 40)})"))
            return
        self.dismiss(Annotation(label, remove=True))

    def action_cancel(self) -> None:
        self.dismiss(None)
