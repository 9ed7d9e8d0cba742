"""Move a project (or a session) to another Docker engine (issue 14).

The history is in the local database, so a move carries only a checkpoint: the workspace
where the project lives now is checkpointed (when its engine answers), the project's
``engine`` switches, and the workspace on the new engine is brought to the head
checkpoint: a new volume is filled with one ``put_archive``, an old volume left there by
an earlier stay or this host's folder is restored to it (a ``pre-restore`` checkpoint
first, as every restore: nothing there is lost). ``session move`` stops the session
(checkpointed first when it can be) and starts a new one on the other engine; with the
old engine dead it moves from the last checkpoint and says what stays behind.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vmuser_tui.core import oplog
from vmuser_tui.core.engine_config import LOCAL
from vmuser_tui.core.errors import StateError, UsageError, VmuserError

if TYPE_CHECKING:  # pragma: no cover
    from vmuser_tui.core.models import Project
    from vmuser_tui.core.service import Vmuser
    from vmuser_tui.core.sessions import StartOutcome


def move_project(vm: Vmuser, project: Project, engine: str, *, save: bool = True) -> list[str]:
    """Move ``project``'s workspace to ``engine``; returns notes for the user. ``save``:
    checkpoint the workspace where it is first (False when its engine is known dead).
    Raises StateError while a session of the project is active (stop or move it first),
    UsageError for an unknown engine, RuntimeUnavailableError when the new engine does
    not answer (nothing changed then: the project stays where it was)."""
    from vmuser_tui.core.sessions import ACTIVE

    vm.ctx.engines.check(engine)
    vm.ctx.access.check(project.id, what="move the project to another engine")
    if engine == project.engine:
        return []
    active = [s for s in vm.sessions.list(project.id) if s.status in ACTIVE]
    if active:
        s = active[0]
        raise StateError(f"session {s.id} of project {project.name} is {s.status} on engine {s.engine}: stop it "
                         f"first, or move it with: vmuser session move {s.id} --engine {engine}")
    vm.ctx.engine_runtime(engine).ping()  # the new engine first: a dead one changes nothing
    notes: list[str] = []
    old = project.engine
    if save:
        try:
            out = vm.checkpoints.create(project.id, description=f"before moving to engine {engine}")
            if out.created:
                notes.append(f"checkpoint {out.checkpoint.id}: the workspace on engine {old} before the move")
        except VmuserError as exc:
            save = False
            notes.append(f"no checkpoint of the workspace on engine {old} ({exc})")
    project = vm.projects.get(project.id)
    head = project.head_checkpoint_id
    if not save:
        notes.append(f"moved from the last checkpoint ({head or 'none'}): changes made on engine {old} since "
                     "then stay there" if head else f"engine {old} could not be read and there is no checkpoint: "
                     "the workspace starts empty")
    with vm.db.write() as conn:
        conn.execute("UPDATE projects SET engine = ? WHERE id = ?", (engine, project.id))
        # the stat cache describes the files where they were (inodes, times): start afresh
        conn.execute("DELETE FROM stat_cache WHERE project_id = ?", (project.id,))
        conn.execute("DELETE FROM stat_dirs WHERE project_id = ?", (project.id,))
        oplog.record(conn, "project.move", project_id=project.id, engine=engine, previous=old, checkpoint=head,
                     saved=save)
    vm.ctx.forget_live(project.id)
    notes.extend(_bring_to_head(vm, vm.projects.get(project.id), engine))
    return notes


def _bring_to_head(vm: Vmuser, project: Project, engine: str) -> list[str]:
    """Make the workspace on ``engine`` hold the head checkpoint's files."""
    head = project.head_checkpoint_id
    if engine != LOCAL:
        from vmuser_tui.core import engine_workspaces

        ws = engine_workspaces.workspace(vm.ctx, project.id, engine)
        if ws.ensure():  # new and empty: one put_archive
            if not head:
                return [f"workspace volume {ws.volume} created on engine {engine}"]
            from vmuser_tui.core.store.engine_restore import materialize_engine

            files = materialize_engine(vm.ctx.store, ws, vm.checkpoints.get(head).root_tree)
            note = f"workspace volume {ws.volume} created on engine {engine}, filled from {head} ({files} files)"
            return [note]
    else:
        folder = vm.projects.workspace_dir(project)
        folder.mkdir(parents=True, exist_ok=True)
    if not head:
        return []
    outcome = vm.restores.restore(head)
    if not outcome.changes:
        return [f"the workspace on engine {engine} already holds checkpoint {head}"]
    note = (f"workspace on engine {engine} restored to checkpoint {head} ({outcome.summary()}); what was there "
            f"is checkpoint {outcome.pre_restore.id}")
    return [note]


def move_session(vm: Vmuser, ref: str, engine: str) -> tuple[StartOutcome, list[str]]:
    """Stop session ``ref`` (checkpointed first when its engine answers) and start the
    project on ``engine`` from there (or from its last checkpoint when the old engine is
    dead: its container may still run there, marked stopped here, and the note says so).
    Returns the new session's StartOutcome and the notes of the move. UsageError when it
    already runs there; errors of :func:`move_project` and of ``session start``."""
    from vmuser_tui.core.engine_reconcile import probe_engines
    from vmuser_tui.core.sessions import ACTIVE

    session = vm.sessions.get(ref)
    vm.ctx.engines.check(engine)
    if session.engine == engine and session.status in ACTIVE:
        raise UsageError(f"session {session.id} already runs on engine {engine}")
    notes: list[str] = []
    alive = probe_engines(vm.ctx, [session.engine])[session.engine] is None
    if session.status in ACTIVE:
        if alive:
            vm.sessions.stop(session.id, reason=f"moved to engine {engine}")
        else:
            vm.sessions.mark_stopped(session.id, f"moved to engine {engine} while engine {session.engine} did not "
                                     "answer; its container may still run there")
            notes.append(f"engine {session.engine} does not answer: session {session.id} is marked stopped; its "
                         f"container may still run there (remove it when the engine is back: vmuser session rm "
                         f"{session.id})")
    project = vm.projects.get(session.project_id)
    if project.engine != engine:
        notes.extend(move_project(vm, project, engine, save=alive))
    return vm.sessions.start(project.id, engine=engine), notes
