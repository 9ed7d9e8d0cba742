"""Restore and undo, once for every screen: the confirmation dialog, the worker that makes
the one core call (``vm.restores.restore`` / ``vm.restores.undo``), and the report
(one toast line and its details for the messages view).

The project screen (a whole checkpoint, ``r``; undo, ``u``) and the diff screen (one path
or folder, ``R``) call :func:`restore` and :func:`undo` with themselves and a callback run
after a restore finished (a reload). A flow imports no screen but the dialogs it shows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text

from vmuser_tui.core.models import Checkpoint
from vmuser_tui.core.restoring import RestoreOutcome
from vmuser_tui.tui.screens.confirm import ConfirmScreen
from vmuser_tui.tui.screens.restore_confirm import RestoreConfirmScreen
from vmuser_tui.tui.widgets.cells import ago

if TYPE_CHECKING:  # pragma: no cover
    from vmuser_tui.tui.screens.base import VmuserScreen

SHOWN = 20  # paths named in the details, per kind of problem
Done = Callable[[RestoreOutcome], None]


@dataclass
class RestoreReport:
    """``short``: the toast; ``details``: lines for the messages view; ``warning``: some
    path was refused, not restored or kept, or the container was not recreated, so the
    toast is a warning."""

    short: str
    details: str
    warning: bool


def _paths(paths: list[str]) -> str:
    more = f" and {len(paths) - SHOWN} more" if len(paths) > SHOWN else ""
    return ", ".join(paths[:SHOWN]) + more


def report(outcome: RestoreOutcome, what: str, undo_key: str, *, where: str = "") -> RestoreReport:
    """The report of ``outcome``. ``what``: what was restored ("abc123" or "src/ from
    abc123"); ``undo_key``: the key that undoes it; ``where``: where that key works
    (" on the project screen"), empty on the project screen itself. The counts are the
    confirmation's (:func:`vmuser_tui.core.restoring.restore_summary`)."""
    r = outcome.result
    pre = outcome.pre_restore
    saved = (f"workspace saved first as {pre.id}" if pre.kind == "pre-restore"
             else f"workspace was unchanged since {pre.id}")
    notes = [f"{saved}; {undo_key}{where} undoes", *outcome.notes]
    problems = []
    if r.refused:
        problems.append(f"{len(r.refused)} path(s) refused")
        notes.append(f"{len(r.refused)} path(s) refused: " + _paths([p for p, _ in r.refused]))
    if r.failed:
        problems.append(f"{len(r.failed)} path(s) not restored")
        notes.append(f"{len(r.failed)} path(s) not restored (a folder on the way became a link, or something is "
                     "in the way; restore again once nothing changes the workspace): "
                     + "; ".join(f"{p}: {why}" for p, why in r.failed[:SHOWN]))
    if r.kept:
        notes.append(f"{len(r.kept)} folder(s) kept: they hold files the checkpoint does not have: " + _paths(r.kept))
    if outcome.left_alone:
        notes.append(f"{len(outcome.left_alone)} ignored path(s) left as they are: " + _paths(outcome.left_alone))
    if outcome.container_error is not None:
        problems.append("container not recreated")
        notes.append(f"the container was not recreated: {outcome.container_error}")
    elif outcome.container is not None:
        notes.append(f"container recreated from {outcome.checkpoint.image_id}: session "
                     f"{outcome.container.session.id}")
        notes.extend(outcome.container.notes)
    if outcome.container is not None:
        what += " and its container"
    short = f"restored {what}: {outcome.summary()}"
    if problems:
        short = f"restored {what}; " + ", ".join(problems)
    elif not where:
        short += f"; {undo_key} undoes"
    return RestoreReport(short, "\n".join(notes), bool(problems))


def _report(screen: VmuserScreen, outcome: RestoreOutcome, what: str, where: str, then: Done | None) -> None:
    done = report(outcome, what, screen.key("project.undo", "u"), where=where)
    screen.vapp.notify(done.short, title="Restore", severity="warning" if done.warning else "information",
                      details=done.details)
    if then is not None:
        then(outcome)


def _what(outcome: RestoreOutcome) -> str:
    """``'abc123'`` for a whole restore, ``'src/a.py from abc123'`` for one of paths."""
    cp = outcome.checkpoint.id
    return f"{', '.join(outcome.paths)} from {cp}" if outcome.paths else cp


def restore(screen: VmuserScreen, cp: Checkpoint, *, head_id: str | None = None, paths: list[str] | None = None,
            where: str = "", then: Done | None = None) -> None:
    """Ask to restore ``cp`` (or only ``paths`` of it: the dialog may widen them to their
    folder), then restore in a write worker with progress and report it. The dialog offers
    to recreate the container too when ``cp`` has a container image (a whole restore only).
    ``head_id``: the project's head, named in the dialog; ``where``: where the undo key
    works when not on this screen; ``then(outcome)``: run after the report (a reload).
    The caller has checked the write guard."""
    dialog = RestoreConfirmScreen(cp, head_id, paths=paths)

    def answer(yes: bool | None) -> None:
        if not yes:
            return
        scope = list(dialog.paths) if dialog.paths else None
        container = dialog.container
        progress = screen.progress_callback()
        screen.run_blocking(
            lambda: screen.vm.restores.restore(cp.id, paths=scope, progress=progress, container=container),
            lambda outcome: _report(screen, outcome, _what(outcome), where, then),
            group="write", task=f"restoring {', '.join(scope) if scope else cp.id}")

    screen.app.push_screen(dialog, answer)


def undo(screen: VmuserScreen, project_id: str, *, then: Done | None = None) -> None:
    """Find the project's last restore, ask to undo it (saying what comes back), then undo
    it in a write worker with progress and report it; ``then(outcome)`` as in :func:`restore`."""
    screen.run_blocking(lambda: screen.vm.restores.last(project_id),
                        lambda last: _confirm_undo(screen, project_id, last, then), group="write")


def _confirm_undo(screen: VmuserScreen, project_id: str, last: dict | None, then: Done | None) -> None:
    if last is None:
        screen.notify("this project has no restore to undo", severity="warning")
        return
    details = last.get("details", {})
    body = Text()
    body.append(f"The last restore ({ago(last.get('at'))}) restored {details.get('checkpoint')}.\n")
    body.append("Undo brings back the workspace as it was before, checkpoint ")
    body.append(str(details.get("pre_restore")), style="bold")
    if details.get("paths"):
        body.append(f" (only {', '.join(details['paths'][:3])})")
    body.append(".\n\nThe current workspace is saved first as well, so u again redoes it.")

    def answer(yes: bool | None) -> None:
        if yes:
            progress = screen.progress_callback()
            screen.run_blocking(lambda: screen.vm.restores.undo(project_id, progress=progress),
                                lambda outcome: _report(screen, outcome, outcome.checkpoint.id, "", then),
                                group="write", task="undoing the restore")

    screen.app.push_screen(ConfirmScreen("Undo the last restore?", body, confirm_label="Undo"), answer)
