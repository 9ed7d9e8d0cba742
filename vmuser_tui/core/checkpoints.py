"""Checkpoints: create (capture), list, show, tag, diff, restore and undo.

A checkpoint's parent is the project's head: the last checkpoint taken or restored. A
restore takes a ``pre-restore`` checkpoint first, so every restore can be undone; a
restore of a whole checkpoint moves the head to it, so new work branches the timeline.
"""

from __future__ import annotations

import errno
import json
import os
import stat as statmod
from dataclasses import dataclass, field
from pathlib import Path

from vmuser_tui.core import clock, container_user, ignore, journal, oplog
from vmuser_tui.core.context import Context
from vmuser_tui.core.errors import NotFoundError, StoreError, UsageError, VmuserError
from vmuser_tui.core.ids import new_short_id
from vmuser_tui.core.models import Checkpoint
from vmuser_tui.core.pathcheck import normalize
from vmuser_tui.core.projects import validate_tag
from vmuser_tui.core.store import capture as cap
from vmuser_tui.core.store import diff as df
from vmuser_tui.core.store import restore as rs
from vmuser_tui.core.store.confined import open_regular
from vmuser_tui.core.store.trees import Entry

KINDS = ("manual", "auto", "pre-restore")


@dataclass
class CreateOutcome:
    """Outcome of :meth:`Checkpoints.create`. ``created`` is False when nothing changed
    since the project's head; ``checkpoint`` is then that head. ``new_bytes``: stored
    (compressed) bytes of new blobs; ``hashed_files``: files read because their stat
    changed; ``skipped``: ``(path, reason)`` for what could not be captured;
    ``vanished`` / ``changing``: paths left out because they went away while the
    checkpoint was taken (a build's temp files) or changed on every read; ``notes``: one
    line for each of those (see :func:`left_out_notes`) and others, for the user."""

    checkpoint: Checkpoint
    created: bool
    new_bytes: int = 0
    hashed_files: int = 0
    skipped: list = field(default_factory=list)
    notes: list = field(default_factory=list)  # e.g. the container image could not be recorded
    vanished: list = field(default_factory=list)
    changing: list = field(default_factory=list)


def left_out_notes(vanished: list[str], changing: list[str]) -> list[str]:
    """One line per kind of path a capture left out because the workspace moved under it:
    ``'3 files vanished while the checkpoint was taken (left out)'`` and ``'1 file kept
    changing while it was read (left out; the next checkpoint takes it)'``. Counted once,
    not listed path by path: a build can delete thousands of temp files."""
    notes = []
    if vanished:
        n = len(vanished)
        notes.append(f"{n:,} file{'s' if n != 1 else ''} vanished while the checkpoint was taken (left out)")
    if changing:
        n = len(changing)
        notes.append(f"{n:,} file{'s' if n != 1 else ''} kept changing while {'they were' if n != 1 else 'it was'} "
                     f"read (left out; the next checkpoint takes {'them' if n != 1 else 'it'})")
    return notes


@dataclass
class DiffResult:
    """Changes from ``from_id`` to ``to_id``; None on either side means the live workspace."""

    project_id: str
    from_id: str | None
    to_id: str | None
    changes: list[df.Change]
    content_a: object
    content_b: object
    left_alone: list[str] = field(default_factory=list)  # restore previews: ignored paths it does not touch

    def to_json(self) -> dict:
        out = {"from": self.from_id or "workspace", "to": self.to_id or "workspace",
               "changes": [c.to_json() for c in self.changes]}
        if self.left_alone:
            out["left_alone"] = self.left_alone
        return out

    def stat(self) -> dict:
        """Totals: files changed, lines added and deleted."""
        return {"files": len(self.changes), "additions": sum(c.additions for c in self.changes),
                "deletions": sum(c.deletions for c in self.changes)}


@dataclass
class RestoreOutcome:
    """What a restore did; ``pre_restore`` is the checkpoint that undoes it. ``changes``
    are the paths it changed, seen from the workspace (D: deleted, A: re-created,
    M: overwritten, R: renamed back, T: type changed), as the confirmation showed them."""

    checkpoint: Checkpoint
    pre_restore: Checkpoint
    result: rs.RestoreResult
    paths: list[str]
    changes: list[df.Change] = field(default_factory=list)
    left_alone: list[str] = field(default_factory=list)  # ignored paths the restore did not touch
    notes: list[str] = field(default_factory=list)  # about the pre-restore checkpoint, e.g. files left out

    def summary(self) -> str:
        """One line: ``'7 paths changed: 1 overwritten, 1 re-created, 4 deleted, 1 renamed back'``."""
        return restore_summary(self.changes)


#: What each status of a workspace -> checkpoint diff means for the workspace, in the
#: order restore summaries list them (the CLI and the TUI word them alike).
RESTORE_WORDS = (("M", "overwritten"), ("A", "re-created"), ("D", "deleted"), ("R", "renamed back"),
                 ("T", "replaced by another kind"))


def restore_summary(changes: list[df.Change]) -> str:
    """Describe what restoring changes (or changed) in the workspace, counted by kind, for
    the confirmation before and the report after, so the two always agree."""
    if not changes:
        return "no paths change"
    counts = {}
    for c in changes:
        counts[c.status] = counts.get(c.status, 0) + 1
    parts = [f"{counts[k]} {word}" for k, word in RESTORE_WORDS if counts.get(k)]
    n = len(changes)
    return f"{n} path{'s' if n != 1 else ''} changed: " + ", ".join(parts)


class Checkpoints:
    """Checkpoint operations; capture and restore run here, storage in :mod:`.store`."""

    def __init__(self, ctx: Context, projects, sessions):
        self.ctx = ctx
        self.projects = projects
        self.sessions = sessions

    @property
    def db(self):
        return self.ctx.db

    def resolve(self, ref: str) -> str:
        """A checkpoint id from a full id or unique prefix."""
        return self.db.resolve("checkpoints", ref, what="checkpoint")

    def get(self, ref: str) -> Checkpoint:
        """The checkpoint ``ref`` names. Raises NotFoundError / AmbiguousError."""
        return Checkpoint.from_row(self.db.query_one("SELECT * FROM checkpoints WHERE id = ?", (self.resolve(ref),)))

    def _target(self, ref: str) -> tuple[str, str | None]:
        """``(project id, session id or None)`` for a SESSION|PROJECT argument."""
        try:
            session = self.sessions.get(ref)
            return session.project_id, session.id
        except NotFoundError:
            pass
        try:
            return self.projects.resolve(ref), None
        except NotFoundError:
            raise NotFoundError(f"no session or project matches {ref!r}; list them with: vmuser project list") from None

    def list(self, ref: str, *, tag: str | None = None, limit: int | None = None) -> list[Checkpoint]:
        """Checkpoints of a project or a session, newest first, optionally with ``tag``."""
        project_id, session_id = self._target(ref)
        where, params = ["project_id = ?"], [project_id]
        if session_id:
            where.append("session_id = ?")
            params.append(session_id)
        if tag:
            where.append("EXISTS (SELECT 1 FROM json_each(checkpoints.tags) WHERE value = ?)")
            params.append(tag)
        sql = f"SELECT * FROM checkpoints WHERE {' AND '.join(where)} ORDER BY created_at DESC, rowid DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [Checkpoint.from_row(r) for r in self.db.query(sql, tuple(params))]

    def create(
        self,
        ref: str,
        *,
        description: str = "",
        tags: list[str] | tuple[str, ...] = (),
        kind: str = "manual",
        progress=None,
        parent_override: str | None = None,
        allow_empty: bool = False,
    ) -> CreateOutcome:
        """Capture the workspace of a project (or of a session's project) as a checkpoint.

        Nothing changed since the head: no new checkpoint, ``created=False`` and the head
        returned (tags given are added to it) -- unless ``allow_empty`` (git's
        ``commit --allow-empty``): then a checkpoint with the head's files is taken anyway,
        so a description typed for it is kept. Raises StoreError for unreadable files,
        UsageError for bad tags or kinds.
        """
        if kind not in KINDS:
            raise UsageError(f"unknown checkpoint kind {kind!r}")
        tags = sorted({validate_tag(t) for t in tags})
        project_id, session_id = self._target(ref)
        if kind != "auto":  # automatic checkpoints only add to the timeline: never refused
            self.ctx.access.check(project_id, what="take a checkpoint")
        elif self.ctx.access.read_only:  # ... except by a read-only client, which changes nothing
            self.ctx.access.check(None, what="take a checkpoint")
        if session_id is None:  # a project named: credit its session when exactly one runs
            running = self.db.query(
                "SELECT id FROM sessions WHERE project_id = ? AND status = 'running' LIMIT 2", (project_id,))
            if len(running) == 1:
                session_id = running[0]["id"]
        project = self.projects.get(project_id)
        head = self.get(project.head_checkpoint_id) if project.head_checkpoint_id else None
        cid = new_short_id()
        created = {}

        def finalize(conn, result: cap.CaptureResult) -> None:
            if head and head.root_tree == result.root and not allow_empty:
                return
            now = clock.now_iso()
            conn.execute(
                "INSERT INTO checkpoints(id, project_id, session_id, parent_id, root_tree, kind, description, tags, "
                "file_count, total_size, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (cid, project_id, session_id, parent_override or (head.id if head else None), result.root, kind,
                 description, json.dumps(tags), result.file_count, result.total_size, now),
            )
            conn.execute("UPDATE projects SET head_checkpoint_id = ?, last_active_at = ? WHERE id = ?", (cid, now, project_id))
            if session_id:
                conn.execute("UPDATE sessions SET last_active_at = ? WHERE id = ?", (now, session_id))
            oplog.record(conn, "checkpoint.create", project_id=project_id, session_id=session_id, checkpoint=cid,
                         kind=kind, description=description, tags=tags, files=result.file_count,
                         bytes=result.total_size, skipped=len(result.skipped),
                         **({"vanished": len(result.vanished)} if result.vanished else {}),
                         **({"changing": len(result.changing)} if result.changing else {}))
            created["yes"] = True

        workspace = self.projects.workspace_dir(project)
        rules = self.ignore_rules(workspace, kind)
        state = self.ctx.live_state(project_id, workspace)
        if state is not None and state.rules_key != rules.key:  # scanned under other rules
            state.invalidate()
            state.rules_key = rules.key
        result = cap.capture(
            self.db, self.ctx.store, project_id, workspace, ignore=rules.match,
            workers=self.ctx.config.get("store", "workers"), progress=progress, finalize=finalize,
            state=state,
        )
        left_out = {"vanished": result.vanished, "changing": result.changing}
        if not created:
            if tags:
                self.tag(head.id, tags)
            return CreateOutcome(self.get(head.id), False, 0, result.hashed_files, result.skipped,
                                 left_out_notes(result.vanished, result.changing), **left_out)
        notes = left_out_notes(result.vanished, result.changing)
        if self.ctx.config.get("snapshots", "container_image"):
            from vmuser_tui.core import container_images

            try:
                container_images.record(self.ctx, cid, project_id)
            except VmuserError as exc:  # the workspace checkpoint stands; say what is missing
                notes.append(f"checkpoint {cid} has no container image: {exc}")
        return CreateOutcome(self.get(cid), True, result.new_bytes, result.hashed_files, result.skipped, notes,
                             **left_out)

    def tag(self, ref: str, add: list[str], remove: list[str] = ()) -> Checkpoint:
        """Add (and remove) tags on a checkpoint."""
        cp = self.get(ref)
        self.ctx.access.check(cp.project_id, what="tag a checkpoint")
        tags = sorted((set(cp.tags) | {validate_tag(t) for t in add}) - set(remove))
        with self.db.write() as conn:
            conn.execute("UPDATE checkpoints SET tags = ? WHERE id = ?", (json.dumps(tags), cp.id))
            oplog.record(conn, "checkpoint.tag", project_id=cp.project_id, session_id=cp.session_id,
                         checkpoint=cp.id, add=list(add), remove=list(remove))
        return self.get(cp.id)

    def annotate(self, ref: str, label: str, note: str = "") -> Checkpoint:
        """Attach an annotation ``{label, note, at, actor}`` to a checkpoint."""
        cp = self.get(ref)
        self.ctx.access.check(cp.project_id, what="annotate a checkpoint")
        label = label.strip()
        if not label or len(label) > 80:
            raise UsageError("an annotation label needs 1-80 characters")
        notes = cp.annotations + [{"label": label, "note": note, "at": clock.now_iso(), "actor": oplog.actor()}]
        with self.db.write() as conn:
            conn.execute("UPDATE checkpoints SET annotations = ? WHERE id = ?", (json.dumps(notes), cp.id))
            oplog.record(conn, "checkpoint.annotate", project_id=cp.project_id, checkpoint=cp.id, label=label)
        return self.get(cp.id)

    def ignore_rules(self, workspace: Path, kind: str = "manual") -> ignore.IgnoreRules:
        """The ignore rules for a checkpoint of ``kind`` of the workspace: ``[snapshots] ignore``
        plus ``.vmuserignore``; for ``auto`` checkpoints ``[snapshots] secret_patterns`` first,
        so a ``!.env`` line in ``.vmuserignore`` opts that project back in. For every kind,
        whatever the rules say, the vmuser data dirs and other projects' workspaces inside
        this one are left out (:func:`vmuser_tui.core.workspace_guard.excluded_inside`)."""
        extra = list(self.ctx.config.get("snapshots", "ignore"))
        if kind == "auto":
            extra = list(self.ctx.config.get("snapshots", "secret_patterns")) + extra
        # never vmuser's own: the data dir, other projects' workspaces (older databases may
        # hold such workspaces, and a data dir can be moved into one later)
        from vmuser_tui.core import workspace_guard

        inside = workspace_guard.excluded_inside(
            workspace, self.ctx.data_dir, [r["workspace"] for r in self.db.query("SELECT workspace FROM projects")])
        return ignore.with_exclusions(ignore.load(workspace, extra), inside)

    # -- diff ------------------------------------------------------------------
    def _store_content(self, path: str, entry: Entry) -> bytes:
        return self.ctx.store.read_blob(entry.hash)

    def diff(
        self, from_ref: str, to_ref: str | None = None, *, paths: list[str] | None = None, counts: bool = True
    ) -> DiffResult:
        """Diff checkpoint ``from_ref`` against ``to_ref`` or, when None, the live workspace
        of its project. ``paths`` limits it to those paths. With ``counts``, every file
        change gets line counts (reads both sides)."""
        a = self.get(from_ref)
        norm = [normalize(p) for p in paths] if paths else None
        store = self.ctx.store
        if to_ref is not None:
            b = self.get(to_ref)
            if b.project_id != a.project_id:
                raise UsageError(f"checkpoints {a.id} and {b.id} belong to different projects")
            changes = df.diff_trees(store.get_tree, a.root_tree, store.get_tree, b.root_tree, paths=norm)
            content_b = self._store_content
            to_id = b.id
        else:
            project = self.projects.get(a.project_id)
            workspace = self.projects.workspace_dir(project)
            # under the rules `a` was taken with: an auto checkpoint never held secret files
            root, trees, _ = cap.live_tree(self.db, a.project_id, workspace,
                                           ignore=self.ignore_rules(workspace, a.kind).match, pool=store.pool())

            def get_live(digest: str) -> list[Entry]:
                return trees[digest] if digest in trees else store.get_tree(digest)

            changes = df.diff_trees(store.get_tree, a.root_tree, get_live, root, paths=norm)

            def content_b(path: str, entry: Entry) -> bytes:
                fd, st = open_regular(os.path.join(workspace, path))
                with os.fdopen(fd, "rb") as fh:
                    if not statmod.S_ISREG(st.st_mode):  # swapped for a fifo or a device since the scan
                        raise OSError(errno.EINVAL, "not a regular file", path)
                    return fh.read()

            to_id = None
        result = DiffResult(a.project_id, a.id, to_id, changes, self._store_content, content_b)
        if counts:
            for change in changes:
                try:
                    df.count_lines(change, result.content_a, result.content_b)
                except OSError:
                    change.binary = True  # vanished or unreadable since the scan
        return result

    def file_diff(self, result: DiffResult, change: df.Change, *, context: int = 3) -> str:
        """The unified text diff of one change of ``result``."""
        try:
            return df.unified(change, result.content_a, result.content_b, context=context)
        except OSError as exc:
            return f"cannot read {change.path}: {exc.strerror}\n"

    # -- restore ---------------------------------------------------------------
    def restore_preview(self, ref: str, paths: list[str] | None = None) -> DiffResult:
        """What restoring ``ref`` would do to the live workspace, as a diff from the
        workspace to the checkpoint: ``D`` = will be deleted, ``A`` = will be re-created,
        ``M`` = will be overwritten. ``from_id`` is None (the workspace), ``to_id`` the checkpoint."""
        forward = self.diff(ref, None, paths=paths)
        changes = sorted((df.invert(c) for c in forward.changes), key=lambda c: c.path)
        workspace = self.projects.workspace_dir(self.projects.get(forward.project_id))
        changes, alone = self.left_alone(workspace, self.get(forward.from_id), changes)
        return DiffResult(forward.project_id, None, forward.from_id, changes, forward.content_b, forward.content_a,
                          left_alone=alone)

    def restore(self, ref: str, *, paths: list[str] | None = None, progress=None) -> RestoreOutcome:
        """Restore a checkpoint (or only ``paths`` of it) onto the live workspace.

        A ``pre-restore`` checkpoint of the workspace is taken first (or the head reused
        when nothing changed), so ``undo`` can bring it back. Only differing files are
        written. A ``restore_journal`` row lives while the workspace is being changed, so
        a restore killed half-way is finished (or rolled back) when vmuser next starts
        (:mod:`vmuser_tui.core.journal`). Raises UsageError for a path that is in neither
        the checkpoint nor the workspace; StoreError when the plan is refused (invalid
        path, missing blob: nothing changed) or writing failed half-way (the workspace is
        rolled back to the pre-restore checkpoint, and the message says so).
        """
        cp = self.get(ref)
        project = self.projects.get(cp.project_id)
        self.ctx.access.check(project.id, what="restore a checkpoint")
        workspace = self.projects.workspace_dir(project)
        scope = [normalize(p) for p in paths] if paths else None
        for p in scope or ():  # refuse a path in neither place before the pre-restore checkpoint is taken
            if self.ctx.store.lookup(cp.root_tree, p) is None and not os.path.lexists(os.path.join(workspace, p)):
                raise UsageError(f"{p!r} is neither in checkpoint {cp.id} nor in the workspace")
        pre = self.create(project.id, description=f"before restoring {cp.id}", kind="pre-restore")
        store = self.ctx.store
        if scope:
            for p in scope:
                if store.lookup(cp.root_tree, p) is None and store.lookup(pre.checkpoint.root_tree, p) is None:
                    raise UsageError(f"{p!r} is neither in checkpoint {cp.id} nor in the workspace")
        # The live tree equals the pre-restore checkpoint right now (just captured), so
        # only the subtrees whose hashes differ between the two need looking at.
        live, target = df.differing_flats(store.get_tree, pre.checkpoint.root_tree, store.get_tree, cp.root_tree)
        plan, keep = self.restore_plan(cp, workspace, live, target, scope)
        alone = sorted(p for p in keep if p not in live)  # in the checkpoint, ignored in the workspace
        # What the pre-restore checkpoint could not take (unreadable, or changing on every
        # read) is still there, and could not be brought back by an undo: leave it as it is.
        uncaptured = {p for p, _ in pre.skipped} | set(pre.changing)
        if uncaptured:
            keep |= rs.spare(plan, lambda path, is_dir: path in uncaptured, live)
        changes = df.diff_trees(store.get_tree, pre.checkpoint.root_tree, store.get_tree, cp.root_tree, paths=scope)
        if keep:
            changes = [c for c in changes if c.path not in keep]
        rs.check(store, plan, workspace)  # paths and blobs: a refused restore changes nothing and leaves no journal
        entry = None
        if not plan.empty:  # intent on disk before the first change (see core/journal.py)
            entry = journal.begin(self.db, project_id=project.id, workspace=workspace, checkpoint_id=cp.id,
                                  target_tree=cp.root_tree, pre_checkpoint_id=pre.checkpoint.id,
                                  pre_tree=pre.checkpoint.root_tree, paths=scope)
        try:
            result = rs.apply(store, workspace, plan, progress=progress, checked=True,
                              outside_symlinks=self.ctx.config.get("limits", "outside_symlinks"),
                              owner=container_user.workspace_owner(workspace))
        except Exception as exc:
            if entry is None:
                raise
            # Half-restored: put the workspace back now rather than at the next start.
            failure = journal.roll_back(self, entry, str(exc))
            if failure is None:
                raise StoreError(f"{exc}; the workspace was rolled back to pre-restore checkpoint "
                                 f"{pre.checkpoint.id}") from exc
            raise StoreError(f"{exc}; rolling back failed too ({failure}): restore a checkpoint by hand, e.g. "
                             f"vmuser checkpoint restore {pre.checkpoint.id}") from exc
        with self.db.write() as conn:
            if entry is not None:
                journal.finish(conn, entry)
            now = clock.now_iso()
            if not scope:
                conn.execute("UPDATE projects SET head_checkpoint_id = ?, last_active_at = ? WHERE id = ?", (cp.id, now, project.id))
            else:
                conn.execute("UPDATE projects SET last_active_at = ? WHERE id = ?", (now, project.id))
            oplog.record(conn, "checkpoint.restore", project_id=project.id, checkpoint=cp.id,
                         pre_restore=pre.checkpoint.id, paths=scope or [], written=result.written,
                         deleted=result.deleted, refused=[p for p, _ in result.refused],
                         **({"as_files": result.as_files} if result.as_files else {}),
                         **({"failed": [p for p, _ in result.failed]} if result.failed else {}),
                         **({"kept": result.kept} if result.kept else {}),
                         **({"left_alone": alone} if alone else {}))
        notes = [f"pre-restore checkpoint {pre.checkpoint.id}: {note}" for note in pre.notes]
        notes += [f"pre-restore checkpoint {pre.checkpoint.id}: skipped {path}: {why} (left as it is)"
                  for path, why in pre.skipped[:10]]
        return RestoreOutcome(cp, pre.checkpoint, result, scope or [], changes, alone, notes)

    def restore_plan(
        self, cp: Checkpoint | None, workspace: Path, live: dict[str, Entry], target: dict[str, Entry],
        scope: list[str] | None,
    ) -> tuple[rs.RestorePlan, set[str]]:
        """The plan that makes ``live`` look like ``target`` (flat ``{path: Entry}`` maps)
        within ``scope``, and the paths it spares: every path the workspace's ignore rules
        match now (ignored files are the user's: a restore neither overwrites, re-creates
        nor deletes them, whatever the checkpoint holds), and, for an ``auto`` checkpoint,
        the secret files (``[snapshots] secret_patterns``): it never held them, and one taken
        before those patterns widened is not let write an old secret over the live one. ``cp`` is the checkpoint ``target`` comes from
        (None: spare only what is ignored). Shared by :meth:`restore` and the recovery of an
        interrupted restore (:mod:`vmuser_tui.core.journal`), so both plan alike."""
        plan = rs.plan(target, live, scope)
        keep = rs.spare(plan, self.restore_rules(workspace, cp.root_tree if cp is not None else None, target), live)
        if cp is not None and cp.kind == "auto":
            # secret files: never deleted (the checkpoint never held them), and never written
            # either (one taken by an older vmuser, with fewer secret patterns, may hold them)
            keep |= rs.spare(plan, self.ignore_rules(workspace, "auto").match, live)
        return plan, keep

    def restore_rules(self, workspace: Path, root_tree: str | None, target: dict[str, Entry] | None = None):
        """The ``match(path, is_dir)`` of what a restore to tree ``root_tree`` leaves alone,
        or None: what the workspace's ignore rules match now, and what the target's own
        ``.vmuserignore`` matched when it was taken (the checkpoint never captured those,
        so their absence from it is no reason to delete them: an undo after a restore that
        removed ``.vmuserignore`` keeps them too). ``target``: the flat map of the target,
        used when ``root_tree`` is None."""
        now = self.ignore_rules(workspace).match
        entry = (self.ctx.store.lookup(root_tree, ignore.IGNORE_FILE) if root_tree
                 else (target or {}).get(ignore.IGNORE_FILE))
        then = None
        if entry is not None and entry.kind == "file" and entry.size <= 1024 * 1024:
            text = self.ctx.store.read_blob(entry.hash).decode("utf-8", "replace")
            try:
                then = ignore.parse(text, list(self.ctx.config.get("snapshots", "ignore"))).match
            except VmuserError:
                then = None  # a malformed file then: only today's rules count
        if now is None or then is None:
            return now or then
        return lambda path, is_dir: now(path, is_dir) or then(path, is_dir)

    def left_alone(self, workspace: Path, cp: Checkpoint, changes: list[df.Change]
                   ) -> tuple[list[df.Change], list[str]]:
        """Split a restore preview's ``changes`` into those a restore of ``cp`` makes and
        the paths it leaves alone, as :meth:`restore_plan` spares them: ignored ones (see
        :meth:`restore_rules`) and, for an ``auto`` checkpoint, secret files. Returns
        ``(changes, left alone paths)``."""
        matchers = [m for m in (self.restore_rules(workspace, cp.root_tree),
                                self.ignore_rules(workspace, "auto").match if cp.kind == "auto" else None) if m]
        if not matchers:
            return changes, []
        probe = rs.RestorePlan(write=[(c.path, None) for c in changes])
        # a change's kind may differ on the two sides: a path counts when either kind matches
        spared = rs.spare(probe, lambda path, is_dir: any(m(path, is_dir) or m(path, not is_dir) for m in matchers))
        return [c for c in changes if c.path not in spared], sorted(spared)

    def last_restore(self, project_ref: str) -> dict | None:
        """The newest ``checkpoint.restore`` log entry of a project (for undo), or None."""
        pid = self.projects.resolve(project_ref)
        rows = oplog.entries(self.db, project_id=pid, operation="checkpoint.restore", limit=1)
        return rows[0] if rows else None

    def undo_restore(self, project_ref: str, progress=None) -> RestoreOutcome:
        """Undo the project's last restore by restoring its pre-restore checkpoint."""
        last = self.last_restore(project_ref)
        if last is None:
            raise NotFoundError("this project has no restore to undo")
        pre = last["details"]["pre_restore"]
        try:
            return self.restore(pre, paths=last["details"].get("paths") or None, progress=progress)
        except NotFoundError:
            raise StoreError(f"the pre-restore checkpoint {pre} no longer exists; nothing to undo") from None

    def entry(self, ref: str, path: str) -> Entry | None:
        """The stored tree entry (kind, mode, size, hash) at ``path`` in checkpoint ``ref``,
        or None when the checkpoint has no such path. ``''`` is the root."""
        cp = self.get(ref)
        return self.ctx.store.lookup(cp.root_tree, normalize(path, allow_root=True))
