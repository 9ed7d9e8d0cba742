"""Confirm a restore after showing what it will change (the restore preview); for a
checkpoint with a container image, offer to restore the container's filesystem too."""

from __future__ import annotations

from typing import ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Checkbox, Label, LoadingIndicator, Static

from vmuser_tui.core.models import Checkpoint
from vmuser_tui.core.restoring import restore_counts
from vmuser_tui.tui.screens.base import VmuserModal
from vmuser_tui.tui.styles import css
from vmuser_tui.tui.widgets.cells import STATUS_STYLE, ago, clip, clip_left, safe

FIRST_FILES = 6


def folder_levels(paths: list[str]) -> list[list[str]]:
    """The scopes a path restore can widen to: the paths themselves, then each folder that
    holds all of them, innermost first (``src/a/x.py`` -> ``src/a``, ``src``)."""
    levels = [list(paths)]
    parents = [p.rsplit("/", 1)[0] if "/" in p else "" for p in paths]
    common = parents[0] if parents else ""
    for parent in parents[1:]:
        while common and not (parent == common or parent.startswith(common + "/")):
            common = common.rsplit("/", 1)[0] if "/" in common else ""
    while common:
        levels.append([common])
        common = common.rsplit("/", 1)[0] if "/" in common else ""
    return levels


def coloured_counts(changes) -> Text:
    """``'2 overwritten, 1 deleted, 1 re-created'``: core's one count of a restore's changes
    (:func:`~vmuser_tui.core.restoring.restore_counts`, the words of its summary), each
    part in its status colour."""
    text = Text()
    for i, (status, word, n) in enumerate(restore_counts(changes)):
        if i:
            text.append(", ")
        text.append(f"{n} {word}", style=f"bold {STATUS_STYLE[status]}")
    return text


class RestoreConfirmScreen(VmuserModal[bool]):
    """Loads ``vm.restores.preview`` in a worker, shows the counts and the first files, and
    says that the current workspace is saved as a pre-restore checkpoint first.

    ``paths``: restore only these (the diff screen's ``R``); ``f`` then widens the scope
    to the folder around them, and further out, and back. :attr:`paths` is the scope the
    user confirmed; :attr:`container` whether the user asked to restore the container's
    filesystem too (offered only for a whole checkpoint that has a container image)."""

    CSS_PATH = css("restore_confirm")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "confirm", "Restore", id="restore.yes"),
        Binding("n,escape", "cancel", "Cancel", id="restore.no"),
        Binding("f", "folder", "Whole folder / back", id="restore.folder"),
    ]

    def __init__(self, checkpoint: Checkpoint, head_id: str | None = None, *, paths: list[str] | None = None) -> None:
        super().__init__()
        self.checkpoint = checkpoint
        self.head_id = head_id
        self.preview = None
        self.levels = folder_levels(paths) if paths else []
        self.level = 0
        self.paths: list[str] | None = list(paths) if paths else None

    @property
    def offers_container(self) -> bool:
        """True when the dialog offers the container restore: a whole checkpoint with an image."""
        return bool(self.checkpoint.image_id) and not self.paths

    @property
    def container(self) -> bool:
        """The user asked to restore the container's filesystem too (off by default)."""
        if not self.offers_container:
            return False
        return self.query_one("#restore-container", Checkbox).value

    def _title(self) -> str:
        cp = self.checkpoint
        if not self.paths:
            return f"Restore checkpoint {cp.id}?"
        what = self.paths[0] + ("/" if self.level else "") if len(self.paths) == 1 else " and ".join(self.paths)
        return f"Restore {clip_left(what, 44)} from {cp.id}?"

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "folder" and len(self.levels) < 2:
            return False  # a whole-checkpoint restore, or a top-level file: no folder to widen to
        return super().check_action(action, parameters)

    def compose(self) -> ComposeResult:
        cp = self.checkpoint
        with Vertical(id="dialog", classes="dialog -danger"):
            yield Label(safe(self._title()), id="dialog-title")
            yield Static(Text.assemble((cp.kind, "bold"), f" · {ago(cp.created_at)} · ",
                                       clip(cp.description or "(no description)", 50)), id="restore-what")
            yield LoadingIndicator(id="restore-loading")
            with VerticalScroll(id="dialog-body"):
                yield Static("", id="restore-body")
            if self.offers_container:
                yield Checkbox("Also restore the container's filesystem (replaces the container)",
                               value=False, id="restore-container", compact=True)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Restore (y)", id="yes", variant="error", compact=True, disabled=True)
                yield Button("Cancel (n)", id="no", compact=True)

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()
        self._load_preview()

    def _load_preview(self) -> None:
        self.preview = None
        self.query_one("#yes", Button).disabled = True
        self.query_one("#restore-loading").display = True
        self.query_one("#dialog-body").display = False
        paths = self.paths
        self.run_blocking(lambda: self.vm.restores.preview(self.checkpoint.id, paths), self._show,
                          group="preview", failed=self._failed)

    def action_folder(self) -> None:
        """Widen the scope to the enclosing folder (then further out, then back to the paths)."""
        if len(self.levels) < 2:
            return
        self.level = (self.level + 1) % len(self.levels)
        self.paths = list(self.levels[self.level])
        self.query_one("#dialog-title", Label).update(safe(self._title()))
        self._load_preview()

    def _failed(self, err) -> None:
        self.query_one("#restore-loading").display = False
        self.query_one("#dialog-body").display = True
        self.query_one("#restore-body", Static).update(safe(f"cannot preview this restore: {err}", style="bold red"))

    def _show(self, preview) -> None:
        self.preview = preview
        self.query_one("#restore-loading").display = False
        self.query_one("#dialog-body").display = True
        changes = preview.changes
        parts: list = []
        if not changes and self.paths:
            parts.append(Text(f"The workspace already matches checkpoint {self.checkpoint.id} there: "
                              "nothing to restore."))
        elif not changes:
            parts.append(Text("The workspace already matches this checkpoint: no file changes;"
                              " the project's head moves to it."))
        else:
            line = Text(f"{len(changes)} path{'s' if len(changes) != 1 else ''} in the workspace change: ")
            line.append_text(coloured_counts(changes))
            parts.append(line)
            table = Table.grid(padding=(0, 1))
            table.add_column(width=1)
            table.add_column()
            for change in changes[:FIRST_FILES]:
                table.add_row(Text(change.status, style=f"bold {STATUS_STYLE.get(change.status, '')}"),
                              Text(clip_left(change.label(), 60)))
            if len(changes) > FIRST_FILES:
                table.add_row("", Text(f"… and {len(changes) - FIRST_FILES} more", style="dim"))
            parts.append(table)
        if preview.left_alone:
            n = len(preview.left_alone)
            shown = ", ".join(preview.left_alone[:5]) + (f" and {n - 5} more" if n > 5 else "")
            parts.append(Text(f"{n} ignored path{'s are' if n != 1 else ' is'} left as "
                              f"{'they are' if n != 1 else 'it is'}: {shown}", style="dim"))
        if self.paths:
            if not changes:
                self.query_one("#restore-body", Static).update(Group(*_spaced(parts + self._folder_hint())))
                return  # Restore stays disabled
            parts.append(Text("Only this is restored; the rest of the workspace stays as it is. First the current "
                              "workspace is saved as a pre-restore checkpoint, so "
                              f"{self.key('project.undo', 'u')} on the project screen undoes this restore.",
                              style="italic"))
            parts.extend(self._folder_hint())
            self.query_one("#restore-body", Static).update(Group(*_spaced(parts)))
            self.query_one("#yes", Button).disabled = False
            return
        parts.append(Text(
            "First the current workspace is saved as a pre-restore checkpoint (if it is unchanged "
            f"since the head{' ' + self.head_id if self.head_id else ''}, the head is kept instead), "
            f"so {self.key('project.undo', 'u')} can undo this restore.", style="italic"))
        self.query_one("#restore-body", Static).update(Group(*_spaced(parts)))
        self.query_one("#yes", Button).disabled = False

    def _folder_hint(self) -> list:
        if len(self.levels) < 2:
            return []
        nxt = self.levels[(self.level + 1) % len(self.levels)]
        where = f"the folder {nxt[0]}/" if (self.level + 1) % len(self.levels) else "only " + ", ".join(nxt)
        return [Text(f"{self.key('restore.folder', 'f')}: restore {where} instead", style="dim")]

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
        if self.paths and not self.preview.changes:
            self.notify("nothing to restore there: the workspace already matches", severity="warning")
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
