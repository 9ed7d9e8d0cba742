"""``checkpoint rm``: remove chosen checkpoints (issue 13, "the edits users miss").

Where forget (:mod:`vmuser_tui.core.forget`, restic's ``forget``) lets a retention
policy choose, here the user names the checkpoints. The rest is forget's: a checkpoint
whose parent goes is re-pointed to its nearest kept ancestor
(:func:`~vmuser_tui.core.forget.reparent`), rows are deleted in one ``BEGIN IMMEDIATE``
transaction with one operation-log entry per project (``checkpoint.rm``, with the ids),
and the stored content stays until ``gc`` removes what no checkpoint reaches.

Refused:

- the project's head (``projects.head_checkpoint_id``: the checkpoint the workspace was
  last captured or restored at, the parent of the next one) unless ``force``; forced, the
  head moves to its nearest kept ancestor (None when it had none), as ``git branch -D``
  leaves the work tree alone while the history loses a commit;
- always, a checkpoint a restore still in progress uses (``restore_journal``): recovery
  needs its tree.

Every id is resolved and checked before anything is removed: one bad id, nothing changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from vmuser_tui.core import oplog
from vmuser_tui.core.errors import StateError, UsageError
from vmuser_tui.core.forget import nearest_kept, reparent
from vmuser_tui.core.models import Checkpoint

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from vmuser_tui.core.checkpoints import Checkpoints

_CHUNK = 500  # ids per DELETE, well under SQLite's variable limit


@dataclass
class RemoveResult:
    """What :func:`remove` did. ``removed``: the checkpoints removed, in the order named;
    ``reparented``: kept checkpoint id -> its new parent id (None: it became a root);
    ``heads``: project id -> its new head id (None: no checkpoint left to be the head),
    only for projects whose head was removed (``force``)."""

    removed: list[Checkpoint]
    reparented: dict[str, str | None] = field(default_factory=dict)
    heads: dict[str, str | None] = field(default_factory=dict)

    @property
    def ids(self) -> list[str]:
        return [c.id for c in self.removed]

    def to_json(self) -> dict:
        brief = ("id", "project_id", "created_at", "kind", "description", "tags")
        return {"removed": [{k: getattr(c, k) for k in brief} for c in self.removed],
                "reparented": self.reparented, "heads": self.heads,
                "note": "their stored data stays until: vmuser gc"}


def remove(checkpoints: Checkpoints, refs: Sequence[str], *, force: bool = False,
           dry_run: bool = False) -> RemoveResult:
    """Remove the checkpoints ``refs`` name (ids or unique prefixes; repeats count once).
    ``dry_run``: every check made and the result computed (for a confirmation), nothing
    changed.

    Raises UsageError (no ids), NotFoundError / AmbiguousError for a ref (nothing
    removed), StateError for a project's head without ``force`` or a checkpoint a
    restore in progress uses, ReadOnlyError / a lease refusal from the access rules.
    """
    if not refs:
        raise UsageError("name the checkpoints to remove: vmuser checkpoint rm ID...")
    ids: list[str] = []
    for ref in refs:  # all resolved before anything changes
        cid = checkpoints.resolve(ref)
        if cid not in ids:
            ids.append(cid)
    first = {cid: checkpoints.get(cid) for cid in ids}
    for pid in dict.fromkeys(c.project_id for c in first.values()):
        checkpoints.ctx.access.check(pid, what="remove checkpoints")
    result = RemoveResult([])
    with checkpoints.db.write() as conn:
        chosen = _rows(conn, "SELECT * FROM checkpoints WHERE id IN ({})", ids)
        if len(chosen) != len(ids):  # removed by another process since they were resolved
            missing = sorted(set(ids) - {c.id for c in chosen})
            raise StateError(f"checkpoint {', '.join(missing)} was removed meanwhile; nothing removed")
        by_project: dict[str, list[Checkpoint]] = {}
        for c in sorted(chosen, key=lambda c: ids.index(c.id)):
            by_project.setdefault(c.project_id, []).append(c)
        for pid, gone in by_project.items():
            _remove_project(conn, pid, gone, force, result, dry_run)
    return result


def _rows(conn, sql: str, ids: Sequence[str]) -> list[Checkpoint]:
    out: list[Checkpoint] = []
    for i in range(0, len(ids), _CHUNK):
        part = list(ids[i : i + _CHUNK])
        cur = conn.execute(sql.format(",".join("?" * len(part))), part)
        cols = [d[0] for d in cur.description]
        out += [Checkpoint.from_row(dict(zip(cols, row, strict=True))) for row in cur.fetchall()]
    return out


def _remove_project(conn, project_id: str, gone: list[Checkpoint], force: bool, result: RemoveResult,
                    dry_run: bool) -> None:
    """Remove ``gone`` (checkpoints of one project) inside the caller's transaction; with
    ``dry_run`` only check and fill ``result``."""
    gone_ids = {c.id for c in gone}
    busy = {row[0] for row in conn.execute(
        "SELECT checkpoint_id FROM restore_journal WHERE project_id = ? UNION "
        "SELECT pre_checkpoint_id FROM restore_journal WHERE project_id = ?", (project_id, project_id))}
    if used := sorted(gone_ids & busy):
        raise StateError(f"checkpoint {used[0]} is used by a restore still in progress; let it finish "
                         "(or start vmuser again to finish an interrupted one), then remove it")
    cur = conn.execute("SELECT * FROM checkpoints WHERE project_id = ?", (project_id,))
    cols = [d[0] for d in cur.description]
    every = [Checkpoint.from_row(dict(zip(cols, row, strict=True))) for row in cur.fetchall()]
    head = conn.execute("SELECT head_checkpoint_id FROM projects WHERE id = ?", (project_id,)).fetchone()[0]
    parents = {c.id: c.parent_id for c in every}
    new_head = nearest_kept(parents, head, gone_ids) if head else None
    if head in gone_ids:
        if not force:
            moved = f"the head moves to {new_head}" if new_head else "the project is left with no head"
            raise StateError(f"checkpoint {head} is the head of project {project_id} (the workspace was last "
                             f"captured or restored at it); pass --force to remove it anyway ({moved})")
        result.heads[project_id] = new_head
    moved_parents = reparent(every, gone_ids)
    result.removed += gone
    result.reparented.update(moved_parents)
    if dry_run:
        return
    if project_id in result.heads:
        conn.execute("UPDATE projects SET head_checkpoint_id = ? WHERE id = ?", (new_head, project_id))
    conn.executemany("UPDATE checkpoints SET parent_id = ? WHERE id = ?",
                     [(parent, child) for child, parent in moved_parents.items()])
    ids = [c.id for c in gone]
    for i in range(0, len(ids), _CHUNK):
        part = ids[i : i + _CHUNK]
        conn.execute(f"DELETE FROM checkpoints WHERE id IN ({','.join('?' * len(part))})", part)
    details: dict = {"checkpoints": ids, "reparented": moved_parents}
    if project_id in result.heads:
        details["head"] = {"from": head, "to": new_head}
    oplog.record(conn, "checkpoint.rm", project_id=project_id, **details)
