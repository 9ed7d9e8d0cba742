"""The operation log: who did what, when, as JSON, written in the change's own transaction."""

from __future__ import annotations

import getpass
import json
import os
import socket
from functools import lru_cache

from vmuser_tui.core import clock
from vmuser_tui.core.redact import redact


@lru_cache(maxsize=1)
def actor() -> str:
    """``user@host`` of this process."""
    try:
        user = getpass.getuser()
    except Exception:  # no passwd entry (containers): fall back to the uid
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"


def record(conn, operation: str, *, project_id: str | None = None, session_id: str | None = None, **details) -> None:
    """Append one entry. Call inside the write transaction of the change it describes,
    so no change lacks its entry. ``details`` must be JSON-serializable; values under
    secret-looking keys (and ``NAME=value`` strings with such names) are stored masked."""
    conn.execute(
        "INSERT INTO operation_log(at, operation, actor, pid, project_id, session_id, details) VALUES (?,?,?,?,?,?,?)",
        (clock.now_iso(), operation, actor(), os.getpid(), project_id, session_id,
         json.dumps(redact(details), sort_keys=True, default=str)),
    )


def entries(database, *, project_id: str | None = None, operation: str | None = None, limit: int = 100) -> list[dict]:
    """Newest first: ``{id, at, operation, actor, pid, project_id, session_id, details}``."""
    where, params = [], []
    if project_id:
        where.append("project_id = ?")
        params.append(project_id)
    if operation:
        where.append("operation LIKE ?")
        params.append(operation + "%")
    sql = "SELECT * FROM operation_log"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY id DESC LIMIT ?"
    rows = database.query(sql, (*params, limit))
    for row in rows:
        row["details"] = redact(json.loads(row["details"] or "{}"))  # rows from before redaction too
    return rows
