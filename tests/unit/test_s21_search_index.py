"""Issue 16, search under 50 ms (schema 8): the checkpoint index reaches a match's checkpoint
through ``checkpoint_fts_rows`` keyed by the index's rowid. A database at the previous
schema (7) is migrated on opening and answers every search as before (the same checkpoints,
in the same order, with the same bm25 ranks) and as a database made at the new schema with
the same history (same snippets and columns too), each checkpoint whole (as
``Checkpoint.from_row`` reads it); the index follows every change after
(insert, insert or replace, update of the text or the id, delete, VACUUM); a search leaves
the cyclic garbage collector as it found it. Real SQLite databases, no Docker."""

from __future__ import annotations

import gc
import json
import random
import sqlite3
from pathlib import Path

import pytest

from vmuser_tui.core import schema, search
from vmuser_tui.core.db import Database
from vmuser_tui.core.models import Checkpoint
from vmuser_tui.core.search_query import parse

PROJECT = "proj-00000001"
OTHER = "proj-00000002"
SESSION = "sess-00000001"
WORDS = "step login café cafe naïve fix bug parser step-up release deploy staging alpha beta".split()
QUERIES = ["step", "café", "naive login", '"fix bug"', "st*", "release", "prod", "alpha beta gamma", "nothing-like-it"]
#: the schema before the migration that keys ``checkpoint_fts_rows`` by the index's rowid
#: (7 when written; found by its text, so that a migration merged before it moves it)
BEFORE = next(i for i, script in enumerate(schema.MIGRATIONS) if "fts_rowid INTEGER PRIMARY KEY" in script)
#: enough matches of "step" that some are past the rows whose snippets SQLite makes
N = search.SNIPPET_ROWS + 100


def _make(path: Path, version: int) -> sqlite3.Connection:
    """A database at schema ``version``, as that vmuser made it, with two projects."""
    conn = sqlite3.connect(path, isolation_level=None)
    for script in schema.MIGRATIONS[:version]:
        conn.executescript(script)
    conn.execute(f"PRAGMA user_version = {version}")
    t = "2026-11-01T10:00:00Z"
    for pid in (PROJECT, OTHER):
        conn.execute("INSERT INTO projects(id, name, workspace, managed, created_at, updated_at, last_active_at) "
                     "VALUES (?, ?, '/nowhere', 0, ?, ?, ?)", (pid, pid, t, t, t))
    conn.execute("INSERT INTO sessions(id, project_id, runtime, status, created_at, last_active_at) "
                 "VALUES (?, ?, 'none', 'stopped', ?, ?)", (SESSION, PROJECT, t, t))
    return conn


def _history(conn: sqlite3.Connection) -> None:
    """The same writes on any schema: checkpoints of varied text (ties of rank and of time
    among them), a few deleted (gaps in the rowids), one replaced by INSERT OR REPLACE, one
    renamed, one re-described."""
    rnd = random.Random(16)
    for n in range(N):
        words = [rnd.choice(WORDS) for _ in range(rnd.randint(0, 12))]
        desc = " ".join(["step", str(n), *words]) if n % 7 else " ".join(words)
        tags = rnd.sample(["milestone", "release", "step", "café", "ci"], rnd.randint(0, 2))
        notes = [{"label": rnd.choice(WORDS), "note": " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(0, 6))),
                  "tags": rnd.sample(["prod", "step", "x"], rnd.randint(0, 2)), "at": "t", "actor": "a@h"}
                 for _ in range(rnd.randint(0, 2))]
        created = f"2026-11-01T10:{n // 60 % 60:02d}:{n % 60 // 2:02d}Z"  # two checkpoints a second: ties
        project = OTHER if n % 11 == 0 else PROJECT
        conn.execute("INSERT INTO checkpoints(id, project_id, session_id, root_tree, kind, description, tags, "
                     "annotations, created_at) VALUES (?, ?, ?, 'tree', 'manual', ?, ?, ?, ?)",
                     (f"c{n:09d}", project, SESSION if project == PROJECT and n % 3 == 0 else None, desc,
                      json.dumps(tags), json.dumps(notes), created))
    for n in range(3, N, 37):
        conn.execute("DELETE FROM checkpoints WHERE id = ?", (f"c{n:09d}",))
    conn.execute("INSERT OR REPLACE INTO checkpoints(id, project_id, root_tree, kind, description, created_at) "
                 "VALUES ('c000000005', ?, 'tree', 'manual', 'step replaced alpha beta gamma', "
                 "'2026-11-01T11:00:00Z')", (PROJECT,))
    conn.execute("UPDATE checkpoints SET parent_id = 'c000000001', image_id = 'sha256:abc', file_count = 3, "
                 "total_size = 4096, kind = 'auto', state = ? WHERE id = 'c000000002'",
                 (json.dumps({"container": {"env": {"PASSWORD": "hunter2", "LANG": "C"}}}),))
    conn.execute("UPDATE checkpoints SET id = 'renamed001' WHERE id = 'c000000008'")
    conn.execute("UPDATE checkpoints SET description = 'deploy the wildebeest, step by step' WHERE id = 'c000000009'")


def _old_answer(conn: sqlite3.Connection, text: str, session: str | None = None) -> list[tuple[str, float]]:
    """What the search query before this migration (the index's ``checkpoint_id`` column joined to the
    checkpoints) returned: ``(checkpoint id, bm25)``, best first."""
    return conn.execute(
        "SELECT checkpoints.id, bm25(checkpoint_fts, 1.0, 2.0, 1.0) AS score FROM checkpoint_fts "
        "JOIN checkpoints ON checkpoints.id = checkpoint_fts.checkpoint_id "
        "WHERE checkpoint_fts MATCH ? AND checkpoints.project_id = ? AND (? IS NULL OR checkpoints.session_id = ?) "
        "ORDER BY score, checkpoints.created_at DESC, checkpoints.rowid DESC",
        (parse(text).fts(), PROJECT, session, session)).fetchall()


def _answer(db: Database, text: str, **kw) -> list[tuple]:
    return [(m.checkpoint, m.column, m.snippet, m.rank)
            for m in search.checkpoints(db, parse(text), project_id=PROJECT, **kw)]


def _consistent(db: Database) -> None:
    """One index row and one key row per checkpoint, and FTS5's own check passes."""
    conn = db.conn
    ids = {r[0] for r in conn.execute("SELECT id FROM checkpoints")}
    keyed = conn.execute("SELECT checkpoint_id FROM checkpoint_fts_rows").fetchall()
    assert sorted(r[0] for r in keyed) == sorted(ids)
    fts = {r[0] for r in conn.execute("SELECT rowid FROM checkpoint_fts")}
    assert fts == {r[0] for r in conn.execute("SELECT fts_rowid FROM checkpoint_fts_rows")}
    conn.execute("INSERT INTO checkpoint_fts(checkpoint_fts) VALUES ('integrity-check')")


@pytest.fixture
def dbs(tmp_path):
    """``(migrated, fresh, old answers)``: a database at schema :data:`BEFORE` with the history, opened (so
    migrated) by this vmuser; a database made at this schema with the same history; and
    the old query's answer to each query, taken before the migration."""
    conn = _make(tmp_path / "old.db", BEFORE)
    _history(conn)
    before = {q: _old_answer(conn, q) for q in QUERIES}
    before |= {f"session {q}": _old_answer(conn, q, SESSION) for q in QUERIES}
    conn.close()
    conn = _make(tmp_path / "new.db", schema.LATEST)
    _history(conn)
    conn.close()
    migrated, fresh = Database(tmp_path / "old.db"), Database(tmp_path / "new.db")
    yield migrated, fresh, before
    migrated.close()
    fresh.close()


def test_a_database_at_the_previous_schema_is_migrated_and_searches_the_same(dbs) -> None:
    migrated, fresh, before = dbs
    assert migrated.conn.execute("PRAGMA user_version").fetchone() == (schema.LATEST,)
    assert len(before["step"]) > search.SNIPPET_ROWS  # some snippets made in Python
    assert before["nothing-like-it"] == []
    for q in QUERIES:
        found = _answer(migrated, q)
        assert [(cp.id, rank) for cp, _col, _snip, rank in found] == before[q], q
        assert found == _answer(fresh, q), q
        in_session = _answer(migrated, q, session_id=SESSION)
        assert [(cp.id, rank) for cp, _col, _snip, rank in in_session] == before[f"session {q}"], q
        assert all(cp.session_id == SESSION for cp, *_ in in_session)
    assert 0 < len(before["session step"]) < len(before["step"])
    _consistent(migrated)
    _consistent(fresh)


def test_a_migrated_search_keeps_its_filters_and_shows_whole_checkpoints(dbs) -> None:
    migrated, fresh, _ = dbs
    for q in ("step", "café"):
        tagged = _answer(migrated, q, tags=("release",))
        assert tagged and all("release" in cp.tags for cp, *_ in tagged)
        assert tagged == _answer(fresh, q, tags=("release",))
        assert _answer(migrated, q, limit=5) == _answer(migrated, q)[:5]
    stored = {r["id"]: Checkpoint.from_row(r) for r in migrated.query("SELECT * FROM checkpoints")}
    found = [cp for q in QUERIES for cp, *_ in _answer(migrated, q)]
    assert any(cp.state for cp in found) and any(cp.tags for cp in found) and any(cp.annotations for cp in found)
    for cp in found:  # every field as Checkpoint.from_row makes it of the stored row (state masked)
        assert cp == stored[cp.id]
    (with_state,) = [cp for cp in stored.values() if cp.state]
    assert "hunter2" not in json.dumps(with_state.state)
    (replaced,) = _answer(migrated, "gamma replaced")
    assert replaced[0].id == "c000000005" and replaced[1] == "description"
    assert [cp.id for cp, *_ in _answer(migrated, "wildebeest")] == ["c000000009"]
    assert "renamed001" in {cp.id for cp, *_ in _answer(migrated, "step")}


def test_after_migration_the_index_follows_every_change(dbs) -> None:
    db, _fresh, _ = dbs

    def ids(text: str) -> list[str]:
        return [m.checkpoint.id for m in search.checkpoints(db, parse(text), project_id=PROJECT)]

    conn = db.conn
    conn.execute("INSERT INTO checkpoints(id, project_id, root_tree, kind, description, tags, created_at) "
                 "VALUES ('zz00000001', ?, 't', 'manual', 'the zebra crossing', '[\"stripes\"]', "
                 "'2026-12-01T00:00:00Z')", (PROJECT,))
    assert ids("zebra") == ids("stripes") == ["zz00000001"]
    conn.execute("INSERT OR REPLACE INTO checkpoints(id, project_id, root_tree, kind, description, created_at) "
                 "VALUES ('zz00000001', ?, 't', 'manual', 'an okapi now', '2026-12-01T00:00:00Z')", (PROJECT,))
    assert ids("zebra") == ids("stripes") == []
    assert ids("okapi") == ["zz00000001"]
    conn.execute("UPDATE checkpoints SET tags = '[\"savanna\"]' WHERE id = 'zz00000001'")
    assert ids("savanna") == ids("okapi") == ["zz00000001"]
    conn.execute("UPDATE checkpoints SET id = 'zz00000002' WHERE id = 'zz00000001'")
    assert ids("okapi") == ["zz00000002"]
    _consistent(db)
    conn.execute("DELETE FROM checkpoints WHERE id = 'zz00000002'")
    assert ids("okapi") == []
    conn.execute("DELETE FROM checkpoints WHERE id IN ('c000000010', 'c000000020', 'c000000100')")  # gaps
    before = {q: _answer(db, q) for q in QUERIES}
    conn.execute("VACUUM")  # may renumber the checkpoints' rowids: the keys are the index's own
    assert {q: _answer(db, q) for q in QUERIES} == before
    _consistent(db)
    conn.execute(f"DELETE FROM checkpoints WHERE project_id IN ('{PROJECT}', '{OTHER}')")
    assert conn.execute("SELECT COUNT(*) FROM checkpoint_fts").fetchone() == (0,)
    assert conn.execute("SELECT COUNT(*) FROM checkpoint_fts_rows").fetchone() == (0,)


def test_a_search_leaves_the_garbage_collector_as_it_found_it(dbs) -> None:
    db, _fresh, _ = dbs
    assert gc.isenabled()
    assert len(_answer(db, "step")) > search.SNIPPET_ROWS
    assert gc.isenabled()
    gc.disable()
    try:
        assert _answer(db, "step")
        assert not gc.isenabled()
    finally:
        gc.enable()
