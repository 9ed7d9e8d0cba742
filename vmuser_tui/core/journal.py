"""The restore journal: a restore that was interrupted is finished or rolled back on the next start.

Write order (git's ``index.lock``, restic's "data first, then the snapshot"): a restore
first takes its pre-restore checkpoint, then checks its plan (paths, blobs), then commits
a ``restore_journal`` row naming the target tree, the pre-restore tree, the ``--path``
scope and its owner (host, pid, process start time), and only then touches the
workspace. The row is deleted in the same transaction as the restore's log entry. So a
row whose owner is gone means the workspace may hold a mix of both trees.

Recovery (:func:`recover`, run by :class:`~vmuser_tui.core.service.Vmuser` when it
starts) first takes a checkpoint of the workspace as it is (work done since the kill is
in neither tree, and must not be lost), then rolls such a restore *forward*: it scans the workspace as it is now, plans the
restore again and applies it; a plan lists only what still differs, so this is the same
idempotent step however far the interrupted restore got. If the target cannot be applied
(e.g. a blob is missing), it rolls *back* to the pre-restore tree the same way. Either way
the workspace ends equal to one of the two trees (within the scope), never a mix, and the
user is told which, once: a line in ``Vmuser.notes`` and an operation-log entry.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from vmuser_tui.core import clock, container_user, oplog, procs
from vmuser_tui.core.errors import StoreError, VmuserError
from vmuser_tui.core.ids import new_short_id
from vmuser_tui.core.store import capture as cap
from vmuser_tui.core.store import restore as rs

APPLYING = "applying"
ROLLING_BACK = "rolling-back"


@dataclass
class JournalEntry:
    """One ``restore_journal`` row: a restore of ``target_tree`` (checkpoint
    ``checkpoint_id``) onto ``workspace``, whose undo is ``pre_tree`` (checkpoint
    ``pre_checkpoint_id``). ``paths``: the ``--path`` scope, or None for the whole tree.
    ``state``: :data:`APPLYING` or :data:`ROLLING_BACK`. Owner: ``host``, ``pid`` and
    ``pid_start`` (clock ticks since boot, None where unknown)."""

    id: str
    project_id: str
    workspace: str
    checkpoint_id: str
    target_tree: str
    pre_checkpoint_id: str | None
    pre_tree: str | None
    paths: list[str] | None
    state: str
    pid: int
    host: str
    pid_start: int | None
    started_at: str

    @classmethod
    def from_row(cls, row: dict) -> JournalEntry:
        fields = {k: row[k] for k in cls.__dataclass_fields__}
        fields["paths"] = json.loads(row["paths"]) if row["paths"] else None
        return cls(**fields)

    def owner_alive(self) -> bool:
        """True while the process that owns the row may still be running (see :func:`procs.alive`)."""
        return procs.alive(self.pid, self.host, start=self.pid_start)


def begin(
    database,
    *,
    project_id: str,
    workspace: Path,
    checkpoint_id: str,
    target_tree: str,
    pre_checkpoint_id: str,
    pre_tree: str,
    paths: list[str] | None,
) -> JournalEntry:
    """Record a restore about to touch ``workspace``, in its own committed transaction
    (it must be on disk before the first change). Raises StoreError (disk full, read-only)."""
    entry = JournalEntry(
        id=new_short_id(12),
        project_id=project_id,
        workspace=os.fspath(workspace),
        checkpoint_id=checkpoint_id,
        target_tree=target_tree,
        pre_checkpoint_id=pre_checkpoint_id,
        pre_tree=pre_tree,
        paths=list(paths) if paths else None,
        state=APPLYING,
        pid=os.getpid(),
        host=procs.hostname(),
        pid_start=procs.start_ticks(),
        started_at=clock.now_iso(),
    )
    with database.write() as conn:
        conn.execute(
            "INSERT INTO restore_journal(id, project_id, workspace, checkpoint_id, target_tree, pre_checkpoint_id, "
            "pre_tree, paths, state, pid, host, pid_start, started_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                entry.id,
                entry.project_id,
                entry.workspace,
                entry.checkpoint_id,
                entry.target_tree,
                entry.pre_checkpoint_id,
                entry.pre_tree,
                json.dumps(entry.paths) if entry.paths else None,
                entry.state,
                entry.pid,
                entry.host,
                entry.pid_start,
                entry.started_at,
            ),
        )
    return entry


def finish(conn, entry: JournalEntry) -> None:
    """Delete the row, inside the transaction that records how the restore ended."""
    conn.execute("DELETE FROM restore_journal WHERE id = ?", (entry.id,))


def entries(database, project_id: str | None = None) -> list[JournalEntry]:
    """Restores in progress or interrupted, oldest first; of one project when given."""
    sql, params = "SELECT * FROM restore_journal", ()
    if project_id:
        sql, params = sql + " WHERE project_id = ?", (project_id,)
    return [JournalEntry.from_row(r) for r in database.query(sql + " ORDER BY started_at, id", params)]


def _claim(database, entry: JournalEntry) -> bool:
    """Make this process the row's owner, unless another process got there first (compare
    and swap on the old owner): two processes starting at once recover a restore once."""
    with database.write() as conn:
        cur = conn.execute(
            "UPDATE restore_journal SET pid = ?, host = ?, pid_start = ? "
            "WHERE id = ? AND pid = ? AND host = ? AND pid_start IS ?",
            (os.getpid(), procs.hostname(), procs.start_ticks(), entry.id, entry.pid, entry.host, entry.pid_start),
        )
        return cur.rowcount == 1


def _set_state(database, entry: JournalEntry, state: str) -> None:
    with database.write() as conn:
        conn.execute("UPDATE restore_journal SET state = ? WHERE id = ?", (state, entry.id))
    entry.state = state


def _checkpoint(checkpoints, checkpoint_id: str | None):
    """The checkpoint row, or None when it was forgotten meanwhile (its tree is still
    stored: the journal row is a gc root)."""
    if not checkpoint_id:
        return None
    row = checkpoints.db.query_one("SELECT id FROM checkpoints WHERE id = ?", (checkpoint_id,))
    return checkpoints.get(checkpoint_id) if row else None


def _apply_tree(checkpoints, entry: JournalEntry, tree: str, cp) -> rs.RestoreResult:
    """Make the workspace equal ``tree`` within the entry's scope, from whatever state it is
    in: sweep temp files, scan (the stat cache spares unchanged files), plan, check, apply.
    ``cp``: the checkpoint whose tree it is (its kind decides what is spared), or None."""
    workspace = Path(entry.workspace)
    if not workspace.is_dir():
        raise StoreError(f"the workspace {workspace} is gone")
    store = checkpoints.ctx.store
    rs.sweep_temp_files(workspace)
    rules = checkpoints.ignore_rules(workspace)  # the rules its pre-restore checkpoint was taken with
    _, _, found = cap.live_tree(checkpoints.db, entry.project_id, workspace, ignore=rules.match, pool=store.pool())
    target = dict(store.walk(tree))
    plan, _ = checkpoints.restore_plan(cp, workspace, found.flat, target, entry.paths)
    return rs.apply(store, workspace, plan, outside_symlinks=checkpoints.ctx.config.get("limits", "outside_symlinks"),
                    owner=container_user.workspace_owner(workspace))


def _where(entry: JournalEntry) -> str:
    return f" (paths: {', '.join(entry.paths)})" if entry.paths else ""


def _reason(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, VmuserError) else f"{type(exc).__name__}: {exc}"


def roll_back(checkpoints, entry: JournalEntry, reason: str) -> str | None:
    """Bring the workspace back to the pre-restore tree and close the journal row. Returns
    None when that worked, else why it failed; the row is closed either way (retrying at
    every start would not help; the pre-restore checkpoint stays for a restore by hand).
    Used when the target cannot be applied: at recovery, and right after a restore failed
    half-way in this process. Both outcomes go to the operation log."""
    db = checkpoints.db
    try:
        if not entry.pre_tree:
            raise StoreError("the journal names no pre-restore tree")
        if entry.state != ROLLING_BACK:
            _set_state(db, entry, ROLLING_BACK)  # a kill from here on rolls back again, not forward
        result = _apply_tree(checkpoints, entry, entry.pre_tree, _checkpoint(checkpoints, entry.pre_checkpoint_id))
    except Exception as exc:  # noqa: BLE001 - whatever it was, report it; never leave a row to loop on
        failure = _reason(exc)
        with db.write() as conn:
            oplog.record(
                conn,
                "checkpoint.recover-failed",
                project_id=entry.project_id,
                checkpoint=entry.checkpoint_id,
                pre_restore=entry.pre_checkpoint_id,
                paths=entry.paths or [],
                reason=reason,
                rollback_error=failure,
                interrupted_pid=entry.pid,
            )
            finish(conn, entry)
        return failure
    with db.write() as conn:
        conn.execute("UPDATE projects SET last_active_at = ? WHERE id = ?", (clock.now_iso(), entry.project_id))
        oplog.record(
            conn,
            "checkpoint.rollback",
            project_id=entry.project_id,
            checkpoint=entry.checkpoint_id,
            pre_restore=entry.pre_checkpoint_id,
            paths=entry.paths or [],
            reason=reason,
            written=result.written,
            deleted=result.deleted,
            interrupted_pid=entry.pid,
        )
        finish(conn, entry)
    return None


def roll_forward(checkpoints, entry: JournalEntry) -> str:
    """Finish an interrupted restore or, when its target cannot be applied (or it was being
    rolled back when interrupted), roll it back; returns the one-line outcome for the user,
    which starts with ``finished``, ``rolled back`` or ``could not``."""
    what = f"an interrupted restore of project {entry.project_id} to checkpoint {entry.checkpoint_id}{_where(entry)}"
    pre = entry.pre_checkpoint_id
    if entry.state == ROLLING_BACK:
        reason = "it was being rolled back"
    else:
        cp = _checkpoint(checkpoints, entry.checkpoint_id)
        try:
            result = _apply_tree(checkpoints, entry, entry.target_tree, cp)
        except Exception as exc:  # noqa: BLE001 - a damaged blob may raise zstd's error: roll back all the same
            reason = _reason(exc)
        else:
            with checkpoints.db.write() as conn:
                now = clock.now_iso()
                if not entry.paths and cp is not None:  # a whole restore moves the head, as restore() does
                    conn.execute(
                        "UPDATE projects SET head_checkpoint_id = ?, last_active_at = ? WHERE id = ?",
                        (cp.id, now, entry.project_id),
                    )
                else:
                    conn.execute("UPDATE projects SET last_active_at = ? WHERE id = ?", (now, entry.project_id))
                oplog.record(
                    conn,
                    "checkpoint.restore",
                    project_id=entry.project_id,
                    checkpoint=entry.checkpoint_id,
                    pre_restore=pre,
                    paths=entry.paths or [],
                    written=result.written,
                    deleted=result.deleted,
                    refused=[p for p, _ in result.refused],
                    recovered=True,
                    interrupted_pid=entry.pid,
                )
                finish(conn, entry)
            return f"finished {what}"
    failure = roll_back(checkpoints, entry, reason)
    if failure is None:
        return f"rolled back {what} ({reason}); the workspace is back at pre-restore checkpoint {pre}"
    return (
        f"could not finish or roll back {what} ({reason}; then {failure}); the workspace may be mixed: "
        f"restore a checkpoint by hand, e.g. vmuser checkpoint restore {pre}"
    )


def _save_workspace(checkpoints, entry: JournalEntry) -> tuple[str | None, str | None]:
    """Take a checkpoint of the workspace as it is now, before an interrupted restore is
    finished or rolled back: it may hold work done since the kill (an editor, a session
    that kept running), which neither tree has. Returns ``(new checkpoint id or None when
    nothing changed, None)``, or ``(None, the line saying why recovery waits)`` when it
    could not be taken (the journal row stays for the next start)."""
    try:
        outcome = checkpoints.create(
            entry.project_id, kind="pre-restore",
            description=f"workspace before finishing an interrupted restore to {entry.checkpoint_id}")
    except VmuserError as exc:
        return None, (f"an interrupted restore of project {entry.project_id} to checkpoint {entry.checkpoint_id} "
                      f"waits: its workspace could not be saved first ({exc}); fix that and run vmuser again")
    return (outcome.checkpoint.id if outcome.created else None), None


def recover(checkpoints) -> list[str]:
    """Finish or roll back every restore whose owner is gone; returns one line per restore
    for the user (empty when there was nothing to do, the usual case: one small query).

    Rows of live owners are left alone (a restore in progress elsewhere); rows from another
    host are reported, since their owner cannot be probed from here. Never raises for a
    recovery that fails: the line says so, and opening the service goes on.
    """
    notes: list[str] = []
    for entry in entries(checkpoints.db):
        if entry.owner_alive():
            if entry.host != procs.hostname():
                notes.append(
                    f"a restore of project {entry.project_id} started on host {entry.host} (pid "
                    f"{entry.pid}) is unfinished; run vmuser on that host to finish it"
                )
            continue
        try:
            if _claim(checkpoints.db, entry):
                saved, waits = _save_workspace(checkpoints, entry)
                if waits:
                    notes.append(waits)
                else:
                    outcome = roll_forward(checkpoints, entry)
                    if saved:
                        outcome += f" (the workspace as it was before is saved as checkpoint {saved})"
                    notes.append(outcome)
        except VmuserError as exc:  # e.g. the database is read-only: report and go on opening
            notes.append(
                f"could not recover the interrupted restore of project {entry.project_id} to checkpoint "
                f"{entry.checkpoint_id}: {exc}"
            )
    return notes


def pending_note(database) -> list[str]:
    """For a read-only client, which must not finish them: one line per interrupted restore
    (its owner gone), saying its workspace may be half restored until a read-write vmuser
    opens the data directory. Reads only."""
    return [f"the restore of project {e.project_id} to checkpoint {e.checkpoint_id} was interrupted; its "
            "workspace may be half restored until vmuser opens this data directory read-write"
            for e in entries(database) if not e.owner_alive()]
