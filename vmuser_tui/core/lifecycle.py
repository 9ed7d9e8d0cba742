"""Session lifecycle beyond start and stop: pause and resume (``docker pause``/``unpause``:
the processes are frozen in their cgroup, memory kept, nothing runs), removing a session
that ended (``session rm``), and sweeping every container and image vmuser made for a
project from the engine when the project is deleted.

Status machine (core/sessions.py): ``running <-> paused``; a paused session refuses exec
and shell with the line that resumes it (:data:`RESUME_HINT`), and is skipped by the
automatic checkpoints (its files cannot change while it is frozen). The seeds' "active ->
paused -> completed" is ``running -> paused -> stopped`` here.

A stopped session's container is removed unless ``[runtime] keep_stopped = true``; a kept
one goes with ``session rm`` or when its project is deleted (:func:`purge_project`).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, NoReturn

from vmuser_tui.core import oplog
from vmuser_tui.core.errors import NotFoundError, StateError, VmuserError
from vmuser_tui.core.models import Session
from vmuser_tui.core.runtime.base import LABEL_PROJECT, LABEL_SESSION

if TYPE_CHECKING:  # pragma: no cover
    from vmuser_tui.core.context import Context
    from vmuser_tui.core.runtime.base import ContainerRuntime
    from vmuser_tui.core.sessions import Sessions

#: Sessions ``session rm`` removes: those that ended. Active ones are stopped first.
REMOVABLE = ("stopped", "failed")


def unrecorded_containers(rt: ContainerRuntime, session: Session) -> list[str]:
    """Ids of the containers labelled with a docker ``session`` that has none on record: its
    start was killed (kill -9, a power cut) between the engine's start and the row that
    records the container (session 22). [] when it has one on record, or the engine cannot
    say (then nothing is known to be left). Here, not in core/sessions.py, which uses it
    too: lifecycle importing sessions made an import cycle."""
    if session.runtime != "docker" or session.container_id:
        return []
    try:
        return [c.id for c in rt.list_managed(f"{LABEL_SESSION}={session.id}")]
    except VmuserError:
        return []


def resume_hint(session_id: str) -> str:
    """The one line that says how to go on with a paused session."""
    return f"session {session_id} is paused: resume it with: vmuser session resume {session_id}"


def _docker_session(sessions: Sessions, ref: str, verb: str) -> Session:
    session = sessions.get(ref)
    if session.runtime != "docker" or not session.container_id:
        raise StateError(f"session {session.id} has no container (runtime '{session.runtime}'): "
                         f"there is nothing to {verb}")
    return session


def pause(sessions: Sessions, ref: str) -> Session:
    """Freeze a running Docker session (``docker pause``); its status becomes ``paused``.
    Raises StateError unless it is running (a paused one: "already paused"; a stopped one:
    start a new one), NotFoundError for an unknown session."""
    session = _docker_session(sessions, ref, "pause")
    if session.status == "paused":
        raise StateError(f"session {session.id} is already paused; resume it with: "
                         f"vmuser session resume {session.id}")
    if session.status != "running":
        raise StateError(f"session {session.id} is {session.status}: only a running session can be paused "
                         f"(start one with: vmuser session start {session.project_id})")
    sessions.ctx.access.check(session.project_id, session.id, what="pause this session")
    assert session.container_id is not None  # _docker_session checked it
    sessions.rt(session).pause(session.container_id)
    with sessions.db.write() as conn:
        sessions._set_status(conn, session, "paused", "paused by user")
        oplog.record(conn, "session.pause", project_id=session.project_id, session_id=session.id)
    return sessions.get(session.id)


def resume(sessions: Sessions, ref: str) -> Session:
    """Thaw a paused session (``docker unpause``); its status becomes ``running``. Raises
    StateError unless it is paused."""
    session = _docker_session(sessions, ref, "resume")
    if session.status != "paused":
        raise StateError(f"session {session.id} is {session.status}, not paused: nothing to resume")
    sessions.ctx.access.check(session.project_id, session.id, what="resume this session")
    assert session.container_id is not None
    sessions.rt(session).unpause(session.container_id)
    with sessions.db.write() as conn:
        sessions._set_status(conn, session, "running", "")
        oplog.record(conn, "session.resume", project_id=session.project_id, session_id=session.id)
    return sessions.get(session.id)


def remove(sessions: Sessions, ref: str) -> Session:
    """Remove a stopped or failed session: its container if one is left (kept by
    ``[runtime] keep_stopped``, or left by a failed start), its metrics and its row. Its
    checkpoints stay with their content; their ``session_id`` becomes NULL (the schema's
    ON DELETE SET NULL). Raises StateError for an active session (stop it first). Returns
    the session as it was."""
    session = sessions.get(ref)
    if session.status not in REMOVABLE:
        raise StateError(f"session {session.id} is {session.status}: stop it first with: "
                         f"vmuser session stop {session.id}")
    sessions.ctx.access.check(session.project_id, None, what="remove this session")
    if session.runtime == "docker":
        rt = sessions.rt(session)
        for container_id in [session.container_id] if session.container_id else unrecorded_containers(rt, session):
            rt.remove(container_id)  # gone already is fine
    with sessions.db.write() as conn:
        conn.execute("DELETE FROM session_metrics WHERE session_id = ?", (session.id,))
        conn.execute("DELETE FROM sessions WHERE id = ?", (session.id,))
        sessions.projects.touch(conn, session.project_id)
        oplog.record(conn, "session.rm", project_id=session.project_id, session_id=session.id,
                     status=session.status, container_id=session.container_id)
    return session


def abandon_start(sessions: Sessions, rt: Any, session: Session) -> None:
    """Ctrl-C (KeyboardInterrupt) during a session's start, between the row (``created``) and
    the one that records its container: remove the container the start may have made (by
    name: its id is not recorded yet) and the row, so no session stays ``created`` and no
    container is left stray; the attempt stays in the operation log (``session.fail``). When
    the engine cannot remove it, the row stays, ``failed``, so ``session rm`` can finish it.
    A start that was recorded (running) before the interrupt arrived is left as it is."""
    row = sessions.db.query_one("SELECT status FROM sessions WHERE id = ?", (session.id,))
    if row is None or row["status"] != "created":
        return
    gone = True
    if session.container_name:
        try:
            rt.remove(session.container_name)  # gone already (never created) is fine
        except VmuserError:
            gone = False
    reason = "start interrupted (ctrl-c)"
    with sessions.db.write() as conn:
        if gone:
            conn.execute("DELETE FROM sessions WHERE id = ?", (session.id,))
        else:
            sessions._set_status(conn, session, "failed", reason)
        oplog.record(conn, "session.fail", project_id=session.project_id, session_id=session.id, reason=reason,
                     image=session.image)


def start_overtaken(sessions: Sessions, rt: Any, container_id: str | None, session: Session) -> NoReturn:
    """A session's row vanished while it was starting (``project delete`` in another process
    took it): remove the container the start made (it would run on for a project that is
    gone; gone already is fine), then raise StateError saying what happened."""
    if rt is not None and container_id:
        with contextlib.suppress(VmuserError):
            rt.remove(container_id)
    gone = sessions.db.query_one("SELECT 1 FROM projects WHERE id = ?", (session.project_id,)) is None
    why = (f"project {session.project_id} was deleted while session {session.id} was starting" if gone
           else f"session {session.id} was removed while it was starting")
    raise StateError(f"{why}; its container was removed" if container_id else why)


def keep_stopped(ctx: Context) -> bool:
    """``[runtime] keep_stopped``: a stopped session's container stays (stopped) on the engine."""
    return bool(ctx.config.get("runtime", "keep_stopped"))


def purge_project(ctx: Context, project_id: str, engine: str = "local") -> dict[str, list[str]]:
    """Remove from the engine every container labelled ``vmuser.project=<project_id>`` (any
    state) and every image with that label (checkpoint images, see core/container_images.py,
    and images built for the project), then every volume with that label (named volumes of
    its devcontainer.json). Returns ``{"containers": [names], "images": [refs], "volumes": [names]}``.
    The engine unreachable: ``RuntimeUnavailableError`` only when a container may be left
    (a session not stopped, or stopped with ``keep_stopped``); else nothing is removed, and
    images left behind go with the next ``gc`` (checkpoint images) or by hand. ``engine``:
    which engine to clean (issue 14; on another engine than ``local`` also the project's
    workspace volume and its helper container, which carry the same label)."""
    kept = "" if keep_stopped(ctx) else " AND status != 'stopped'"
    had_docker = ctx.db.query_one("SELECT 1 FROM sessions WHERE project_id = ? AND runtime = 'docker' "
                                  f"AND container_id IS NOT NULL AND engine = ?{kept} LIMIT 1",
                                  (project_id, engine)) is not None
    if engine == "local" and not had_docker and ctx.db.query_one(
            "SELECT 1 FROM operation_log WHERE project_id = ? AND operation IN ('session.create', 'checkpoint.image') "
            "LIMIT 1", (project_id,)) is None:
        return {"containers": [], "images": [], "volumes": []}  # never had a container: no need to ask
    rt: Any = ctx.engine_runtime(engine)  # the Docker runtime's image calls are not in the Protocol
    try:
        containers = rt.list_managed(label=f"{LABEL_PROJECT}={project_id}")
        images = [ref for ref, _ in rt.images(f"{LABEL_PROJECT}={project_id}")]
        volumes = rt.volumes(f"{LABEL_PROJECT}={project_id}")
    except VmuserError:
        if had_docker:
            raise
        return {"containers": [], "images": [], "volumes": []}
    for c in containers:
        rt.remove(c.id)
    removed_images = []
    for ref in images:
        try:
            rt.remove_image(ref)
        except NotFoundError:
            continue
        removed_images.append(ref)
    for name in volumes:  # after the containers: a volume in use cannot go
        rt.remove_volume(name)
    return {"containers": [c.name for c in containers], "images": removed_images, "volumes": volumes}
