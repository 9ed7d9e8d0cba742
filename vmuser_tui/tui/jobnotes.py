"""Turn a background job's result into the notifications an operator wants to see."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vmuser_tui.core.errors import NotFoundError

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from textual.notifications import SeverityLevel

    from vmuser_tui.core.models import Project
    from vmuser_tui.core.service import Vmuser
    from vmuser_tui.core.workers.scheduler import JobResult


def _project(vm: Vmuser, project_id: str) -> Project | None:
    try:
        return vm.projects.get(project_id)
    except NotFoundError:  # deleted since the job ran
        return None


def _name(vm: Vmuser, project_id: str) -> str:
    project = _project(vm, project_id)
    return project.name if project is not None else project_id


def notes_for(vm: Vmuser, res: JobResult) -> list[tuple[SeverityLevel, str]]:
    """``[(severity, one line)]`` for a :class:`~vmuser_tui.core.workers.scheduler.JobResult`:
    auto checkpoints taken, cleanup warnings and deletions, sessions whose container
    stopped or vanished, and failures."""
    out: list[tuple[SeverityLevel, str]] = []
    s = res.summary or {}
    if res.error:
        out.append(("error", f"{res.name} job failed: {res.error}"))
    for made in s.get("checkpoints", []):
        out.append(("information", (f"auto checkpoint {made['checkpoint']} of {_name(vm, made['project'])} "
                                   f"({made['files']} files)")))
    for pid in s.get("warned", []):
        row = _project(vm, pid)
        due = f" ({row.cleanup_due_at[:10]})" if row is not None and row.cleanup_due_at else ""
        out.append(("warning", (f"project {_name(vm, pid)} is idle and will be deleted soon{due}; "
                               "extend or pin it to keep it")))
    for pid in s.get("deleted", []):
        out.append(("warning", f"idle project {pid} was deleted by the cleanup job"))
    for line in s.get("changes", []):
        out.append(("warning", f"container stopped: {line}"))
    for err in s.get("errors", []):
        text = err if isinstance(err, str) else f"{err.get('project', '')}: {err.get('error', err)}"
        out.append(("error", f"{res.name}: {text}"))
    return out
