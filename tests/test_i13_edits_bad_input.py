"""Bad input for issue 13's edits (``checkpoint rm``, ``checkpoint annotate``, ``checkpoint
list --annotation-tag``), in the style of tests/test_bad_input.py: each row runs the real
``vmuser`` command in a subprocess against a small real world and asserts what a user or a
script notices -- one line on stderr, no traceback, the exit code, the words of the message
-- and that every row of every table is exactly as it was.

The world: project ``alpha`` with checkpoints ``{C1}`` and ``{C2}`` (the head), ``{C1}``
annotated ``tests pass``.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

PY = [sys.executable, "-m", "vmuser_tui"]

# fmt: off
ROWS = [
    # -- checkpoint rm ----------------------------------------------------------------------------
    ("rm-unknown-id", ["checkpoint", "rm", "{C1}", "nope", "--yes"], 1, "no checkpoint matches 'nope'"),
    ("rm-unknown-first", ["checkpoint", "rm", "nope", "{C1}", "--yes"], 1, "no checkpoint matches 'nope'"),
    ("rm-head-without-force", ["checkpoint", "rm", "{C2}", "--yes"], 1,
     ("checkpoint {C2} is the head of project {A} (the workspace was last captured or restored at it); "
     "pass --force to remove it anyway (the head moves to {C1})")),
    ("rm-head-among-others", ["checkpoint", "rm", "{C1}", "{C2}", "--yes"], 1, "is the head of project {A}"),
    ("rm-no-terminal", ["checkpoint", "rm", "{C1}"], 1,
     "not confirmed: standard input is not a terminal; pass --yes to go ahead"),
    ("rm-no-ids", ["checkpoint", "rm"], 2, "the following arguments are required: ID"),
    ("rm-short-prefix", ["checkpoint", "rm", "zz", "--yes"], 1, "an id prefix needs at least 4"),
    # -- checkpoint annotate ----------------------------------------------------------------------
    ("annotate-empty-label", ["checkpoint", "annotate", "{C1}", "--label", ""], 2,
     "an annotation label needs 1-80 printable characters"),
    ("annotate-blank-label", ["checkpoint", "annotate", "{C1}", "--label", "   "], 2,
     "an annotation label needs 1-80 printable characters"),
    ("annotate-long-label", ["checkpoint", "annotate", "{C1}", "--label", "x" * 81], 2,
     "an annotation label needs 1-80 printable characters"),
    ("annotate-control-label", ["checkpoint", "annotate", "{C1}", "--label", "a\x1b[2Jb"], 2,
     "an annotation label needs 1-80 printable characters"),
    ("annotate-bad-tag", ["checkpoint", "annotate", "{C1}", "--label", "x", "--tag", "bad tag"], 2,
     "invalid tag 'bad tag'"),
    ("annotate-remove-missing", ["checkpoint", "annotate", "{C1}", "--remove", "nope"], 1,
     "checkpoint {C1} has no annotation labelled 'nope' (its labels: 'tests pass')"),
    ("annotate-remove-none", ["checkpoint", "annotate", "{C2}", "--remove", "nope"], 1,
     "checkpoint {C2} has no annotation labelled 'nope' (it has none)"),
    ("annotate-remove-empty", ["checkpoint", "annotate", "{C1}", "--remove", ""], 2,
     "name the annotation to remove by its label: --remove LABEL"),
    ("annotate-neither", ["checkpoint", "annotate", "{C1}"], 2,
     "one of the arguments --label --remove is required"),
    ("annotate-both", ["checkpoint", "annotate", "{C1}", "--label", "x", "--remove", "y"], 2,
     "argument --remove: not allowed with argument --label"),
    ("annotate-unknown-id", ["checkpoint", "annotate", "nope", "--label", "x"], 1, "no checkpoint matches 'nope'"),
    # -- checkpoint list --annotation-tag ---------------------------------------------------------
    ("list-annotation-tag-no-project", ["checkpoint", "list", "nope", "--annotation-tag", "ci"], 1,
     "no session or project matches 'nope'"),
    ("list-annotation-tag-missing-value", ["checkpoint", "list", "{A}", "--annotation-tag"], 2,
     "argument --annotation-tag: expected one argument"),
]
# fmt: on


@dataclass
class World:
    env: dict[str, str]
    data_dir: Path
    names: dict[str, str]

    def fill(self, text: str) -> str:
        for key, value in self.names.items():
            text = text.replace("{" + key + "}", value)
        return text

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*PY, *args], env=self.env, capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL)

    def ok(self, *args: str) -> str:
        r = self.run(*args)
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    root = tmp_path_factory.mktemp("i13-edits-bad")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VMUSER_")}
    env.update(VMUSER_DATA_DIR=str(root / "data"), VMUSER_CONFIG=str(root / "none.toml"),
               PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    w = World(env, root / "data", {})
    a = w.ok("project", "create", "alpha")
    ws = Path(json.loads(w.ok("project", "show", a, "--json"))["workspace"])
    (ws / "a.txt").write_text("one\n")
    c1 = w.ok("checkpoint", "create", a, "-m", "one")
    (ws / "a.txt").write_text("two\n")
    c2 = w.ok("checkpoint", "create", a, "-m", "two")
    w.ok("checkpoint", "annotate", c1, "--label", "tests pass", "--note", "green")
    w.names = {"A": a, "C1": c1, "C2": c2}
    return w


def _state(data_dir: Path) -> str:
    """A digest of every row of every table and every workspace file."""
    h = hashlib.sha256()
    conn = sqlite3.connect(data_dir / "vmuser.db")
    try:
        for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").fetchall():
            h.update(table.encode())
            for r in sorted(repr(r) for r in conn.execute(f'SELECT * FROM "{table}"')):
                h.update(r.encode())
    finally:
        conn.close()
    for path in sorted((data_dir / "workspaces").rglob("*")):
        h.update(str(path).encode())
        if path.is_file():
            h.update(path.read_bytes())
    return h.hexdigest()


@pytest.mark.parametrize(("argv", "code", "message"), [pytest.param(*r[1:], id=r[0]) for r in ROWS])
def test_bad_input(world, argv, code, message):
    before = _state(world.data_dir)
    r = world.run(*[world.fill(a) for a in argv])
    after = _state(world.data_dir)
    assert "Traceback" not in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, f"expected one line on stderr, got:\n{r.stderr}"
    assert r.returncode == code, r.stderr
    assert world.fill(message) in r.stderr, r.stderr
    assert before == after, "the command changed the database or a workspace"
