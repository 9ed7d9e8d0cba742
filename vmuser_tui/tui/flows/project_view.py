"""What the project screen shows, read in one blocking call (a worker's job): the project,
its sessions, its newest checkpoints, the metrics (and the variables, masked) of its running
sessions and, when asked, the session events of the operation log. Only the service layer is asked (no SQL)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from vmuser_tui.core.models import Checkpoint, Project, Session
from vmuser_tui.tui.widgets.sessions_panel import WATCHED
from vmuser_tui.tui.widgets.timeline import Event, fetch_events

if TYPE_CHECKING:  # pragma: no cover
    from vmuser_tui.core.metrics import SessionMetrics
    from vmuser_tui.core.search import CheckpointMatch
    from vmuser_tui.core.service import Vmuser


@dataclass
class Loaded:
    """One load of the screen's data. ``checkpoints``: newest first, up to ``limit + 1`` (one
    more than asked tells that there are more); ``metrics``: by session id, running and paused
    sessions only; ``events``: None when not asked for (events hidden)."""

    project: Project
    sessions: list[Session]
    checkpoints: list[Checkpoint]
    metrics: dict[str, SessionMetrics]
    events: list[Event] | None
    #: by session id: the variables of its running container, values masked (vm.sessions.environment)
    env: dict[str, dict[str, str | None]] = field(default_factory=dict)
    #: the timeline's full-text search done again with the rest (None: no search on)
    matches: list[CheckpointMatch] | None = None
    #: what ``matches`` answers: ``(words, tags)`` (a search typed meanwhile makes them stale)
    search: tuple[str, list[str]] | None = None


def load_project(vm: Vmuser, project_id: str, *, limit: int, events: bool,
                 search: tuple[str, list[str]] | None = None) -> Loaded:
    """Read everything the project screen shows; ``search``: ``(words, tags)`` of the
    timeline's full-text search, done again (it finds what changed since). Raises
    NotFoundError when the project is gone."""
    project = vm.projects.get(project_id)
    sessions = vm.sessions.list(project.id)
    checkpoints = vm.checkpoints.list(project.id, limit=limit + 1)
    watched = [s.id for s in sessions if s.status in WATCHED]
    metrics = {sid: vm.session_metrics(sid) for sid in watched}
    env = {s.id: vm.sessions.environment(s.id) for s in sessions if s.env_keys and s.status in WATCHED}
    matches = vm.checkpoints.search(project.id, search[0], tags=search[1], limit=limit) if search else None
    return Loaded(project, sessions, checkpoints, metrics,
                  fetch_events(vm, project.id, [s.id for s in sessions]) if events else None, env, matches,
                  search)
