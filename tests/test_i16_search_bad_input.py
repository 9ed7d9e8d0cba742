"""Bad input for issue 16's search (``checkpoint list --search``, ``log --search``), in the
style of tests/test_bad_input.py: each row runs the real ``vmuser`` command in a subprocess
against a small real world and asserts what a user or a script notices -- at most one line
on stderr, no traceback, the exit code, the words of the message -- and that every row of
every table (the search indexes too) is exactly as it was.

Hostile queries (FTS5's own syntax, lone quotes and stars, very long text) are searched for
as text or refused with one line: never an FTS5 syntax error.

The world: project ``alpha`` with checkpoints ``{C1}`` ("Fix the login bug", tag
``release``) and ``{C2}`` ("two"), ``{C1}`` annotated ``tests pass`` with a note.
"""

from __future__ import annotations

import pytest

from tests.test_i13_edits_bad_input import World as _World
from tests.test_i13_edits_bad_input import _state

LONG = "word " * 300  # 1,500 characters
MANY = " ".join(f"w{i}" for i in range(40))  # 40 terms

# fmt: off
NOTHING = "nothing to search for in"
ROWS = [
    # (id, argv, exit code, a part of stderr ("" : stderr empty or one line, any words))
    ("lone-quote", ["checkpoint", "list", "{A}", "--search", '"'], 2, NOTHING),
    ("lone-star", ["checkpoint", "list", "{A}", "--search", "*"], 2, NOTHING),
    ("lone-dash", ["checkpoint", "list", "{A}", "--search", "-"], 2, NOTHING),
    ("only-punctuation", ["checkpoint", "list", "{A}", "--search", "()^:-+\"*"], 2, NOTHING),
    ("emoji-only", ["checkpoint", "list", "{A}", "--search", "\U0001f680"], 2, NOTHING),
    ("blank", ["checkpoint", "list", "{A}", "--search", "   "], 2, NOTHING),
    ("near-open", ["checkpoint", "list", "{A}", "--search", "NEAR("], 0, "no checkpoint matches 'NEAR('"),
    ("and-or", ["checkpoint", "list", "{A}", "--search", "AND OR"], 0, "no checkpoint matches 'AND OR'"),
    ("not-alone", ["checkpoint", "list", "{A}", "--search", "NOT"], 0, "no checkpoint matches 'NOT'"),
    ("column-filter-syntax", ["checkpoint", "list", "{A}", "--search", "description:login"], 0, ""),
    ("caret-and-braces", ["checkpoint", "list", "{A}", "--search", "^login {tags}"], 0, ""),
    ("unclosed-phrase", ["checkpoint", "list", "{A}", "--search", '"login bug'], 0, ""),
    ("quote-inside-word", ["checkpoint", "list", "{A}", "--search", 'lo"gin'], 0, ""),
    ("star-inside", ["checkpoint", "list", "{A}", "--search", "l*n"], 0, ""),
    ("minus-word", ["checkpoint", "list", "{A}", "--search=-login"], 0, ""),
    ("minus-word-as-option", ["checkpoint", "list", "{A}", "--search", "-login"], 2,
     "argument --search: expected one argument"),  # argparse's rule: --search=-login passes it
    ("very-long", ["checkpoint", "list", "{A}", "--search", LONG], 2, "a search is at most 1000 characters"),
    ("too-many-terms", ["checkpoint", "list", "{A}", "--search", MANY], 2, "at most 32 words or phrases"),
    ("missing-value", ["checkpoint", "list", "{A}", "--search"], 2, "argument --search: expected one argument"),
    ("unknown-project", ["checkpoint", "list", "nope", "--search", "login"], 1, "no session or project matches"),
    ("with-tag-none", ["checkpoint", "list", "{A}", "--search", "login", "--tag", "nope"], 0,
     "no checkpoint matches 'login'"),
    # -- log --search ---------------------------------------------------------------------------
    ("log-lone-quote", ["log", "--search", '"'], 2, NOTHING),
    ("log-near", ["log", "--search", "NEAR(a b)"], 0, ""),
    ("log-and-or", ["log", "--search", "AND OR"], 0, "no entries match"),
    ("log-very-long", ["log", "--search", LONG], 2, "a search is at most 1000 characters"),
    ("log-dash-star", ["log", "--search=-*"], 2, NOTHING),
    ("log-unknown-project", ["log", "--search", "login", "--project", "nope"], 1, "no project"),
]
# fmt: on


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> _World:
    import json
    import os
    from pathlib import Path

    root = tmp_path_factory.mktemp("i16-search-bad")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VMUSER_")}
    env.update(VMUSER_DATA_DIR=str(root / "data"), VMUSER_CONFIG=str(root / "none.toml"),
               PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    w = _World(env, root / "data", {})
    a = w.ok("project", "create", "alpha")
    ws = Path(json.loads(w.ok("project", "show", a, "--json"))["workspace"])
    (ws / "a.txt").write_text("one\n")
    c1 = w.ok("checkpoint", "create", a, "-m", "Fix the login bug", "--tag", "release")
    (ws / "a.txt").write_text("two\n")
    c2 = w.ok("checkpoint", "create", a, "-m", "two")
    w.ok("checkpoint", "annotate", c1, "--label", "tests pass", "--note", "green on staging")
    w.names = {"A": a, "C1": c1, "C2": c2}
    return w


@pytest.mark.parametrize(("argv", "code", "message"), [pytest.param(*r[1:], id=r[0]) for r in ROWS])
def test_bad_search(world, argv, code, message):
    before = _state(world.data_dir)
    r = world.run(*[world.fill(a) for a in argv])
    after = _state(world.data_dir)
    assert "Traceback" not in r.stderr, r.stderr
    assert "fts5" not in r.stderr.lower() and "syntax error" not in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) <= 1, f"expected at most one line on stderr, got:\n{r.stderr}"
    assert r.returncode == code, r.stderr
    assert world.fill(message) in r.stderr, r.stderr
    assert before == after, "the command changed the database or a workspace"
