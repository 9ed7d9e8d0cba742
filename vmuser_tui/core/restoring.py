"""Restoring a checkpoint onto the live workspace, in one place: preview, check, plan,
journal, apply, roll back, recover, undo, and the container.

Named for the operation rather than the thing (``restore`` is taken twice already):
:mod:`vmuser_tui.core.store.restore` materializes a tree onto a folder (the mechanics: plan
rows, checks, descriptors) and knows nothing of projects; :mod:`vmuser_tui.core.journal`
stores and reads the ``restore_journal`` rows and calls nothing back. This module is the
policy between them and :class:`~vmuser_tui.core.checkpoints.Checkpoints` (which takes the
pre-restore checkpoint): what is spared, when the journal row is written, how a failure is
rolled back, how an interrupted restore is finished at the next start, and what is
reported. It sits above ``checkpoints`` and nothing in ``checkpoints`` calls back up, so
calls go one way: adapter -> ``vm.restores`` (a :class:`Restorer`) -> Checkpoints (the
pre-restore checkpoint, lookups) and store/journal.

Write order (git's ``index.lock``, restic's "data first, then the snapshot"): the scope is
checked against the checkpoint and the workspace (nothing written yet), the pre-restore
checkpoint is taken, the plan is made from one diff of the two trees and checked (paths,
blobs, space), a journal row is committed, and only then is the workspace touched; the row
goes in the transaction of the restore's log entry.

Counts: what the confirmation, the report (toast, CLI) and the operation log say a
restore changes are counted from one list of changes (:func:`restore_counts`): a folder
whose files are deleted is not a deletion of its own, a rename back is not one either.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from vmuser_tui.core import clock, container_images, container_user, ignore, journal, oplog, procs
from vmuser_tui.core.checkpoints import Checkpoints, DiffResult
from vmuser_tui.core.engine_config import LOCAL
from vmuser_tui.core.errors import NotFoundError, StoreError, UsageError, VmuserError
from vmuser_tui.core.journal import JournalEntry
from vmuser_tui.core.models import Checkpoint, Project
from vmuser_tui.core.pathcheck import normalize
from vmuser_tui.core.store import capture as cap
from vmuser_tui.core.store import diff as df
from vmuser_tui.core.store import restore as rs
from vmuser_tui.core.store.trees import Entry

if TYPE_CHECKING:  # pragma: no cover
    from vmuser_tui.core.runtime.engine_workspace import EngineWorkspace
    from vmuser_tui.core.sessions import StartOutcome

Progress = Callable[[int, int, int, int], None]
Match = Callable[[str, bool], bool]

#: What each status of a workspace -> checkpoint diff means for the workspace, in the
#: order restore summaries list them (the CLI and the TUI word them alike).
RESTORE_WORDS = (("M", "overwritten"), ("A", "re-created"), ("D", "deleted"), ("R", "renamed back"),
                 ("T", "replaced by another kind"))


def restore_counts(changes: list[df.Change]) -> list[tuple[str, str, int]]:
    """``[(status, word, count)]`` of the kinds present, in :data:`RESTORE_WORDS` order:
    the one count of what a restore changes, for the confirmation before it, the report
    after it and its operation-log entry."""
    counts = Counter(c.status for c in changes)
    return [(status, word, counts[status]) for status, word in RESTORE_WORDS if counts.get(status)]


def restore_summary(changes: list[df.Change]) -> str:
    """``'7 paths changed: 1 overwritten, 1 re-created, 4 deleted, 1 renamed back'``, or
    ``'no paths change'``. (The TUI colours the same counts: :func:`restore_counts`.)"""
    if not changes:
        return "no paths change"
    n = len(changes)
    parts = [f"{count} {word}" for _, word, count in restore_counts(changes)]
    return f"{n} path{'s' if n != 1 else ''} changed: " + ", ".join(parts)


def _deleted(changes: list[df.Change]) -> int:
    return sum(1 for c in changes if c.status == df.DELETED)


@dataclass
class RestoreOutcome:
    """What a restore did; ``pre_restore`` is the checkpoint that undoes it. ``changes``
    are the paths it changed, seen from the workspace (D: deleted, A: re-created,
    M: overwritten, R: renamed back, T: type changed), as the confirmation showed them.
    ``container``: the session started from the checkpoint's image when the restore was
    asked to recreate the container; ``container_error``: the error that recreating it
    raised (the workspace restore stands; an adapter reports it, the CLI raises it)."""

    checkpoint: Checkpoint
    pre_restore: Checkpoint
    result: rs.RestoreResult
    paths: list[str]
    changes: list[df.Change] = field(default_factory=list)
    left_alone: list[str] = field(default_factory=list)  # ignored paths the restore did not touch
    notes: list[str] = field(default_factory=list)  # about the pre-restore checkpoint, e.g. files left out
    container: StartOutcome | None = None
    container_error: VmuserError | None = None

    def summary(self) -> str:
        """One line: ``'7 paths changed: 1 overwritten, 1 re-created, 4 deleted, 1 renamed back'``."""
        return restore_summary(self.changes)


def _ignored(match: Match | None, path: str, is_dir: bool) -> bool:
    """``match`` says so for ``path`` or for a folder above it (as :func:`rs.spare` reads rules)."""
    if match is None:
        return False
    if match(path, is_dir):
        return True
    parent = path.rpartition("/")[0]
    while parent:
        if match(parent, True):
            return True
        parent = parent.rpartition("/")[0]
    return False


def _reason(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, VmuserError) else f"{type(exc).__name__}: {exc}"


#: How the restore journal names a workspace volume on an engine: ``engine:<name>``.
ENGINE_PREFIX = "engine:"
#: A workspace: a folder of this host, or a project's volume on another engine (issue 14).
Workspace = Union[Path, "EngineWorkspace"]


def _journal_name(workspace: Workspace, project: Project) -> Path | str:
    return workspace if isinstance(workspace, Path) else f"{ENGINE_PREFIX}{project.engine}"


def _live_kind(workspace: Workspace, path: str) -> bool | None:
    """Whether ``path`` in the live workspace is a folder (not a link to one); None when
    it is not there."""
    if isinstance(workspace, Path):
        full = os.path.join(workspace, path)
        if not os.path.lexists(full):
            return None
        return os.path.isdir(full) and not os.path.islink(full)
    from vmuser_tui.core.store.engine_files import EngineFiles

    try:
        return EngineFiles(workspace).stat(path).kind == "dir"
    except NotFoundError:
        return None


def _where(entry: JournalEntry) -> str:
    return f" (paths: {', '.join(entry.paths)})" if entry.paths else ""


class Restorer:
    """Restores of one service's checkpoints (``Vmuser.restores``)."""

    def __init__(self, checkpoints: Checkpoints) -> None:
        self.checkpoints = checkpoints
        self.ctx = checkpoints.ctx
        self.projects = checkpoints.projects
        self.sessions = checkpoints.sessions

    @property
    def db(self):
        return self.ctx.db

    # -- before: preview and checks ---------------------------------------------------
    def preview(self, ref: str, paths: list[str] | None = None, *, container: bool = False) -> DiffResult:
        """What restoring ``ref`` would do to the live workspace, as a diff from the
        workspace to the checkpoint: ``D`` = will be deleted, ``A`` = will be re-created,
        ``M`` = will be overwritten. ``from_id`` is None (the workspace), ``to_id`` the
        checkpoint. ``container``: the restore would recreate the container too; refused
        here already (StateError, UsageError) when it could not."""
        cp = self.checkpoints.get(ref)
        if container:
            self._check_container(cp, paths)
        forward = self.checkpoints.diff(cp.id, None, paths=paths)
        changes = sorted((df.invert(c) for c in forward.changes), key=lambda c: c.path)
        workspace = self._where(self.projects.get(cp.project_id))
        changes, alone = self.left_alone(workspace, cp, changes)
        return DiffResult(forward.project_id, None, forward.from_id, changes, forward.content_b, forward.content_a,
                          left_alone=alone)

    @staticmethod
    def _check_container(cp: Checkpoint, paths: list[str] | None) -> None:
        container_images.require_image(cp)
        if paths:
            raise UsageError("restoring the container restores the whole checkpoint; leave out the paths (--path)")

    def _where(self, project: Project) -> Workspace:
        """Where the project's workspace is: its folder (a Path), or on an engine other than
        ``local`` its volume there (issue 14; StateError when the volume is gone)."""
        if project.engine == LOCAL:
            return self.projects.workspace_dir(project)
        return self.checkpoints.engine_workspace(project)

    def _check_scope(self, cp: Checkpoint, workspace: Workspace, scope: list[str]) -> None:
        """Refuse a ``--path`` that is neither in the checkpoint nor in what a checkpoint of
        the workspace would take (it is missing there, or ignored), before anything is
        written: a refusal leaves no pre-restore checkpoint behind. Raises UsageError."""
        rules: Match | None = None
        for p in scope:
            if self.ctx.store.lookup(cp.root_tree, p) is not None:
                continue
            is_dir = _live_kind(workspace, p)
            if is_dir is None:
                raise UsageError(f"{p!r} is neither in checkpoint {cp.id} nor in the workspace")
            if rules is None:
                rules = self._match(workspace, "pre-restore")
            if _ignored(rules, p, is_dir):
                raise UsageError(f"{p!r} is neither in checkpoint {cp.id} nor in the workspace's checkpoints "
                                 "(it is ignored there: .vmuserignore or [snapshots] ignore)")

    def _match(self, workspace: Workspace, kind: str = "manual") -> Match | None:
        """The ``match(path, is_dir)`` of the ignore rules of a checkpoint of ``kind``, or None."""
        if isinstance(workspace, Path):
            return self.checkpoints.ignore_rules(workspace, kind).match
        return self.checkpoints.engine_ignore_rules(workspace, kind).match

    # -- planning --------------------------------------------------------------------
    def plan(
        self, cp: Checkpoint | None, workspace: Workspace, live: dict[str, Entry], target: dict[str, Entry],
        scope: list[str] | None,
    ) -> tuple[rs.RestorePlan, set[str]]:
        """The plan that makes ``live`` look like ``target`` (flat ``{path: Entry}`` maps)
        within ``scope``, and the paths it spares: every path the workspace's ignore rules
        match now (ignored files are the user's: a restore neither overwrites, re-creates
        nor deletes them, whatever the checkpoint holds), and, for an ``auto`` checkpoint,
        the secret files (``[snapshots] secret_patterns``): it never held them, and one taken
        before those patterns widened is not let write an old secret over the live one.
        ``cp`` is the checkpoint ``target`` comes from (None: spare only what is ignored).
        Used by :meth:`restore` and by the recovery of an interrupted restore, so both plan alike."""
        plan = rs.plan(target, live, scope)
        keep = rs.spare(plan, self.rules(workspace, cp.root_tree if cp is not None else None, target), live)
        if cp is not None and cp.kind == "auto":
            # secret files: never deleted (the checkpoint never held them), and never written
            # either (one taken by an older vmuser, with fewer secret patterns, may hold them)
            keep |= rs.spare(plan, self._match(workspace, "auto"), live)
        return plan, keep

    def rules(self, workspace: Workspace, root_tree: str | None,
              target: dict[str, Entry] | None = None) -> Match | None:
        """The ``match(path, is_dir)`` of what a restore to tree ``root_tree`` leaves alone,
        or None: what the workspace's ignore rules match now, and what the target's own
        ``.vmuserignore`` matched when it was taken (the checkpoint never captured those,
        so their absence from it is no reason to delete them: an undo after a restore that
        removed ``.vmuserignore`` keeps them too). ``target``: the flat map of the target,
        used when ``root_tree`` is None."""
        now = self._match(workspace)
        entry = (self.ctx.store.lookup(root_tree, ignore.IGNORE_FILE) if root_tree
                 else (target or {}).get(ignore.IGNORE_FILE))
        then: Match | None = None
        if entry is not None and entry.kind == "file" and entry.size <= 1024 * 1024:
            text = self.ctx.store.read_blob(entry.hash).decode("utf-8", "replace")
            try:
                then = ignore.parse(text, list(self.ctx.config.get("snapshots", "ignore"))).match
            except VmuserError:
                then = None  # a malformed file then: only today's rules count
        if now is None or then is None:
            return now or then
        first, second = now, then
        return lambda path, is_dir: first(path, is_dir) or second(path, is_dir)

    def left_alone(self, workspace: Workspace, cp: Checkpoint, changes: list[df.Change]
                   ) -> tuple[list[df.Change], list[str]]:
        """Split a restore preview's ``changes`` into those a restore of ``cp`` makes and
        the paths it leaves alone, as :meth:`plan` spares them: ignored ones (see
        :meth:`rules`) and, for an ``auto`` checkpoint, secret files. Returns
        ``(changes, left alone paths)``."""
        matchers = [m for m in (self.rules(workspace, cp.root_tree),
                                self._match(workspace, "auto") if cp.kind == "auto" else None) if m]
        if not matchers:
            return changes, []
        probe = rs.RestorePlan(write=[(c.path, None) for c in changes])  # type: ignore[misc]
        # a change's kind may differ on the two sides: a path counts when either kind matches
        spared = rs.spare(probe, lambda path, is_dir: any(m(path, is_dir) or m(path, not is_dir) for m in matchers))
        return [c for c in changes if c.path not in spared], sorted(spared)

    # -- the restore -----------------------------------------------------------------
    def restore(self, ref: str, *, paths: list[str] | None = None, progress: Progress | None = None,
                container: bool = False) -> RestoreOutcome:
        """Restore a checkpoint (or only ``paths`` of it) onto the live workspace; with
        ``container``, then replace the project's running sessions by a container started
        from the checkpoint's image (see :func:`container_images.recreate`; not when some
        path could not be restored; its failure is in ``container_error``).

        A ``pre-restore`` checkpoint of the workspace is taken first (or the head reused
        when nothing changed), so ``undo`` can bring it back. Only differing files are
        written. Raises UsageError for a path in neither the checkpoint nor the workspace's
        checkpoints, and StateError for a container restore of a checkpoint without an
        image (both before anything is written); StoreError when the plan is refused
        (invalid path, missing blob: nothing changed) or writing failed half-way (the
        workspace is rolled back to the pre-restore checkpoint, and the message says so).
        """
        ck = self.checkpoints
        cp = ck.get(ref)
        project = self.projects.get(cp.project_id)
        self.ctx.access.check(project.id, what="restore a checkpoint")
        workspace = self._where(project)
        scope = [normalize(p) for p in paths] if paths else None
        if container:
            self._check_container(cp, scope)
        self._check_scope(cp, workspace, scope or [])  # the one check of the scope: nothing written yet
        pre = ck.create(project.id, description=f"before restoring {cp.id}", kind="pre-restore")
        store = self.ctx.store
        # The live tree equals the pre-restore checkpoint right now (just captured): one
        # diff of the two trees, limited to the subtrees whose hashes differ, gives both
        # the plan and the changes reported.
        live, target = df.differing_flats(store.get_tree, pre.checkpoint.root_tree, store.get_tree, cp.root_tree)
        plan, keep = self.plan(cp, workspace, live, target, scope)
        alone = sorted(p for p in keep if p not in live)  # in the checkpoint, ignored in the workspace
        # What the pre-restore checkpoint could not take (unreadable, or changing on every
        # read) is still there, and could not be brought back by an undo: leave it as it is.
        uncaptured = {p for p, _ in pre.skipped} | set(pre.changing)
        if uncaptured:
            keep |= rs.spare(plan, lambda path, is_dir: path in uncaptured, live)
        changes = [c for c in df.flat_changes(live, target, paths=scope) if c.path not in keep]
        # paths and blobs: a refused restore changes nothing and leaves no journal
        rs.check(store, plan, workspace if isinstance(workspace, Path) else None)
        entry = None
        if not plan.empty:  # intent on disk before the first change (see core/journal.py)
            try:
                entry = journal.begin(self.db, project_id=project.id, workspace=_journal_name(workspace, project),
                                      checkpoint_id=cp.id,
                                      target_tree=cp.root_tree, pre_checkpoint_id=pre.checkpoint.id,
                                      pre_tree=pre.checkpoint.root_tree, paths=scope)
            except journal.Busy as busy:  # two restores of one workspace at once would leave a mix
                from vmuser_tui.core.errors import StateError

                other = busy.entry
                where = f" on host {other.host}" if other.host != procs.hostname() else ""
                raise StateError(f"another restore of project {other.project_id} is running (to checkpoint "
                                 f"{other.checkpoint_id}, pid {other.pid}{where}, since {other.started_at[11:19]} "
                                 "UTC); wait for it to finish, then restore again") from None
        try:
            result = self._apply(workspace, plan, progress)
        except Exception as exc:
            if entry is None:
                raise
            # Half-restored: put the workspace back now rather than at the next start.
            failure = self.roll_back(entry, str(exc))
            if failure is None:
                raise StoreError(f"{exc}; the workspace was rolled back to pre-restore checkpoint "
                                 f"{pre.checkpoint.id}") from exc
            raise StoreError(f"{exc}; rolling back failed too ({failure}): restore a checkpoint by hand, e.g. "
                             f"vmuser checkpoint restore {pre.checkpoint.id}") from exc
        try:
            self._record(entry, cp, pre.checkpoint, project, scope, result, changes, alone)
        except VmuserError as exc:  # applied, not recorded: the journal row stays for the next start
            raise StoreError(f"restored the workspace to checkpoint {cp.id} but could not record it ({exc}); "
                             f"pre-restore checkpoint {pre.checkpoint.id} holds the workspace as it was") from exc
        notes = [f"pre-restore checkpoint {pre.checkpoint.id}: {note}" for note in pre.notes]
        notes += [f"pre-restore checkpoint {pre.checkpoint.id}: skipped {path}: {why} (left as it is)"
                  for path, why in pre.skipped[:10]]
        outcome = RestoreOutcome(cp, pre.checkpoint, result, scope or [], changes, alone, notes)
        if container and not result.failed:  # a partly restored workspace: the user restores again first
            try:
                outcome.container = container_images.recreate(self.sessions, cp)
            except VmuserError as exc:
                outcome.container_error = exc
        return outcome

    def _record(self, entry: JournalEntry | None, cp: Checkpoint, pre: Checkpoint, project: Project,
                scope: list[str] | None, result: rs.RestoreResult, changes: list[df.Change], alone: list[str]) -> None:
        """Close the journal row, move the head (a whole restore) and log the restore, in one
        write transaction (after the workspace was written)."""
        with self.db.write() as conn:
            if entry is not None:
                journal.finish(conn, entry)
            now = clock.now_iso()
            if not scope:  # (`checkpoint rm` may have removed cp meanwhile: then the head stays the pre-restore one)
                conn.execute("UPDATE projects SET head_checkpoint_id = COALESCE((SELECT id FROM checkpoints "
                             "WHERE id = ?), head_checkpoint_id), last_active_at = ? WHERE id = ?",
                             (cp.id, now, project.id))
            else:
                conn.execute("UPDATE projects SET last_active_at = ? WHERE id = ?", (now, project.id))
            # only the lists that hold something (the entry stays short for the usual restore)
            extra: dict[str, Any] = {k: v for k, v in (("as_files", result.as_files),
                                                       ("failed", [p for p, _ in result.failed]),
                                                       ("kept", result.kept), ("left_alone", alone)) if v}
            oplog.record(conn, "checkpoint.restore", project_id=project.id, checkpoint=cp.id,
                         pre_restore=pre.id, paths=scope or [], written=result.written,
                         deleted=_deleted(changes), refused=[p for p, _ in result.refused], **extra)

    # -- undo ------------------------------------------------------------------------
    def last(self, project_ref: str) -> dict | None:
        """The newest ``checkpoint.restore`` log entry of a project (for undo), or None."""
        pid = self.projects.resolve(project_ref)
        rows = oplog.entries(self.db, project_id=pid, operation="checkpoint.restore", limit=1)
        return rows[0] if rows else None

    def undo(self, project_ref: str, progress: Progress | None = None) -> RestoreOutcome:
        """Undo the project's last restore by restoring its pre-restore checkpoint."""
        last = self.last(project_ref)
        if last is None:
            raise NotFoundError("this project has no restore to undo")
        pre = last["details"]["pre_restore"]
        try:
            return self.restore(pre, paths=last["details"].get("paths") or None, progress=progress)
        except NotFoundError:
            raise StoreError(f"the pre-restore checkpoint {pre} no longer exists; nothing to undo") from None

    # -- failure and recovery --------------------------------------------------------
    def _checkpoint(self, checkpoint_id: str | None) -> Checkpoint | None:
        """The checkpoint row, or None when it was forgotten meanwhile (its tree is still
        stored: the journal row is a gc root)."""
        if not checkpoint_id:
            return None
        row = self.db.query_one("SELECT id FROM checkpoints WHERE id = ?", (checkpoint_id,))
        return self.checkpoints.get(checkpoint_id) if row else None

    def _apply_tree(self, entry: JournalEntry, tree: str, cp: Checkpoint | None
                    ) -> tuple[rs.RestoreResult, list[df.Change]]:
        """Make the workspace equal ``tree`` within the entry's scope, from whatever state it is
        in: sweep temp files, scan (the stat cache spares unchanged files), plan, check, apply.
        ``cp``: the checkpoint whose tree it is (its kind decides what is spared), or None.
        Returns the result and the changes made (counted as :meth:`restore` counts them)."""
        store = self.ctx.store
        workspace: Workspace
        if entry.workspace.startswith(ENGINE_PREFIX):  # a workspace volume on that engine (issue 14)
            from vmuser_tui.core.store.engine_capture import live_tree_engine

            workspace = self.checkpoints.engine_workspace(self.projects.get(entry.project_id))
            _, _, found = live_tree_engine(self.db, entry.project_id, workspace, ignore=self._match(workspace))
        else:
            workspace = Path(entry.workspace)
            if not workspace.is_dir():
                raise StoreError(f"the workspace {workspace} is gone")
            rs.sweep_temp_files(workspace)
            rules = self._match(workspace)  # the rules its pre-restore checkpoint was taken with
            _, _, found = cap.live_tree(self.db, entry.project_id, workspace, ignore=rules, pool=store.pool())
        target = dict(store.walk(tree))
        plan, keep = self.plan(cp, workspace, found.flat, target, entry.paths)
        changes = [c for c in df.flat_changes(found.flat, target, paths=entry.paths) if c.path not in keep]
        return self._apply(workspace, plan, None, checked=False), changes

    def _apply(self, workspace: Workspace, plan: rs.RestorePlan, progress: Progress | None, *,
               checked: bool = True) -> rs.RestoreResult:
        """Apply a plan to the folder, or through the engine to its volume; ``checked``:
        :func:`rs.check` already passed (else it runs first: StoreError, nothing written)."""
        limits = self.ctx.config.get("limits", "outside_symlinks")
        if isinstance(workspace, Path):
            return rs.apply(self.ctx.store, workspace, plan, progress=progress, checked=checked,
                            outside_symlinks=limits, owner=container_user.workspace_owner(workspace))
        from vmuser_tui.core.store.engine_restore import apply_engine, sweep_engine

        if not checked:  # recovery: what an interrupted restore left in its temp folder goes first
            sweep_engine(workspace)
        return apply_engine(self.ctx.store, workspace, plan, progress=progress, checked=checked,
                            outside_symlinks=limits)

    def roll_back(self, entry: JournalEntry, reason: str) -> str | None:
        """Bring the workspace back to the pre-restore tree and close the journal row. Returns
        None when that worked, else why it failed; the row is closed either way (retrying at
        every start would not help; the pre-restore checkpoint stays for a restore by hand).
        Used when the target cannot be applied: at recovery, and right after a restore failed
        half-way in this process. Both outcomes go to the operation log."""
        try:
            if not entry.pre_tree:
                raise StoreError("the journal names no pre-restore tree")
            if entry.state != journal.ROLLING_BACK:
                journal.set_state(self.db, entry, journal.ROLLING_BACK)  # a kill from here on rolls back again
            result, changes = self._apply_tree(entry, entry.pre_tree, self._checkpoint(entry.pre_checkpoint_id))
        except Exception as exc:  # noqa: BLE001 - whatever it was, report it; never leave a row to loop on
            failure = _reason(exc)
            with self.db.write() as conn:
                oplog.record(conn, "checkpoint.recover-failed", project_id=entry.project_id,
                             checkpoint=entry.checkpoint_id, pre_restore=entry.pre_checkpoint_id,
                             paths=entry.paths or [], reason=reason, rollback_error=failure,
                             interrupted_pid=entry.pid)
                journal.finish(conn, entry)
            return failure
        with self.db.write() as conn:
            conn.execute("UPDATE projects SET last_active_at = ? WHERE id = ?", (clock.now_iso(), entry.project_id))
            oplog.record(conn, "checkpoint.rollback", project_id=entry.project_id, checkpoint=entry.checkpoint_id,
                         pre_restore=entry.pre_checkpoint_id, paths=entry.paths or [], reason=reason,
                         written=result.written, deleted=_deleted(changes), interrupted_pid=entry.pid)
            journal.finish(conn, entry)
        return None

    def roll_forward(self, entry: JournalEntry) -> str:
        """Finish an interrupted restore or, when its target cannot be applied (or it was being
        rolled back when interrupted), roll it back; returns the one-line outcome for the user,
        which starts with ``finished``, ``rolled back`` or ``could not``."""
        what = (f"an interrupted restore of project {entry.project_id} to checkpoint {entry.checkpoint_id}"
                f"{_where(entry)}")
        pre = entry.pre_checkpoint_id
        if entry.state == journal.ROLLING_BACK:
            reason = "it was being rolled back"
        else:
            cp = self._checkpoint(entry.checkpoint_id)
            try:
                result, changes = self._apply_tree(entry, entry.target_tree, cp)
            except Exception as exc:  # noqa: BLE001 - a damaged blob may raise zstd's error: roll back all the same
                reason = _reason(exc)
            else:
                with self.db.write() as conn:
                    now = clock.now_iso()
                    if not entry.paths and cp is not None:  # a whole restore moves the head, as restore() does
                        conn.execute("UPDATE projects SET head_checkpoint_id = ?, last_active_at = ? WHERE id = ?",
                                     (cp.id, now, entry.project_id))
                    else:
                        conn.execute("UPDATE projects SET last_active_at = ? WHERE id = ?", (now, entry.project_id))
                    oplog.record(conn, "checkpoint.restore", project_id=entry.project_id,
                                 checkpoint=entry.checkpoint_id, pre_restore=pre, paths=entry.paths or [],
                                 written=result.written, deleted=_deleted(changes),
                                 refused=[p for p, _ in result.refused], recovered=True, interrupted_pid=entry.pid)
                    journal.finish(conn, entry)
                return f"finished {what}"
        failure = self.roll_back(entry, reason)
        if failure is None:
            return f"rolled back {what} ({reason}); the workspace is back at pre-restore checkpoint {pre}"
        return (f"could not finish or roll back {what} ({reason}; then {failure}); the workspace may be mixed: "
                f"restore a checkpoint by hand, e.g. vmuser checkpoint restore {pre}")

    def _save_workspace(self, entry: JournalEntry) -> tuple[str | None, str | None]:
        """Take a checkpoint of the workspace as it is now, before an interrupted restore is
        finished or rolled back: it may hold work done since the kill (an editor, a session
        that kept running), which neither tree has. Returns ``(new checkpoint id or None when
        nothing changed, None)``, or ``(None, the line saying why recovery waits)`` when it
        could not be taken (the journal row stays for the next start)."""
        try:
            outcome = self.checkpoints.create(
                entry.project_id, kind="pre-restore",
                description=f"workspace before finishing an interrupted restore to {entry.checkpoint_id}")
        except VmuserError as exc:
            return None, (f"an interrupted restore of project {entry.project_id} to checkpoint {entry.checkpoint_id} "
                          f"waits: its workspace could not be saved first ({exc}); fix that and run vmuser again")
        return (outcome.checkpoint.id if outcome.created else None), None

    def _undo_hint(self, entry: JournalEntry, outcome: str) -> str:
        """``"; undo with: vmuser checkpoint restore PRE [--path P]..."`` for a finished
        interrupted restore whose pre-restore checkpoint still exists, else "". The killed
        process never printed its own undo line, and the checkpoint saved at recovery holds
        the half-restored mix, not the workspace as it was (session 22)."""
        if not outcome.startswith("finished") or self._checkpoint(entry.pre_checkpoint_id) is None:
            return ""
        import shlex

        scope = "".join(f" --path {shlex.quote(path)}" for path in entry.paths or [])
        return f"; undo with: vmuser checkpoint restore {entry.pre_checkpoint_id}{scope}"

    def recover(self) -> list[str]:
        """Finish or roll back every restore whose owner is gone (run by
        :class:`~vmuser_tui.core.service.Vmuser` when it starts); returns one line per
        restore for the user (empty when there was nothing to do, the usual case: one
        small query).

        First a checkpoint of the workspace as it is is taken (work done since the kill is
        in neither tree, and must not be lost); then the restore is rolled *forward*: the
        workspace is scanned as it is now, the restore planned again and applied (a plan
        lists only what still differs, so this is the same idempotent step however far the
        interrupted restore got). If the target cannot be applied (a blob is missing), it is
        rolled *back* to the pre-restore tree the same way. Either way the workspace ends
        equal to one of the two trees (within the scope), never a mix.

        Rows of live owners are left alone (a restore in progress elsewhere); rows from
        another host are reported, since their owner cannot be probed from here. Never
        raises for a recovery that fails: the line says so, and opening the service goes on.
        """
        notes: list[str] = []
        for entry in journal.entries(self.db):
            if entry.owner_alive():
                if entry.host != procs.hostname():
                    notes.append(f"a restore of project {entry.project_id} started on host {entry.host} (pid "
                                 f"{entry.pid}) is unfinished; run vmuser on that host to finish it")
                continue
            try:
                if journal.claim(self.db, entry):
                    saved, waits = self._save_workspace(entry)
                    if waits:
                        notes.append(waits)
                    else:
                        outcome = self.roll_forward(entry)
                        if saved:
                            outcome += f" (the workspace as it was before is saved as checkpoint {saved})"
                        notes.append(outcome + self._undo_hint(entry, outcome))
            except VmuserError as exc:  # e.g. the database is read-only: report and go on opening
                notes.append(f"could not recover the interrupted restore of project {entry.project_id} to "
                             f"checkpoint {entry.checkpoint_id}: {exc}")
        return notes

