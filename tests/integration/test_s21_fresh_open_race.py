"""A process that opens a fresh data dir while another one migrates it never takes the file
for another program's.

Opening read the schema version (0: fresh) and then, in a second statement, the list of
tables; another process's migration could commit in between, and the tables it had just
created made the file look foreign ("is another program's SQLite database"). Found by
tests/integration/test_concurrency.py failing once in CI (session 21); here the other
process's commit is put exactly after the version is read, every time."""

from __future__ import annotations

import sqlite3

from vmuser_tui.core import db as dbm
from vmuser_tui.core import schema


def test_a_migration_committed_while_a_fresh_database_is_opened(tmp_path, monkeypatch):
    path = tmp_path / "vmuser.db"
    other = sqlite3.connect(path, isolation_level=None)  # "another vmuser", half-way through its migration
    other.execute("PRAGMA journal_mode = WAL")
    other.execute("BEGIN IMMEDIATE")
    other.execute("CREATE TABLE projects (id TEXT PRIMARY KEY)")
    other.execute(f"PRAGMA user_version = {schema.LATEST}")
    connect = sqlite3.connect
    seen: list[str] = []

    def traced(*args, **kwargs):
        conn = connect(*args, **kwargs)

        def before(statement: str) -> None:
            # the statement after the one that read the version: the other process commits now
            if seen and "user_version" in seen[-1] and other.in_transaction:
                other.execute("COMMIT")
            seen.append(statement)

        conn.set_trace_callback(before)
        return conn

    monkeypatch.setattr(dbm.sqlite3, "connect", traced)
    database = dbm.Database(path)  # raised "another program's SQLite database" before
    try:
        assert not other.in_transaction  # the race did happen
        assert database.conn.execute("PRAGMA user_version").fetchone()[0] == schema.LATEST
    finally:
        database.close()
        other.close()
