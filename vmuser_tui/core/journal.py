"""The restore journal's rows: a restore that was interrupted is found (and finished or
rolled back by :mod:`vmuser_tui.core.restoring`) on the next start.

Write order (git's ``index.lock``, restic's "data first, then the snapshot"): a restore
first takes its pre-restore checkpoint, then checks its plan (paths, blobs), then commits
a ``restore_journal`` row naming the target tree, the pre-restore tree, the ``--path``
scope and its owner (host, pid, process start time), and only then touches the
workspace. The row is deleted in the same transaction as the restore's log entry. So a
row whose owner is gone means the workspace may hold a mix of both trees.

This module stores and reads those rows only (:func:`begin`, :func:`claim`,
:func:`set_state`, :func:`finish`, :func:`entries`, :func:`pending_note`) and calls
nothing back: what to do with a row (roll forward, roll back, report) is
:class:`vmuser_tui.core.restoring.Restorer`'s.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from vmuser_tui.core import clock, procs
from vmuser_tui.core.ids import new_short_id

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
    workspace: Path | str,
    checkpoint_id: str,
    target_tree: str,
    pre_checkpoint_id: str,
    pre_tree: str,
    paths: list[str] | None,
) -> JournalEntry:
    """Record a restore about to touch ``workspace`` (a folder, or ``engine:<name>`` for a
    workspace volume on that engine: see core/restoring.py), in its own committed transaction
    (it must be on disk before the first change). Raises StoreError (disk full, read-only),
    :class:`Busy` when a live process is restoring the same project or workspace (its plan
    and this one were made against the same files; applied together they would leave a mix)."""
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
        _refuse_a_second(conn, entry)
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


class Busy(Exception):
    """:func:`begin` refused: ``entry`` is a restore of the same project or workspace still
    in progress in a live process (core/restoring.py words it for the user)."""

    def __init__(self, entry: JournalEntry) -> None:
        super().__init__(f"a restore of project {entry.project_id} is in progress (pid {entry.pid})")
        self.entry = entry


def _refuse_a_second(conn, entry: JournalEntry) -> None:
    """Inside begin's write transaction (so two restores cannot both pass): :class:`Busy`
    when a restore of the same project or workspace is in progress in a live process. Rows
    of dead owners are the start-up recovery's, which runs before any restore."""
    cur = conn.execute("SELECT * FROM restore_journal WHERE project_id = ? OR workspace = ?",
                       (entry.project_id, entry.workspace))
    columns = [d[0] for d in cur.description]
    for row in cur.fetchall():
        other = JournalEntry.from_row(dict(zip(columns, row, strict=True)))
        if other.owner_alive():
            raise Busy(other)


def finish(conn, entry: JournalEntry) -> None:
    """Delete the row, inside the transaction that records how the restore ended."""
    conn.execute("DELETE FROM restore_journal WHERE id = ?", (entry.id,))


def entries(database, project_id: str | None = None) -> list[JournalEntry]:
    """Restores in progress or interrupted, oldest first; of one project when given."""
    params: tuple[str, ...] = (project_id,) if project_id else ()
    where = " WHERE project_id = ?" if project_id else ""
    return [JournalEntry.from_row(r)
            for r in database.query(f"SELECT * FROM restore_journal{where} ORDER BY started_at, id", params)]


def claim(database, entry: JournalEntry) -> bool:
    """Make this process the row's owner, unless another process got there first (compare
    and swap on the old owner): two processes starting at once recover a restore once."""
    with database.write() as conn:
        cur = conn.execute(
            "UPDATE restore_journal SET pid = ?, host = ?, pid_start = ? "
            "WHERE id = ? AND pid = ? AND host = ? AND pid_start IS ?",
            (os.getpid(), procs.hostname(), procs.start_ticks(), entry.id, entry.pid, entry.host, entry.pid_start),
        )
        return cur.rowcount == 1


def set_state(database, entry: JournalEntry, state: str) -> None:
    """Record that the restore of ``entry`` is now :data:`APPLYING` or :data:`ROLLING_BACK`
    (committed at once: a kill after this rolls back, not forward)."""
    with database.write() as conn:
        conn.execute("UPDATE restore_journal SET state = ? WHERE id = ?", (state, entry.id))
    entry.state = state


def pending_note(database) -> list[str]:
    """For a read-only client, which must not finish them: one line per interrupted restore
    (its owner gone), saying its workspace may be half restored until a read-write vmuser
    opens the data directory. Reads only."""
    return [f"the restore of project {e.project_id} to checkpoint {e.checkpoint_id} was interrupted; its "
            "workspace may be half restored until vmuser opens this data directory read-write"
            for e in entries(database) if not e.owner_alive()]
