"""Confirm a restore after showing what it will change (the restore preview)."""

from __future__ import annotations

from collections import Counter
from typing import ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Label, LoadingIndicator, Static

from vmuser_tui.core.checkpoints import RESTORE_WORDS
from vmuser_tui.core.models import Checkpoint
from vmuser_tui.tui.screens.base import VmuserModal
from vmuser_tui.tui.styles import css
from vmuser_tui.tui.widgets.cells import STATUS_STYLE, ago, clip, clip_left

FIRST_FILES = 6
# restore_preview diffs workspace -> checkpoint: what each status means for the workspace
EFFECT = dict(RESTORE_WORDS)


def preview_summary(changes) -> Text:
    """'2 overwritten, 1 deleted, 1 re-created' from the preview's changes."""
    counts = Counter(c.status for c in changes)
    text = Text()
    parts = [(counts[s], EFFECT[s], STATUS_STYLE[s]) for s, _ in RESTORE_WORDS if counts.get(s)]
    for i, (n, word, style) in enumerate(parts):
        if i:
            text.append(", ")
        text.append(f"{n} {word}", style=f"bold {style}")
    return text


class RestoreConfirmScreen(VmuserModal[bool]):
    """Loads ``restore_preview`` in a worker, shows the counts and the first files, and
    says that the current workspace is saved as a pre-restore checkpoint first."""

    CSS_PATH = css("restore_confirm")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "confirm", "Restore", id="restore.yes"),
        Binding("n,escape", "cancel", "Cancel", id="restore.no"),
    ]

    def __init__(self, checkpoint: Checkpoint, head_id: str | None = None) -> None:
        super().__init__()
        self.checkpoint = checkpoint
        self.head_id = head_id
        self.preview = None

    def compose(self) -> ComposeResult:
        cp = self.checkpoint
        with Vertical(id="dialog", classes="dialog -danger"):
            yield Label(f"Restore checkpoint {cp.id}?", id="dialog-title")
            yield Static(Text.assemble((cp.kind, "bold"), f" · {ago(cp.created_at)} · ",
                                       clip(cp.description or "(no description)", 50)), id="restore-what")
            yield LoadingIndicator(id="restore-loading")
            with VerticalScroll(id="dialog-body"):
                yield Static("", id="restore-body")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Restore (y)", id="yes", variant="error", compact=True, disabled=True)
                yield Button("Cancel (n)", id="no", compact=True)

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()
        self.query_one("#dialog-body").display = False
        self.run_blocking(lambda: self.vm.checkpoints.restore_preview(self.checkpoint.id), self._show,
                          group="preview", failed=self._failed)

    def _failed(self, err) -> None:
        self.query_one("#restore-loading").display = False
        self.query_one("#dialog-body").display = True
        self.query_one("#restore-body", Static).update(Text(f"cannot preview this restore: {err}", style="bold red"))

    def _show(self, preview) -> None:
        self.preview = preview
        self.query_one("#restore-loading").display = False
        self.query_one("#dialog-body").display = True
        changes = preview.changes
        parts: list = []
        if not changes:
            parts.append(Text("The workspace already matches this checkpoint: no file changes;"
                              " the project's head moves to it."))
        else:
            line = Text(f"{len(changes)} path{'s' if len(changes) != 1 else ''} in the workspace change: ")
            line.append_text(preview_summary(changes))
            parts.append(line)
            table = Table.grid(padding=(0, 1))
            table.add_column(width=1)
            table.add_column()
            for change in changes[:FIRST_FILES]:
                path = change.path if not change.old_path else f"{change.old_path} → {change.path}"
                table.add_row(Text(change.status, style=f"bold {STATUS_STYLE.get(change.status, '')}"),
                              Text(clip_left(path, 60)))
            if len(changes) > FIRST_FILES:
                table.add_row("", Text(f"… and {len(changes) - FIRST_FILES} more", style="dim"))
            parts.append(table)
        parts.append(Text(
            "First the current workspace is saved as a pre-restore checkpoint (if it is unchanged "
            f"since the head{' ' + self.head_id if self.head_id else ''}, the head is kept instead), "
            f"so {self.key('project.undo', 'u')} can undo this restore.", style="italic"))
        self.query_one("#restore-body", Static).update(Group(*_spaced(parts)))
        self.query_one("#yes", Button).disabled = False

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "yes":
            self.action_confirm()
        else:
            self.action_cancel()

    def action_confirm(self) -> None:
        if self.preview is None:
            self.notify("still computing what the restore would change…", severity="warning")
            return
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)


def _spaced(parts: list) -> list:
    out: list = []
    for i, part in enumerate(parts):
        if i:
            out.append(Text(""))
        out.append(part)
    return out
