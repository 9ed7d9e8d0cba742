"""Values for shell completion: project ids and names, checkpoint ids, session ids.

Called on every TAB that completes a value (``vmuser __complete KIND WORD``, see
:mod:`vmuser_tui.cli.completion`), so it does the least that answers: load the settings
(to find the data dir), open ``vmuser.db`` read-only (SQLite URI ``mode=ro``: no
migration, no write, no lock taken for long), run one small indexed query, close. No
service, no Docker, no reconcile. A data dir that does not exist, a database that cannot
be read or a config that is invalid give no candidates: a TAB never prints an error and
never creates a data dir.

Shape: :func:`candidates` returns ``[(value, description), ...]``: ids newest or most
recently active first, at most :data:`LIMIT` of them (a 10,000-checkpoint history must
not flood the terminal; typing more of the prefix narrows the query).
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

from vmuser_tui.core.errors import VmuserError

DB_NAME = "vmuser.db"  # core.db's; not imported from there: it loads the schema (start-up time)

KINDS = ("projects", "checkpoints", "sessions")
LIMIT = 200


def _like(prefix: str) -> str:
    """``prefix`` as a LIKE pattern that matches it literally at the start."""
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _data_dir(config_path: str | None, data_dir: str | None) -> Path:
    """``--data-dir``, else ``VMUSER_DATA_DIR`` (which wins over the config file anyway),
    else the config's: loading the config costs ~30 ms of imports, paid only then."""
    if data_dir or os.environ.get("VMUSER_DATA_DIR"):
        return Path(data_dir or os.environ["VMUSER_DATA_DIR"]).expanduser()
    from vmuser_tui.core import config as config_mod

    return config_mod.load(config_path).data_dir


def candidates(kind: str, prefix: str = "", *, config_path: str | None = None,
               data_dir: str | None = None) -> list[tuple[str, str]]:
    """The values of ``kind`` (one of :data:`KINDS`) starting with ``prefix``, each with a
    short description. ``[]`` when there is nothing to read (see the module docstring);
    raises ValueError only for an unknown ``kind`` (a bug in the completion script)."""
    if kind not in KINDS:
        raise ValueError(f"unknown completion kind {kind!r}; one of {', '.join(KINDS)}")
    try:
        db = _data_dir(config_path, data_dir) / DB_NAME
        if not db.is_file():
            return []
        conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=0.5)
    except (OSError, sqlite3.Error, VmuserError):  # e.g. ConfigError: an invalid config file
        return []
    try:
        return _query(conn, kind, prefix)
    except sqlite3.Error:  # locked past the timeout, an old schema, damage: no candidates
        return []
    finally:
        conn.close()


def _query(conn: sqlite3.Connection, kind: str, prefix: str) -> list[tuple[str, str]]:
    like = _like(prefix)
    if kind == "projects":
        rows = conn.execute(
            "SELECT id, name FROM projects WHERE id LIKE ?1 ESCAPE '\\' OR name LIKE ?1 ESCAPE '\\' "
            "ORDER BY last_active_at DESC LIMIT ?2", (like, LIMIT)).fetchall()
        out: list[tuple[str, str]] = []
        for pid, name in rows:
            if pid.startswith(prefix):
                out.append((pid, name))
            if name != pid and name.startswith(prefix) and not any(c.isspace() for c in name):
                out.append((name, pid))  # a name with spaces would split into words in the shell
        return out
    if kind == "checkpoints":
        rows = conn.execute(
            "SELECT id, kind, description, tags FROM checkpoints WHERE id LIKE ? ESCAPE '\\' "
            "ORDER BY created_at DESC LIMIT ?", (like, LIMIT)).fetchall()
        return [(cid, _one_line(desc or ckind) + _tags(tags)) for cid, ckind, desc, tags in rows]
    rows = conn.execute(
        "SELECT id, project_id, status FROM sessions WHERE id LIKE ? ESCAPE '\\' "
        "ORDER BY created_at DESC LIMIT ?", (like, LIMIT)).fetchall()
    return [(sid, f"{status} ({project})") for sid, project, status in rows]


def _tags(text: str) -> str:
    try:
        tags = json.loads(text)
    except ValueError:
        return ""
    return f" [{', '.join(map(str, tags))}]" if tags else ""


def _one_line(text: str) -> str:
    """A description on one line, short: shells show it beside the value."""
    line = " ".join(text.split())
    return line if len(line) <= 60 else line[:59] + "…"

