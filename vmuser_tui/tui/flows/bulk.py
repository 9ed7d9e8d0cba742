"""A bulk action over projects (pin, unpin, extend, stop sessions, delete): one
confirmation naming them, then ``one(project)`` for each in a thread worker with a
progress bar; a project that fails does not stop the rest. Imports no screen (the
confirmation dialog is imported when asked)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.text import Text

from vmuser_tui.core.models import Project

if TYPE_CHECKING:  # pragma: no cover
    from vmuser_tui.tui.screens.base import VmuserScreen

LIST_CAP = 40  # projects named one by one in a bulk confirmation; the rest are counted


def plural(n: int, word: str) -> str:
    """``'1 checkpoint'``, ``'3 checkpoints'``."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def project_list(projects: list[Project]) -> Text:
    """The projects of a bulk action, one a line (at most LIST_CAP, the rest counted)."""
    out = Text()
    for p in projects[:LIST_CAP]:
        out.append(f"  • {p.name}", style="bold")
        out.append(f" ({p.id})\n")
    if len(projects) > LIST_CAP:
        out.append(f"  … and {len(projects) - LIST_CAP} more\n", style="dim")
    return out


def run_bulk(screen: VmuserScreen, targets: list[Project], verb: str, one: Callable[[Project], object], *,
             body: Text, confirm: bool, done: Callable[[list[str], list[str]], None], title: str | None = None,
             label: str | None = None) -> None:
    """Run ``one(project)`` for each of ``targets`` in ``screen``'s thread worker (group
    ``write``, its TaskBar counting projects), after one confirmation (``title``, ``body``,
    button ``label``) when ``confirm``; then ``done(ok_ids, failures)`` on the UI thread,
    a failure being ``"name (id): error"``."""
    if not targets:
        return
    names = targets[0].name if len(targets) == 1 else f"{len(targets)} projects"

    def run() -> None:
        bar = screen._taskbar()

        def work() -> tuple[list[str], list[str]]:
            ok, failed = [], []
            for i, p in enumerate(targets):
                try:
                    one(p)
                    ok.append(p.id)
                except Exception as err:  # noqa: BLE001 - reported, and the others still run
                    failed.append(f"{p.name} ({p.id}): {err}")
                if bar is not None and len(targets) > 1:
                    screen.vapp._from_thread(bar.progress, i + 1, len(targets),
                                             f"{verb}: {i + 1}/{len(targets)} projects")
            return ok, failed

        screen.run_blocking(work, lambda result: done(*result), group="write", task=f"{verb} {names}",
                            total=len(targets) if len(targets) > 1 else None)

    if not confirm:
        run()
        return
    from vmuser_tui.tui.screens.confirm import ConfirmScreen

    def answer(yes: bool | None) -> None:
        if yes:
            run()

    destructive = verb in ("delete", "stop sessions")
    screen.app.push_screen(ConfirmScreen(title or f"{verb.capitalize()} {names}?", body,
                                         confirm_label=label or verb.capitalize(), danger=destructive), answer)
