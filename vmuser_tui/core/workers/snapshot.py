"""The snapshot job: automatic checkpoints (``kind=auto``) of running sessions' workspaces.

Three triggers, one rule (checkpoint only if something changed; an unchanged workspace
makes no checkpoint, see :meth:`Checkpoints.create`):

- every ``[snapshots] interval`` seconds (the scheduler calls :func:`run`); for a workspace
  volume on another engine (issue 14) this is the only trigger besides the session's end:
  there is no inotify over there, so each run polls it with one listing exec;
- soon after files change: :class:`Watcher` (watchfiles, i.e. inotify) marks a project
  dirty, and once its workspace has been quiet for ``[snapshots] debounce`` seconds,
  :func:`run` checkpoints it, so a burst of saves makes one checkpoint;
- when a session stops or its container exits (:meth:`Vmuser.on_session_end`).

Changes to ignored paths (``.vmuserignore``, ``[snapshots] ignore``, secret patterns) do
not mark a project dirty. ``[snapshots] enabled = false`` turns all three off (:func:`enabled`).
A paused session is not running: its project is not checkpointed while it is frozen.
"""

from __future__ import annotations

import logging
import os
import threading
import time
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
    returns ``{"project", "checkpoint", "files"}`` when one was made, else None.
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
    return {"project": project_id, "checkpoint": out.checkpoint.id, "files": out.checkpoint.file_count}


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


class Watcher:
    """Watch the workspaces of running sessions (watchfiles) and report quiet, dirty projects.

    A background thread follows the set of running sessions (re-read every ``refresh``
    seconds) and records, per project, the time of the last relevant change. :meth:`due`
    returns the projects whose last change is at least ``debounce`` seconds old and
    forgets them. Thread-safe; :meth:`stop` ends the thread.
    """

    def __init__(self, vm, *, debounce: float, refresh: float = 2.0):
        self.vm = vm
        self.debounce = debounce
        self.refresh = refresh
        self._dirty: dict[str, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="vmuser-watch", daemon=True)

    def start(self) -> Watcher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def due(self, now: float | None = None) -> set[str]:
        """Projects quiet for ``debounce`` seconds since their last change (then forgotten)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            ready = {p for p, t in self._dirty.items() if now - t >= self.debounce}
            for p in ready:
                del self._dirty[p]
        return ready

    def retry(self, projects: set[str]) -> None:
        """Put projects back as due now (their checkpoint could not be taken this time)."""
        with self._lock:
            for pid in projects:
                self._dirty.setdefault(pid, time.monotonic() - self.debounce)

    def next_due_in(self) -> float | None:
        """Seconds until the next dirty project becomes due, or None when none is dirty."""
        with self._lock:
            if not self._dirty:
                return None
            return max(0.0, min(self._dirty.values()) + self.debounce - time.monotonic())

    def _rules(self, workspaces: dict[str, Path]):
        rules = {}
        for pid, ws in workspaces.items():
            try:
                rules[pid] = self.vm.checkpoints.ignore_rules(ws, "auto")
            except (OSError, VmuserError):
                rules[pid] = None
        return rules

    def _run(self) -> None:
        import watchfiles

        while not self._stop.is_set():
            try:
                workspaces = {p: ws for p, ws in running_projects(self.vm, local_only=True).items() if ws.is_dir()}
            except VmuserError as exc:
                log.warning("watcher: %s", exc)
                workspaces = {}
            if not workspaces:
                self._stop.wait(self.refresh)
                continue
            rules = self._rules(workspaces)
            roots = sorted(((os.fspath(ws), pid) for pid, ws in workspaces.items()), key=lambda x: -len(x[0]))
            started = time.monotonic()
            try:
                for changes in watchfiles.watch(*[r for r, _ in roots], debounce=200, step=50,
                                                stop_event=self._stop, rust_timeout=int(self.refresh * 1000),
                                                yield_on_timeout=True, raise_interrupt=False):
                    self._note(changes, roots, rules)
                    if time.monotonic() - started >= self.refresh:
                        break  # re-read the running sessions: one may have started or stopped
            except (OSError, RuntimeError) as exc:  # a workspace vanished under the watch
                log.warning("watcher: %s", exc)
                self._stop.wait(self.refresh)

    def _note(self, changes, roots, rules) -> None:
        now = time.monotonic()
        hit = set()
        for _, path in changes:
            for root, pid in roots:
                if path == root or path.startswith(root + os.sep):
                    rel = path[len(root) + 1:]
                    rule = rules.get(pid)
                    if rel and _ignored(rule.match if rule is not None else None, rel):
                        break
                    hit.add(pid)
                    break
        if hit:
            with self._lock:
                for pid in hit:
                    self._dirty[pid] = now


def _ignored(match, rel: str) -> bool:
    """Whether ``rel`` or one of its parent folders is ignored (a deleted path cannot be
    stat'ed, so a folder rule is tried on every parent)."""
    parts = rel.split(os.sep)
    if parts[0].lower() == ".vmuser" or parts[-1].startswith(".vmuser-tmp-"):
        return True  # vmuser's own folder and a restore's temp files
    if match is None:
        return False
    for i in range(1, len(parts)):
        if match("/".join(parts[:i]), True):
            return True
    path = "/".join(parts)
    return match(path, False) or match(path, True)
