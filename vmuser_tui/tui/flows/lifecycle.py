"""Pause and resume a session from a screen (``p`` on the project screen): ``docker pause``
freezes its processes (memory kept, no CPU), ``docker unpause`` thaws them. No confirmation:
both are undone by the other, and nothing is lost either way. The engine call runs in a
thread worker; ``after`` (usually the screen's reload) runs when it is done."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from vmuser_tui.core.models import Session
    from vmuser_tui.tui.screens.base import WorkerMixin

#: Statuses pause/resume acts on.
PAUSABLE = ("running", "paused")


def toggle_pause(host: WorkerMixin, session: Session, *, after: Callable[[], object] | None = None) -> None:
    """Pause ``session`` when it runs, resume it when it is paused; a notification says
    which (and the key that undoes it)."""
    key = host.key("project.pause", "p")
    vm = host.vm
    resuming = session.status == "paused"

    def done(s: Session) -> None:
        if resuming:
            host.notify(f"session {s.id} running again")
        else:
            host.notify(f"session {s.id} paused; {key} resumes it")
        if after:
            after()

    if resuming:
        host.run_blocking(lambda: vm.sessions.resume(session.id), done, group="write",
                          task=f"resuming {session.id}")
    else:
        host.run_blocking(lambda: vm.sessions.pause(session.id), done, group="write",
                          task=f"pausing {session.id}")
