"""Issue 16, "search over history", from the command line: ``vmuser checkpoint list P
--search WORDS`` and ``vmuser log --search WORDS`` find a word of a description, a tag, an
annotation's note and a log entry; the best match comes first with its snippet; the index
follows every change (tag, annotate, rm, project delete); a database made by the previous
schema is searchable once opened. Real ``vmuser`` processes on a real data dir."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from vmuser_tui.core import schema

PY = [sys.executable, "-m", "vmuser_tui"]
ROOT = Path(__file__).resolve().parents[2]


class Cli:
    def __init__(self, root: Path) -> None:
        self.data = root / "data"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("VMUSER_")}
        self.env.update(VMUSER_DATA_DIR=str(self.data), VMUSER_CONFIG=str(root / "none.toml"), PYTHONPATH=str(ROOT))

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*PY, *args], env=self.env, capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL)

    def ok(self, *args: str) -> str:
        r = self.run(*args)
        assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
        return r.stdout.strip()

    def found(self, project: str, words: str, *more: str) -> list[dict]:
        return json.loads(self.ok("checkpoint", "list", project, "--search", words, "--json", *more))

    def log(self, words: str, *more: str) -> list[dict]:
        return json.loads(self.ok("log", "--search", words, "--json", *more))


@pytest.fixture
def cli(tmp_path) -> tuple[Cli, dict[str, str]]:
    c = Cli(tmp_path)
    a = c.ok("project", "create", "alpha")
    ws = Path(json.loads(c.ok("project", "show", a, "--json"))["workspace"])
    ids = {"A": a}
    for n, (msg, tag) in enumerate([("Fix the login bug", "release-1"), ("Rename util to helpers", ""),
                                    ("Add the café menu", "")]):
        (ws / "f.txt").write_text(f"{n}\n")
        ids[f"C{n + 1}"] = c.ok("checkpoint", "create", a, "-m", msg, *(["--tag", tag] if tag else []))
    c.ok("checkpoint", "annotate", ids["C2"], "--label", "tests pass", "--note", "green on the staging cluster",
         "--tag", "ci")
    return c, ids


def test_finds_description_tag_note_and_log(cli):
    c, ids = cli
    [hit] = c.found(ids["A"], "login")
    assert hit["id"] == ids["C1"] and hit["match_in"] == "description" and hit["match"] == "Fix the «login» bug"
    [hit] = c.found(ids["A"], "release")  # a word of the tag release-1
    assert hit["id"] == ids["C1"] and hit["match_in"] == "tags"
    [hit] = c.found(ids["A"], "staging")  # an annotation's note
    assert hit["id"] == ids["C2"] and hit["match_in"] == "annotations" and "«staging»" in hit["match"]
    assert [h["id"] for h in c.found(ids["A"], "cafe")] == [ids["C3"]]  # diacritics folded
    assert [h["id"] for h in c.found(ids["A"], "ren*")] == [ids["C2"]]  # prefix
    assert c.found(ids["A"], '"bug login"') == []  # a phrase: in that order only
    assert [h["id"] for h in c.found(ids["A"], '"login bug"')] == [ids["C1"]]
    assert c.found(ids["A"], "login staging") == []  # all words must match
    # with the other filters
    assert [h["id"] for h in c.found(ids["A"], "pass", "--annotation-tag", "ci")] == [ids["C2"]]
    assert c.found(ids["A"], "login", "--tag", "ci") == []
    # the log: a description logged with checkpoint.create; the annotation's label (never its note)
    entries = c.log("login")
    assert [(e["operation"], e["details"]["checkpoint"]) for e in entries] == [("checkpoint.create", ids["C1"])]
    assert "«login»" in entries[0]["match"]
    assert [e["operation"] for e in c.log("tests pass")] == ["checkpoint.annotate"]
    assert c.log("staging") == []  # the note is not in the log
    assert [e["operation"] for e in c.log("checkpoint.annotate")] == ["checkpoint.annotate"]
    assert c.log("login", "--operation", "project.") == []
    # text output: ranked table with the match
    out = c.ok("checkpoint", "list", ids["A"], "--search", "login")
    assert "IN" in out.splitlines()[0] and "Fix the «login» bug" in out
    out = c.ok("log", "--search", "login")
    assert "MATCH" in out.splitlines()[0] and "«login»" in out


def test_best_match_first(cli):
    c, ids = cli
    (ws := Path(json.loads(c.ok("project", "show", ids["A"], "--json"))["workspace"])).joinpath("f.txt").write_text("x")
    c4 = c.ok("checkpoint", "create", ids["A"], "-m", "login login login: the login page, login again")
    assert [h["id"] for h in c.found(ids["A"], "login")] == [c4, ids["C1"]]
    assert ws.is_dir()


def test_index_follows_every_change(cli):
    c, ids = cli
    c.ok("checkpoint", "tag", ids["C3"], "shipped")
    assert [h["id"] for h in c.found(ids["A"], "shipped")] == [ids["C3"]]
    c.ok("checkpoint", "tag", ids["C3"], "shipped", "--remove")
    assert c.found(ids["A"], "shipped") == []
    c.ok("checkpoint", "annotate", ids["C2"], "--remove", "tests pass")
    assert c.found(ids["A"], "staging") == []
    c.ok("checkpoint", "annotate", ids["C3"], "--label", "deployed", "--note", "to production")
    assert [h["id"] for h in c.found(ids["A"], "production")] == [ids["C3"]]
    c.ok("checkpoint", "rm", ids["C1"], "--yes")
    assert c.found(ids["A"], "login") == []  # a removed checkpoint no longer matches
    assert c.found(ids["A"], "release") == []
    c.ok("project", "delete", ids["A"], "--yes")
    conn = sqlite3.connect(c.data / "vmuser.db")
    try:
        assert conn.execute("SELECT COUNT(*) FROM checkpoint_fts").fetchone() == (0,)
        assert conn.execute("SELECT COUNT(*) FROM checkpoint_fts_rows").fetchone() == (0,)
        conn.execute("INSERT INTO checkpoint_fts(checkpoint_fts) VALUES ('integrity-check')")
        conn.execute("INSERT INTO log_fts(log_fts) VALUES ('integrity-check')")
    finally:
        conn.close()


def test_database_of_the_previous_schema_is_searchable_once_opened(tmp_path):
    """A database at schema 4 (before search) with history in it: opened by this vmuser, it
    is migrated and its old checkpoints, annotations and log entries are found."""
    c = Cli(tmp_path)
    c.data.mkdir()
    conn = sqlite3.connect(c.data / "vmuser.db", isolation_level=None)
    for script in schema.MIGRATIONS[:4]:
        conn.executescript(script)
    conn.execute("PRAGMA user_version = 4")
    t = "2026-11-01T10:00:00Z"
    ws = tmp_path / "ws"
    ws.mkdir()
    conn.execute("INSERT INTO projects(id, name, workspace, managed, created_at, updated_at, last_active_at) "
                 "VALUES ('old-00000001', 'old', ?, 0, ?, ?, ?)", (str(ws), t, t, t))
    notes = [{"label": "reviewed", "note": "looked fine to Alice", "at": t, "actor": "a@h"}]  # no tags key: old row
    conn.execute("INSERT INTO checkpoints(id, project_id, root_tree, kind, description, tags, annotations, "
                 "created_at) VALUES ('c0ld000001', 'old-00000001', 'x', 'manual', 'Upgrade the parser', "
                 "'[\"legacy\"]', ?, ?)", (json.dumps(notes), t))
    conn.execute("INSERT INTO operation_log(at, operation, actor, pid, project_id, details) VALUES "
                 "(?, 'checkpoint.create', 'alice@oldhost', 1, 'old-00000001', ?)",
                 (t, json.dumps({"checkpoint": "c0ld000001", "description": "Upgrade the parser"})))
    conn.close()
    assert [h["id"] for h in c.found("old-00000001", "parser")] == ["c0ld000001"]
    assert [h["id"] for h in c.found("old-00000001", "legacy")] == ["c0ld000001"]
    assert [h["match_in"] for h in c.found("old-00000001", "alice")] == ["annotations"]
    assert [e["actor"] for e in c.log("oldhost")] == ["alice@oldhost"]
    assert [e["id"] for e in c.log("parser")] == [1]
