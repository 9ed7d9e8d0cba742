"""Edits of the live workspace that ask or run something first: what a delete loses (for
its confirmation), and a file edited in the user's ``$EDITOR`` then saved back through the
VFS. Used by the files screen; imports no screen.

The blocking parts (counting a folder, reading and writing files) run in the calling
screen's thread workers (``run_blocking``); the VFS's errors are reported there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text

from vmuser_tui.core.errors import NotFoundError, VmuserError
from vmuser_tui.core.models import FileInfo
from vmuser_tui.tui.widgets.cells import human_size
from vmuser_tui.tui.widgets.find_panel import shown_path, walk

if TYPE_CHECKING:  # pragma: no cover
    from vmuser_tui.core.service import Vmuser
    from vmuser_tui.tui.screens.base import VmuserScreen

COUNT_CAP = 100_000  # entries counted under a folder before it is deleted


# -- delete ---------------------------------------------------------------------------
@dataclass
class DeleteFacts:
    """What deleting an entry loses: a folder's ``files``, ``folders`` and ``size`` (bytes;
    ``more``: counting stopped at COUNT_CAP), and whether the newest checkpoint ``head``
    still holds it (``kept``)."""

    files: int = 0
    folders: int = 0
    size: int = 0
    more: bool = False
    head: str | None = None
    kept: bool = False


def delete_facts(vm: Vmuser, project_id: str, info: FileInfo) -> DeleteFacts:
    """Count what deleting ``info`` from the live workspace loses. Runs in a thread worker."""
    facts = DeleteFacts()
    if info.kind == "dir":
        entries, facts.more = walk(vm.fs, project_id, None, info.path, cap=COUNT_CAP)
        for entry in entries:
            if entry.kind == "dir":
                facts.folders += 1
            else:
                facts.files += 1
                facts.size += entry.size
    facts.head = vm.projects.get(project_id).head_checkpoint_id
    if facts.head:
        try:
            vm.fs.stat(project_id, info.path, at=facts.head)
            facts.kept = True
        except NotFoundError:
            pass
    return facts


def delete_body(info: FileInfo, facts: DeleteFacts) -> Text:
    """The delete confirmation's text: what is lost, and whether a checkpoint brings it back."""
    body = Text("Lost from the live workspace:\n  ")
    body.append(shown_path(info), style="bold")
    if info.kind == "dir":
        count = facts.files + facts.folders
        parts = [f"{n} {word}{'s' if n != 1 else ''}"
                 for n, word in ((facts.files, "file"), (facts.folders, "folder")) if n]
        body.append(f" and the {'more than ' if facts.more else ''}{count} entr{'y' if count == 1 else 'ies'} in it"
                    f" ({', '.join([*parts, human_size(facts.size)])})", style="bold" if count else "")
    elif info.kind == "file":
        body.append(f" ({human_size(info.size)})")
    body.append(".\n\n")
    if facts.kept:
        body.append(f"The newest checkpoint {facts.head} holds it as it was then: restoring that brings it back; "
                    "changes since are lost.", style="dim")
    else:
        body.append("No newest checkpoint holds it: it is gone for good.", style="bold")
    return body


# -- edit in $EDITOR -------------------------------------------------------------------
def editor_argv() -> list[str]:
    """The user's editor as argv: ``$VISUAL``, else ``$EDITOR``, else ``vi`` (as git picks one)."""
    import os
    import shlex

    command = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    try:
        return shlex.split(command) or ["vi"]
    except ValueError:  # an unbalanced quote: take it as one program name
        return [command]


def _remove(folder: str) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


def edit_file(screen: VmuserScreen, project_id: str, info: FileInfo, saved: Callable[[FileInfo], None]) -> None:
    """Edit the live file ``info`` in the user's editor (the app suspended), then save it
    back and call ``saved(new_info)``. Says why instead when it is not a file, is over
    ``[limits] max_file_size`` or no editor is found."""
    if info.kind != "file":
        screen.notify(f"{shown_path(info)} is a {'folder' if info.kind == 'dir' else info.kind}: select a file "
                      "to edit", severity="warning")
        return
    vm = screen.vm
    limit = vm.config.values.get("limits", {}).get("max_file_size")
    if limit and info.size > limit:  # it could not be saved back; and it is read whole
        screen.notify(f"{info.path} is {human_size(info.size)}, over [limits] max_file_size", severity="warning")
        return
    import shutil

    argv = editor_argv()
    if shutil.which(argv[0]) is None:
        screen.vapp.notify(f"editor {argv[0]!r} not found: set $EDITOR", severity="error",
                          details="vmuser runs $VISUAL, else $EDITOR, else vi; e.g. export EDITOR=nano")
        return
    screen.run_blocking(lambda: vm.fs.read(project_id, info.path),
                        lambda original: _edit(screen, project_id, info, argv, original, saved), group="write")


def _edit(screen: VmuserScreen, project_id: str, info: FileInfo, argv: list[str], original: bytes,
          then: Callable[[FileInfo], None]) -> None:
    """Edit a copy in a private temp folder (named as the file, for the editor's syntax
    mode); a changed copy goes back through the VFS (limits, the log, no symlink
    followed), unless the file changed meanwhile."""
    import os
    import subprocess
    import tempfile

    vm = screen.vm
    folder = tempfile.mkdtemp(prefix="vmuser-edit-")
    copy = os.path.join(folder, info.name)
    with open(copy, "wb") as fh:
        fh.write(original)
    try:
        with screen.app.suspend():
            subprocess.run([*argv, copy], check=False)
    except Exception as exc:  # noqa: BLE001 - SuspendNotSupported (served over the web), an editor that fails
        screen.notify(f"cannot run the editor here: {exc}", severity="error")
        _remove(folder)
        return
    with open(copy, "rb") as back:
        edited = back.read()
    if edited == original:
        _remove(folder)
        screen.notify(f"{info.path}: not changed")
        return

    def save() -> FileInfo | None:
        if vm.fs.read(project_id, info.path) != original:
            return None  # changed on disk while it was edited: keep both
        return vm.fs.write(project_id, info.path, edited, mode=info.mode)

    def saved(new: FileInfo | None) -> None:
        if new is None:
            screen.vapp.notify(f"{info.path} changed while you edited it; not overwritten", severity="error",
                              details=f"Your edited copy is kept: {copy}")
            return
        _remove(folder)
        screen.notify(f"saved {info.path} ({human_size(new.size)})")
        then(new)

    def failed(err: VmuserError) -> None:
        screen.vapp.notify(f"{info.path} not saved: {err}", severity="error",
                          details=f"Your edited copy is kept: {copy}")

    screen.run_blocking(save, saved, failed=failed, group="write", task=f"saving {info.path}")
