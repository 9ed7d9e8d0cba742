"""How the TUI reports a finished restore: one toast line and its details, the same from
the project screen (whole checkpoint) and the diff screen (one path or folder)."""

from __future__ import annotations

from dataclasses import dataclass

from vmuser_tui.core.checkpoints import RestoreOutcome

SHOWN = 20  # paths named in the details, per kind of problem


@dataclass
class RestoreReport:
    """``short``: the toast; ``details``: lines for the messages view; ``warning``: some
    path was refused, not restored or kept, so the toast is a warning."""

    short: str
    details: str
    warning: bool


def _paths(paths: list[str]) -> str:
    more = f" and {len(paths) - SHOWN} more" if len(paths) > SHOWN else ""
    return ", ".join(paths[:SHOWN]) + more


def report(outcome: RestoreOutcome, what: str, undo_key: str, *, where: str = "") -> RestoreReport:
    """The report of ``outcome``. ``what``: what was restored ("abc123" or "src/ from
    abc123"); ``undo_key``: the key that undoes it; ``where``: where that key works
    (" on the project screen"), empty on the project screen itself."""
    r = outcome.result
    pre = outcome.pre_restore
    saved = f"workspace saved first as {pre.id}" if pre.kind == "pre-restore" else f"workspace was unchanged since {pre.id}"
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
    short = f"restored {what}: {outcome.summary()}"
    if problems:
        short = f"restored {what}; " + ", ".join(problems)
    elif not where:
        short += f"; {undo_key} undoes"
    return RestoreReport(short, "\n".join(notes), bool(problems))
