"""The snapshot job: automatic checkpoints (``kind=auto``) of running sessions' workspaces.

Three triggers, one rule (checkpoint only if something changed; an unchanged workspace
makes no checkpoint, see :meth:`Checkpoints.create`):

- every ``[snapshots] interval`` seconds (the scheduler calls :func:`run`); for a workspace
  volume on another engine (issue 14) this is the only trigger besides the session's end:
  there is no inotify over there, so each run polls it with one listing exec;
- soon after files change: the :class:`~vmuser_tui.core.workers.watch.Watcher` (inotify,
  one long-lived watch per running workspace, shared with the capture) marks a project
  dirty, and once its workspace has been quiet for ``[snapshots] debounce`` seconds,
  :func:`run` checkpoints it, so a burst of saves makes one checkpoint;
- when a session stops or its container exits (:meth:`Vmuser.on_session_end`).

Changes to ignored paths (``.vmuserignore``, ``[snapshots] ignore``, secret patterns) do
not mark a project dirty. ``[snapshots] enabled = false`` turns all three off (:func:`enabled`).
A paused session is not running: its project is not checkpointed while it is frozen.
"""

from __future__ import annotations

import logging
from pathlib import Path

from vmuser_tui.core.errors import VmuserError

log = logging.getLogger("vmuser.worker")


def enabled(vm) -> bool:
    """``[snapshots] enabled``: whether automatic checkpoints are taken at all."""
    return bool(vm.config.get("snapshots", "enabled"))


def running_projects(vm, *, local_only: bool = False) -> dict[str, Path]:
    """``{project id: workspace}`` for every project with a running session. ``local_only``:
    only those whose workspace is a folder here (the watcher's: a workspace volume on
    another engine has no inotify here, so the interval run polls it with a listing)."""
    local = " AND p.engine = 'local'" if local_only else ""
    rows = vm.db.query(
        "SELECT DISTINCT p.id AS id, p.workspace AS ws FROM sessions s JOIN projects p ON p.id = s.project_id "
        f"WHERE s.status = 'running'{local}")
    return {r["id"]: Path(r["ws"]) for r in rows}


def checkpoint_if_changed(vm, project_id: str, why: str) -> dict | None:
    """One auto checkpoint of ``project_id`` if its workspace differs from the head;
    returns ``{"project", "checkpoint", "files", "hashed"}`` when one was made, else None.
    Errors (workspace gone, unreadable file) are logged and returned as ``{"error"}``."""
    try:
        out = vm.checkpoints.create(project_id, kind="auto", description=f"auto: {why}")
    except VmuserError as exc:
        log.warning("auto checkpoint of %s failed: %s", project_id, exc)
        return {"project": project_id, "error": str(exc)}
    if not out.created:
        return None
    log.info("auto checkpoint %s of %s (%s)", out.checkpoint.id, project_id, why)
    for note in out.notes:  # e.g. a build's temp files that vanished while it was taken
        log.info("auto checkpoint %s: %s", out.checkpoint.id, note)
    # "hashed": files read for it (only the changed ones when the long-lived watch vouches)
    return {"project": project_id, "checkpoint": out.checkpoint.id, "files": out.checkpoint.file_count,
            "hashed": out.hashed_files}


def run(vm, only: set[str] | None = None, why: str = "interval") -> dict:
    """Checkpoint every running session's project (or those in ``only``) that changed.
    Returns ``{"checkpoints": [...], "errors": [...]}``, or ``{"skipped": why}`` when
    ``[snapshots] enabled = false``."""
    if not enabled(vm):
        return {"skipped": "automatic checkpoints are off ([snapshots] enabled = false)"}
    made: list[dict] = []
    errors: list[dict] = []
    for project_id in running_projects(vm):
        if only is not None and project_id not in only:
            continue
        res = checkpoint_if_changed(vm, project_id, why)
        if res is None:
            continue
        (errors if "error" in res else made).append(res)
    return {"checkpoints": made, "errors": errors}
