"""Forget (restic's ``forget``): delete the checkpoint rows a retention policy lets go.

The decisions come from :mod:`vmuser_tui.core.retention`; this module adds what only the
database knows and does the deleting. Kept regardless of the policy: the project's head
(``projects.head_checkpoint_id``, the parent of the next checkpoint) and the pre-restore
checkpoint of a restore still in progress (``restore_journal``). A kept checkpoint whose
parent is forgotten is re-pointed to its nearest kept ancestor, so the timeline stays
connected. Stored content stays until ``gc`` (restic's ``prune``) removes what no
checkpoint reaches any more: never in one step, as design section 3 says.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from vmuser_tui.core import clock, oplog, retention
from vmuser_tui.core.errors import UsageError
from vmuser_tui.core.models import Checkpoint

_CHUNK = 500  # ids per DELETE, well under SQLite's variable limit


@dataclass
class ForgetResult:
    """What :func:`forget` did (or, with ``dry_run``, would do). ``kept``: ``(checkpoint,
    reasons)`` newest first; ``forgotten``: checkpoints newest first; ``reparented``: kept
    checkpoint id -> its new parent id (None: it became a root)."""

    project_id: str
    policy: retention.RetentionPolicy
    kept: list[tuple[Checkpoint, tuple[str, ...]]]
    forgotten: list[Checkpoint]
    reparented: dict[str, str | None] = field(default_factory=dict)
    dry_run: bool = False

    def to_json(self) -> dict:
        brief = ("id", "created_at", "kind", "description", "tags")
        return {
            "project": self.project_id,
            "dry_run": self.dry_run,
            "policy": self.policy.to_json(),
            "keep": [{**{k: getattr(c, k) for k in brief}, "reasons": list(why)} for c, why in self.kept],
            "forget": [{k: getattr(c, k) for k in brief} for c in self.forgotten],
            "reparented": self.reparented,
        }


def plan(
    conn, project_id: str, policy: retention.RetentionPolicy, *, now=None, only: Collection[str] | None = None
) -> ForgetResult:
    """Decide, without changing anything, on the connection ``conn`` (inside the caller's
    transaction when it will delete); ``now`` and ``only`` as for :func:`forget`. Raises
    UsageError for an empty policy."""
    if policy.is_empty():
        raise UsageError(
            "the retention policy is empty, so nothing would be forgotten; give a rule such as "
            "--keep-last 10 or set [retention] in the config (restic refuses an empty policy too)"
        )
    cur = conn.execute(
        "SELECT * FROM checkpoints WHERE project_id = ? ORDER BY created_at DESC, rowid DESC", (project_id,)
    )
    cols = [d[0] for d in cur.description]
    checkpoints = [Checkpoint.from_row(dict(zip(cols, row, strict=True))) for row in cur.fetchall()]
    head = conn.execute("SELECT head_checkpoint_id FROM projects WHERE id = ?", (project_id,)).fetchone()
    pinned = {head[0]: "head"} if head and head[0] else {}
    for (pre,) in conn.execute(
        "SELECT pre_checkpoint_id FROM restore_journal WHERE project_id = ? AND pre_checkpoint_id IS NOT NULL",
        (project_id,),
    ):
        pinned.setdefault(pre, "restore in progress")

    decided = retention.apply(policy, checkpoints, now=now or clock.now())
    reasons = {d.id: d.reasons for d in decided.keep}
    present = {c.id for c in checkpoints}
    for cid, why in pinned.items():  # said even when the policy keeps it anyway
        if cid in present:
            reasons[cid] = (*reasons.get(cid, ()), why)
    if only is not None:
        allowed = set(only)
        for d in decided.forget:
            if d.id not in allowed and d.id not in reasons:
                reasons[d.id] = ("not in the preview",)
    kept = [(c, reasons[c.id]) for c in checkpoints if c.id in reasons]
    gone = [c for c in checkpoints if c.id not in reasons]
    return ForgetResult(project_id, policy, kept, gone, reparent(checkpoints, {c.id for c in gone}))


def nearest_kept(parent: dict[str, str | None], start: str | None, gone: Collection[str]) -> str | None:
    """``start`` itself when it stays, else its nearest ancestor (by ``parent``: id ->
    parent id) not in ``gone``; None when every ancestor goes (it becomes a root)."""
    p = start
    seen: set[str | None] = set()
    while p in gone and p not in seen:  # `seen` guards against a (corrupt) cycle
        seen.add(p)
        p = parent.get(p)  # type: ignore[arg-type]  # p is in gone: a str
    return None if p in gone else p


def reparent(checkpoints: list[Checkpoint], gone: set[str]) -> dict[str, str | None]:
    """New parents for kept checkpoints whose parent goes: the nearest kept ancestor.
    Also used by ``checkpoint rm`` (:mod:`vmuser_tui.core.checkpoint_rm`)."""
    parent = {c.id: c.parent_id for c in checkpoints}
    out: dict[str, str | None] = {}
    for c in checkpoints:
        if c.id in gone or c.parent_id not in gone:
            continue
        out[c.id] = nearest_kept(parent, c.parent_id, gone)
    return out


def forget(
    db,
    project_id: str,
    policy: retention.RetentionPolicy,
    *,
    dry_run: bool = False,
    only: Collection[str] | None = None,
    now=None,
) -> ForgetResult:
    """Apply ``policy`` to one project's checkpoints and delete the rows it forgets, in one
    ``BEGIN IMMEDIATE`` transaction with one ``checkpoint.forget`` operation-log entry.

    ``dry_run``: decide only, change nothing. ``only``: forget no checkpoint outside these
    ids (those a confirmation showed; anything that arrived since is kept, reason
    ``"not in the preview"``). ``now``: aware UTC datetime for ``keep_within`` (default:
    :func:`clock.now`). Raises UsageError for an empty policy. Blobs and trees stay until
    ``gc``.
    """
    if dry_run:
        conn = db.conn
        nested = conn.in_transaction
        if not nested:
            conn.execute("BEGIN")  # a read transaction: every query sees the same snapshot
        try:
            result = plan(conn, project_id, policy, now=now)
        finally:
            if not nested:
                conn.execute("COMMIT")
        result.dry_run = True
        return result
    with db.write() as conn:
        result = plan(conn, project_id, policy, now=now, only=only)
        if not result.forgotten:
            return result
        ids = [c.id for c in result.forgotten]
        conn.executemany(
            "UPDATE checkpoints SET parent_id = ? WHERE id = ?",
            [(parent, child) for child, parent in result.reparented.items()],
        )
        for i in range(0, len(ids), _CHUNK):
            part = ids[i : i + _CHUNK]
            conn.execute(f"DELETE FROM checkpoints WHERE id IN ({','.join('?' * len(part))})", part)
        oplog.record(
            conn,
            "checkpoint.forget",
            project_id=project_id,
            forgotten=ids,
            kept=len(result.kept),
            reparented=result.reparented,
            policy=policy.describe(),
        )
    return result
