"""Checkpoints: create (capture), list, show, tag, diff. Restore and undo live above this
module, in :mod:`vmuser_tui.core.restoring` (``vm.restores``), where a restore is planned,
checked, journalled, applied and rolled back in one place.

A checkpoint's parent is the project's head: the last checkpoint taken or restored. A
restore takes a ``pre-restore`` checkpoint first, so every restore can be undone; a
restore of a whole checkpoint moves the head to it, so new work branches the timeline.
"""

from __future__ import annotations

import builtins
import errno
import json
import os
import stat as statmod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from vmuser_tui.core import clock, oplog
from vmuser_tui.core.checkpoint_race import settle
from vmuser_tui.core.context import Context
from vmuser_tui.core.errors import NotFoundError, StateError, UsageError, VmuserError
from vmuser_tui.core.ids import new_short_id
from vmuser_tui.core.models import Checkpoint, Project
from vmuser_tui.core.pathcheck import normalize
from vmuser_tui.core.projects import validate_tag
from vmuser_tui.core.store import diff as df
from vmuser_tui.core.store.trees import Entry

if TYPE_CHECKING:  # (capture, ignore and confined load when a method needs them: start-up time)
    from vmuser_tui.core import ignore
    from vmuser_tui.core.checkpoint_rm import RemoveResult
    from vmuser_tui.core.runtime.engine_workspace import EngineWorkspace
    from vmuser_tui.core.search import CheckpointMatch
    from vmuser_tui.core.store import capture as cap  # pragma: no cover - annotations only

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
    content_a: df.ContentGetter
    content_b: df.ContentGetter
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


class Checkpoints:
    """Checkpoint operations; capture and restore run here, storage in :mod:`.store`."""

    def __init__(self, ctx: Context, projects, sessions):
        """``sessions``: the :class:`~vmuser_tui.core.sessions.Sessions`, or a function
        returning it (made on first use: listing or diffing checkpoints never needs it)."""
        self.ctx = ctx
        self.projects = projects
        self._sessions = sessions

    @property
    def sessions(self):
        if callable(self._sessions):
            self._sessions = self._sessions()
        return self._sessions

    @property
    def db(self):
        return self.ctx.db

    def resolve(self, ref: str) -> str:
        """A checkpoint id from a full id or unique prefix."""
        return self.db.resolve("checkpoints", ref, what="checkpoint")

    def _head(self, head_id: str | None) -> Checkpoint | None:
        """The project's head checkpoint, or None when it has none or its row is gone (a
        damaged data dir: ``vmuser check`` names it); the next checkpoint then starts a new
        line rather than failing with "no checkpoint matches" an id the user never typed."""
        if not head_id:
            return None
        try:
            return self.get(head_id)
        except NotFoundError:
            return None

    def get(self, ref: str) -> Checkpoint:
        """The checkpoint ``ref`` names. Raises NotFoundError / AmbiguousError."""
        return Checkpoint.from_row(self.db.query_one("SELECT * FROM checkpoints WHERE id = ?", (self.resolve(ref),)))

    def _target(self, ref: str) -> tuple[str, str | None]:
        """``(project id, session id or None)`` for a SESSION|PROJECT argument."""
        try:  # (the sessions table read here: Sessions and the runtime modules stay unloaded)
            session_id = self.db.resolve("sessions", ref, what="session")
            row = self.db.conn.execute("SELECT project_id FROM sessions WHERE id = ?", (session_id,)).fetchone()
            if row is not None:  # (None: deleted by another process since resolve() found it)
                if session_id != ref:  # a prefix: it may also be a project's name (a project "e658")
                    from vmuser_tui.core.target_ref import refuse_session_or_project

                    refuse_session_or_project(self.projects, ref, session_id, row[0])
                return row[0], session_id
        except NotFoundError:
            pass
        try:
            return self.projects.resolve(ref), None
        except NotFoundError:
            raise NotFoundError(f"no session or project matches {ref!r}; list them with: vmuser project list") from None

    def list(self, ref: str, *, tag: str | None = None, limit: int | None = None,
             annotation_tag: str | None = None) -> list[Checkpoint]:
        """Checkpoints of a project or a session, newest first, optionally with ``tag`` and
        with an annotation tagged ``annotation_tag``."""
        project_id, session_id = self._target(ref)
        where, params = ["project_id = ?"], [project_id]
        if session_id:
            where.append("session_id = ?")
            params.append(session_id)
        if tag:
            where.append("EXISTS (SELECT 1 FROM json_each(checkpoints.tags) WHERE value = ?)")
            params.append(tag)
        if annotation_tag:
            from vmuser_tui.core.annotations import HAS_ANNOTATION_TAG

            where.append(HAS_ANNOTATION_TAG)
            params.append(annotation_tag)
        sql = f"SELECT * FROM checkpoints WHERE {' AND '.join(where)} ORDER BY created_at DESC, rowid DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [Checkpoint.from_row(r) for r in self.db.query(sql, tuple(params))]

    def search(self, ref: str, text: str, *, tags: Sequence[str] = (), annotation_tag: str | None = None,
               limit: int | None = None) -> builtins.list[CheckpointMatch]:
        """Full-text search of a project's (or a session's) checkpoints: descriptions, tags,
        annotations (label, note, tags). ``text``: words (all must match), "phrases",
        prefix* (:func:`vmuser_tui.core.search_query.parse`). Best match first, each a
        :class:`~vmuser_tui.core.search.CheckpointMatch` with a snippet; ``tags`` and
        ``annotation_tag`` filter as :meth:`list`'s do. Raises UsageError for a query with
        nothing to search for (one line), NotFoundError for ``ref``."""
        from vmuser_tui.core import search
        from vmuser_tui.core.search_query import parse

        query = parse(text)
        project_id, session_id = self._target(ref)
        from vmuser_tui.core.annotations import HAS_ANNOTATION_TAG

        return search.checkpoints(self.db, query, project_id=project_id, session_id=session_id, tags=tuple(tags),
                                  conditions=((HAS_ANNOTATION_TAG, annotation_tag),) if annotation_tag else (),
                                  limit=limit)

    def create(
        self,
        ref: str,
        *,
        description: str = "",
        tags: Sequence[str] = (),
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
        head = self._head(project.head_checkpoint_id)
        cid = new_short_id()
        created: dict[str, str] = {}  # "yes": the new id; "same_as": a head that holds these files

        def finalize(conn, result: cap.CaptureResult) -> None:
            nonlocal session_id
            if head and head.root_tree == result.root and not allow_empty:
                return
            # another process may have deleted the project or the session, or moved the head, meanwhile
            settled = settle(conn, project_id, session_id, head.id if head else None, result.root)
            if settled.same_as and not allow_empty:
                created["same_as"] = settled.same_as
                return
            session_id = settled.session_id
            now = clock.now_iso()
            conn.execute(
                "INSERT INTO checkpoints(id, project_id, session_id, parent_id, root_tree, kind, description, tags, "
                "file_count, total_size, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (cid, project_id, session_id, parent_override or settled.parent_id, result.root, kind,
                 description, json.dumps(tags), result.file_count, result.total_size, now),
            )
            conn.execute("UPDATE projects SET head_checkpoint_id = ?, last_active_at = ? WHERE id = ?",
                         (cid, now, project_id))
            if session_id:
                conn.execute("UPDATE sessions SET last_active_at = ? WHERE id = ?", (now, session_id))
            oplog.record(conn, "checkpoint.create", project_id=project_id, session_id=session_id, checkpoint=cid,
                         kind=kind, description=description, tags=tags, files=result.file_count,
                         bytes=result.total_size, skipped=len(result.skipped),
                         **({"vanished": len(result.vanished)} if result.vanished else {}),
                         **({"changing": len(result.changing)} if result.changing else {}))
            created["yes"] = cid

        if project.engine != "local":  # the workspace is a volume on that engine (issue 14)
            from vmuser_tui.core.store.engine_capture import capture_engine

            ws = self.engine_workspace(project)
            result = capture_engine(self.db, self.ctx.store, project_id, ws,
                                    ignore=self.engine_ignore_rules(ws, kind).match, progress=progress,
                                    finalize=finalize)
        else:
            workspace = self.projects.workspace_dir(project)
            rules = self.ignore_rules(workspace, kind)
            state = self.ctx.live_state(project_id, workspace)
            if state is not None and state.rules_key != rules.key:  # scanned under other rules
                state.invalidate()
                state.rules_key = rules.key
            from vmuser_tui.core.store import capture as cap

            result = cap.capture(
                self.db, self.ctx.store, project_id, workspace, ignore=rules.match,
                workers=self.ctx.config.get("store", "workers"), progress=progress, finalize=finalize,
                state=state, rules_key=rules.key,
            )
        left_out = {"vanished": result.vanished, "changing": result.changing}
        if not created.get("yes"):
            same = created.get("same_as") or (head.id if head else None)
            assert same is not None, "only a capture equal to the head's files is not created"
            if tags:
                self.tag(same, tags)
            return CreateOutcome(self.get(same), False, 0, result.hashed_files, result.skipped,
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

    def tag(self, ref: str, add: Sequence[str], remove: Sequence[str] = ()) -> Checkpoint:
        """Add (and remove) tags on a checkpoint."""
        cp = self.get(ref)
        self.ctx.access.check(cp.project_id, what="tag a checkpoint")
        tags = sorted((set(cp.tags) | {validate_tag(t) for t in add}) - set(remove))
        with self.db.write() as conn:
            conn.execute("UPDATE checkpoints SET tags = ? WHERE id = ?", (json.dumps(tags), cp.id))
            oplog.record(conn, "checkpoint.tag", project_id=cp.project_id, session_id=cp.session_id,
                         checkpoint=cp.id, add=list(add), remove=list(remove))
        return self.get(cp.id)

    def annotate(self, ref: str, label: str, note: str = "", tags: Sequence[str] = ()) -> Checkpoint:
        """Attach an annotation ``{label, note, tags, at, actor}`` to a checkpoint; the same
        label again replaces it (see :mod:`vmuser_tui.core.annotations`)."""
        from vmuser_tui.core import annotations

        return annotations.annotate(self, ref, label, note, tags)

    def remove_annotation(self, ref: str, label: str) -> Checkpoint:
        """Remove the annotation labelled ``label`` (NotFoundError when there is none)."""
        from vmuser_tui.core import annotations

        return annotations.remove(self, ref, label)

    def remove(self, refs: Sequence[str], *, force: bool = False, dry_run: bool = False) -> RemoveResult:
        """Remove the checkpoints ``refs`` name; children re-parent as forget's do; the head
        only with ``force``; ``dry_run`` checks only (see :func:`vmuser_tui.core.checkpoint_rm.remove`)."""
        from vmuser_tui.core import checkpoint_rm

        return checkpoint_rm.remove(self, refs, force=force, dry_run=dry_run)

    def engine_workspace(self, project: Project) -> EngineWorkspace:
        """The workspace volume of a project that lives on an engine other than ``local``,
        its helper running. Raises StateError when the volume is gone from the engine (it is
        never silently re-created empty: a checkpoint of an empty workspace would look like
        every file deleted), RuntimeUnavailableError when the engine does not answer."""
        from vmuser_tui.core import engine_workspaces

        ws = engine_workspaces.workspace(self.ctx, project.id, project.engine)
        if not ws.exists():
            raise StateError(f"the workspace volume {ws.volume} of project {project.name} is gone from engine "
                             f"{project.engine}: start a session there to fill it from the last checkpoint "
                             f"(vmuser session start {project.name})")
        ws.ensure()
        return ws

    def _extra_patterns(self, kind: str) -> builtins.list[str]:
        extra = list(self.ctx.config.get("snapshots", "ignore"))
        if kind == "auto":
            extra = list(self.ctx.config.get("snapshots", "secret_patterns")) + extra
        return extra

    def engine_ignore_rules(self, ws: EngineWorkspace, kind: str = "manual") -> ignore.IgnoreRules:
        """:meth:`ignore_rules` for a workspace volume on an engine: the same config
        patterns plus its ``.vmuserignore`` read there (no data dir or other project can be
        inside a volume)."""
        from vmuser_tui.core import engine_workspaces

        return engine_workspaces.ignore_rules(ws, self._extra_patterns(kind))

    def ignore_rules(self, workspace: Path, kind: str = "manual") -> ignore.IgnoreRules:
        """The ignore rules for a checkpoint of ``kind`` of the workspace: ``[snapshots] ignore``
        plus ``.vmuserignore``; for ``auto`` checkpoints ``[snapshots] secret_patterns`` first,
        so a ``!.env`` line in ``.vmuserignore`` opts that project back in. For every kind,
        whatever the rules say, the vmuser data dirs and other projects' workspaces inside
        this one are left out (:func:`vmuser_tui.core.workspace_guard.excluded_inside`)."""
        extra = self._extra_patterns(kind)
        # never vmuser's own: the data dir, other projects' workspaces (older databases may
        # hold such workspaces, and a data dir can be moved into one later)
        from vmuser_tui.core import workspace_guard

        inside = workspace_guard.excluded_inside(
            workspace, self.ctx.data_dir, [r["workspace"] for r in self.db.query("SELECT workspace FROM projects")])
        from vmuser_tui.core import ignore

        return ignore.with_exclusions(ignore.load(workspace, extra), inside)

    # -- diff ------------------------------------------------------------------
    def _store_content(self, path: str, entry: Entry) -> bytes:
        return self.ctx.store.read_blob(entry.hash)

    def diff(
        self, from_ref: str, to_ref: str | None = None, *, paths: Sequence[str] | None = None, counts: bool = True
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
        elif (project := self.projects.get(a.project_id)).engine != "local":
            changes, content_b = self._diff_engine_live(project, a, norm)
            to_id = None
        else:
            workspace = self.projects.workspace_dir(project)
            # under the rules `a` was taken with: an auto checkpoint never held secret files
            from vmuser_tui.core.store import capture as cap

            root, trees, _ = cap.live_tree(self.db, a.project_id, workspace,
                                           ignore=self.ignore_rules(workspace, a.kind).match, pool=store.pool())

            def get_live(digest: str) -> list[Entry]:
                return trees[digest] if digest in trees else store.get_tree(digest)

            changes = df.diff_trees(store.get_tree, a.root_tree, get_live, root, paths=norm)

            def content_b(path: str, entry: Entry) -> bytes:
                from vmuser_tui.core.store.confined import Confined, PathChanged, open_regular

                # through folder descriptors (s22): a folder swapped for a link to a host folder
                # since the scan never shows the host's file as the workspace's
                with Confined(workspace) as tree:
                    try:
                        dir_fd, name = tree.parent(path)
                    except PathChanged as exc:
                        raise OSError(errno.ENOENT, exc.why, path) from None
                    fd, st = open_regular(name, dir_fd)
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

    def _diff_engine_live(self, project: Project, a: Checkpoint, paths: builtins.list[str] | None):
        """Changes from checkpoint ``a`` to the live workspace volume of ``project`` on its
        engine, and a reader of the live side's files (through the engine)."""
        from vmuser_tui.core.store.engine_capture import live_tree_engine
        from vmuser_tui.core.store.engine_files import EngineFiles

        store = self.ctx.store
        ws = self.engine_workspace(project)
        root, trees, _ = live_tree_engine(self.db, project.id, ws, ignore=self.engine_ignore_rules(ws, a.kind).match)

        def get_live(digest: str) -> list[Entry]:
            return trees[digest] if digest in trees else store.get_tree(digest)

        files = EngineFiles(ws)

        def content_b(path: str, entry: Entry) -> bytes:
            return files.read(path)

        return df.diff_trees(store.get_tree, a.root_tree, get_live, root, paths=paths), content_b

    def file_diff(self, result: DiffResult, change: df.Change, *, context: int = 3) -> str:
        """The unified text diff of one change of ``result``."""
        try:
            return df.unified(change, result.content_a, result.content_b, context=context)
        except OSError as exc:
            return f"cannot read {change.path}: {exc.strerror}\n"

    def entry(self, ref: str, path: str) -> Entry | None:
        """The stored tree entry (kind, mode, size, hash) at ``path`` in checkpoint ``ref``,
        or None when the checkpoint has no such path. ``''`` is the root."""
        cp = self.get(ref)
        return self.ctx.store.lookup(cp.root_tree, normalize(path, allow_root=True))
