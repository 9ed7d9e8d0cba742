"""The operation log: who did what, when, as JSON, written in the change's own transaction."""

from __future__ import annotations

import json
import os
import sqlite3
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from vmuser_tui.core import clock

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from vmuser_tui.core.db import Database
    from vmuser_tui.core.search_query import SearchQuery


@lru_cache(maxsize=1)
def actor() -> str:
    """``user@host`` of this process."""
    import getpass  # (these three load when an entry is written or searched: start-up time)
    import socket

    try:
        user = getpass.getuser()
    except Exception:  # no passwd entry (containers): fall back to the uid
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"


_client: tuple[int, str] | None = None


def client_id() -> str:
    """This process's client id (``<pid>-<8 hex>``): one TUI, CLI command or worker is one
    client. It names the holder of leases (see :mod:`vmuser_tui.core.access`) and is
    written with every log entry, so the log tells two clients of one user apart. A forked
    child gets its own."""
    global _client
    if _client is None or _client[0] != os.getpid():
        from vmuser_tui.core.ids import new_short_id

        _client = (os.getpid(), f"{os.getpid()}-{new_short_id(8)}")
    return _client[1]


def record(conn: sqlite3.Connection, operation: str, *, project_id: str | None = None,
           session_id: str | None = None, **details: Any) -> None:
    """Append one entry. Call inside the write transaction of the change it describes,
    so no change lacks its entry. ``details`` must be JSON-serializable; values under
    secret-looking keys (and ``NAME=value`` strings with such names) are stored masked."""
    from vmuser_tui.core.redact import redact

    conn.execute(
        "INSERT INTO operation_log(at, operation, actor, pid, client_id, project_id, session_id, details) "
        "VALUES (?,?,?,?,?,?,?,?)",
        (clock.now_iso(), operation, actor(), os.getpid(), client_id(), project_id, session_id,
         json.dumps(redact(details), sort_keys=True, default=str)),
    )


def entries(database: Database, *, project_id: str | None = None, operation: str | None = None, limit: int = 100,
            session_id: str | None = None, actor: str | None = None, since: str | None = None,
            until: str | None = None, text: str | None = None, search: SearchQuery | None = None) -> list[dict]:
    """Newest first: ``{id, at, operation, actor, pid, client_id, project_id, session_id, details}``.
    Filters: ``operation`` is a prefix (``checkpoint.``), ``actor`` a substring
    (``alice`` or ``@host``), ``since``/``until`` stored ISO UTC times (inclusive/exclusive),
    ``text`` a substring of the operation, actor, project or session id or the details JSON
    (ASCII letters ignore case). ``search``: full-text search (:mod:`vmuser_tui.core.search`):
    the rows that match, best first, each with ``match``, a snippet with the matched words marked."""
    # (value, condition): a filter applies when its value is given.
    haystack = ("lower(operation || ' ' || actor || ' ' || COALESCE(project_id, '') || ' ' "
                "|| COALESCE(session_id, '') || ' ' || COALESCE(details, ''))")
    filters = [
        (project_id, "project_id = ?"),
        (session_id, "session_id = ?"),
        (operation and operation + "%", "operation LIKE ?"),
        (actor, "instr(actor, ?) > 0"),
        (since, "at >= ?"),
        (until, "at < ?"),
        # one haystack per row; details are stored redacted, so a search never finds a masked secret
        (text, f"instr({haystack}, lower(?)) > 0"),
    ]
    where = [cond for value, cond in filters if value]
    params = [value for value, _ in filters if value]
    if search is not None:
        from vmuser_tui.core import search as fts

        found = fts.log_entries(database, search, where, tuple(params), limit)
        return [row for row in (fts.checked_log_row(r, search) for r in found) if row is not None]
    sql = "SELECT * FROM operation_log"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY id DESC LIMIT ?"
    rows = database.query(sql, (*params, limit))
    from vmuser_tui.core.redact import redact

    for row in rows:
        row["details"] = redact(json.loads(row["details"] or "{}"))  # rows from before redaction too
    return rows



def operations(database: Database) -> list[str]:
    """Every operation name the log holds, sorted (for a filter's choices)."""
    return [row["operation"] for row in database.query("SELECT DISTINCT operation FROM operation_log ORDER BY 1")]
