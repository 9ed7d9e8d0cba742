"""What another process changed while a checkpoint was being taken (session 22).

A capture reads the project's head and session when it starts and writes its checkpoint
row in its final ``BEGIN IMMEDIATE`` transaction, seconds (or minutes) later. Meanwhile a
careless operator may have run ``project delete``, ``session rm``, ``checkpoint rm`` of the
head, or a second ``checkpoint create`` of the same files. :func:`settle` runs inside that
final transaction, so what it reads is what the checkpoint row will be written against:

- the project is gone: :class:`NotFoundError`, one line; the transaction rolls back, so
  nothing of this checkpoint is stored (its fresh blobs are gc's, as after any crash);
- the session is gone: the checkpoint is credited to no session (as ``ON DELETE SET NULL``
  would have done had it existed first);
- the head moved: the checkpoint's parent is the head *now* (the head read at the start may
  have been removed, which would leave a dangling parent), and when that new head already
  holds exactly these files the capture records nothing (git's "nothing to commit").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from vmuser_tui.core.errors import NotFoundError

if TYPE_CHECKING:  # pragma: no cover - annotations only
    import sqlite3


@dataclass(frozen=True)
class Settled:
    """``session_id``: to credit (None: none, or it was removed); ``parent_id``: the current
    head (None: no checkpoint yet); ``same_as``: the id of a head that already holds
    ``root`` (then no checkpoint should be written), else None."""

    session_id: str | None
    parent_id: str | None
    same_as: str | None


def settle(conn: sqlite3.Connection, project_id: str, session_id: str | None, head_id: str | None,
           root: str) -> Settled:
    """Re-read, inside the final write transaction, what the checkpoint row refers to.
    ``head_id``: the head when the capture started; ``root``: the captured root tree hash.
    Raises NotFoundError when the project was deleted meanwhile."""
    row = conn.execute("SELECT head_checkpoint_id FROM projects WHERE id = ?", (project_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"project {project_id} was deleted while its checkpoint was being taken; "
                            "nothing was stored")
    if session_id is not None and conn.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is None:
        session_id = None
    current = row[0]
    same_as = None
    if current is not None:
        found = conn.execute("SELECT root_tree FROM checkpoints WHERE id = ?", (current,)).fetchone()
        if found is None:  # a head naming a removed checkpoint: no parent rather than a dangling one
            current = None
        elif current != head_id and found[0] == root:  # another process committed these very files
            same_as = current
    return Settled(session_id, current, same_as)
