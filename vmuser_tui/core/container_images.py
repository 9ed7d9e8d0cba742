"""Container state checkpoints: with ``[snapshots] container_image = true``, a checkpoint
of a project with a running Docker session also records a ``docker commit`` of that
container (what the user installed outside /workspace), so a restore can recreate the
container from it.

Images are named ``vmuser-checkpoint/<project id>:<checkpoint id>`` and labelled
``vmuser.project`` and ``vmuser.checkpoint``; the reference is kept in
``checkpoints.image_id``. gc removes the images whose checkpoint no longer exists
(forgotten, or its project deleted).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vmuser_tui.core import oplog
from vmuser_tui.core.errors import RuntimeUnavailableError, StateError, VmuserError
from vmuser_tui.core.models import Checkpoint
from vmuser_tui.core.runtime.base import LABEL_PROJECT

if TYPE_CHECKING:  # pragma: no cover
    from vmuser_tui.core.sessions import Sessions, StartOutcome

REPOSITORY = "vmuser-checkpoint"
LABEL_CHECKPOINT = "vmuser.checkpoint"


def record(ctx, checkpoint_id: str, project_id: str) -> str | None:
    """Commit the project's running Docker session container as the image of
    ``checkpoint_id``; returns the image reference, or None when no container runs.
    Raises RuntimeUnavailableError when the engine fails."""
    row = ctx.db.query_one(
        "SELECT id, container_id, engine FROM sessions WHERE project_id = ? AND runtime = 'docker' "
        "AND status = 'running' "
        "AND container_id IS NOT NULL ORDER BY last_active_at DESC LIMIT 1", (project_id,))
    if row is None:
        return None
    ref = ctx.engine_runtime(row["engine"]).commit(row["container_id"], f"{REPOSITORY}/{project_id}", checkpoint_id,
                                       {LABEL_PROJECT: project_id, LABEL_CHECKPOINT: checkpoint_id})
    with ctx.db.write() as conn:
        conn.execute("UPDATE checkpoints SET image_id = ? WHERE id = ?", (ref, checkpoint_id))
        oplog.record(conn, "checkpoint.image", project_id=project_id, session_id=row["id"], checkpoint=checkpoint_id,
                     image=ref)
    return ref


def prune(ctx, *, dry_run: bool = False) -> list[str]:
    """Remove the checkpoint images whose checkpoint is gone; returns their references.
    Docker unreachable: nothing to do (the images wait for the next gc)."""
    try:
        rt = ctx.runtime("docker")
        images = rt.images(LABEL_CHECKPOINT)
    except (RuntimeUnavailableError, StateError):
        return []
    wanted = {r["image_id"] for r in ctx.db.query("SELECT image_id FROM checkpoints WHERE image_id IS NOT NULL")}
    gone = [ref for ref, _ in images if ref not in wanted]
    if not dry_run:
        for ref in gone:
            try:
                rt.remove_image(ref)
            except VmuserError:
                continue  # in use by a container: the next gc tries again
    return gone


def require_image(cp: Checkpoint) -> str:
    """The image reference of checkpoint ``cp``; StateError saying how to get one when it
    has none (the one wording of that refusal, for the CLI and the TUI alike)."""
    if not cp.image_id:
        raise StateError(f"checkpoint {cp.id} has no container image; set [snapshots] container_image = true "
                         "before taking checkpoints to record one")
    return cp.image_id


def recreate(sessions: Sessions, cp: Checkpoint) -> StartOutcome:
    """Replace the running sessions of ``cp``'s project by a new Docker session started from
    the checkpoint's image (its workspace should be restored first: see
    :meth:`vmuser_tui.core.restoring.Restorer.restore`). ``sessions``: the service's
    :class:`~vmuser_tui.core.sessions.Sessions`. Returns the new session's StartOutcome.
    Raises StateError when the checkpoint has no image, RuntimeUnavailableError when the
    engine fails."""
    image = require_image(cp)
    for session in sessions.list(cp.project_id):
        if session.status in ("running", "paused", "created"):
            sessions.stop(session.id, reason=f"replaced by the container of checkpoint {cp.id}")
    return sessions.start(cp.project_id, runtime="docker", image=image)
