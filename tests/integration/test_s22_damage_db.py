"""Session 22 (damage): bytes flipped in vmuser.db where a row's text lives, or where a
table's page header is, as a bad disk or a stray tool leaves them. Every command says in one
line that the database is damaged and names ``vmuser check``; none prints "internal error"
or a traceback; a restore whose last write fails says what it did; the data dir stays
usable for the commands that do not need the damaged table.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

PY = [sys.executable, "-m", "vmuser_tui"]
PAGE = 4096
DAMAGED = "the database is damaged"


@pytest.fixture
def world(clean_env, tmp_path):
    """A project (its own workspace folder) with two checkpoints c1, c2; the WAL folded
    into vmuser.db so that flipped bytes stay flipped. Returns a dict of paths and ids."""
    data, ws = tmp_path / "data", tmp_path / "ws"
    env = {k: v for k, v in os.environ.items() if not k.startswith("VMUSER_")}
    env.update(VMUSER_DATA_DIR=str(data), VMUSER_CONFIG=str(tmp_path / "no-config.toml"),
               PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    (ws / "src").mkdir(parents=True)
    for i in range(10):
        (ws / "src" / f"f{i}.txt").write_text(f"file {i}\n" * 30)
    (ws / "README.md").write_text("first\n")
    w = {"env": env, "db": data / "vmuser.db", "ws": ws}
    w["pid"] = cli(w, "project", "create", "dmg", "--workspace", str(ws)).stdout.strip()
    w["c1"] = cli(w, "checkpoint", "create", w["pid"], "-m", "first QQDESCQQ").stdout.strip()
    (ws / "README.md").write_text("second\n")
    w["c2"] = cli(w, "checkpoint", "create", w["pid"], "-m", "second").stdout.strip()
    conn = sqlite3.connect(w["db"])
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return w


def cli(w, *args, check=True):
    r = subprocess.run([*PY, *args], env=w["env"], capture_output=True, text=True, stdin=subprocess.DEVNULL,
                       timeout=120)
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr, r.stderr
    if check:
        assert r.returncode == 0, r.stderr
    return r


def _page(w, table: str) -> tuple[int, int]:
    """(first byte, last byte + 1) of ``table``'s root page in the file."""
    conn = sqlite3.connect(w["db"])
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
    conn.close()
    return (root - 1) * PAGE, root * PAGE


def _overwrite(w, at: int, data: bytes) -> None:
    with open(w["db"], "r+b") as f:
        f.seek(at)
        f.write(data)


def _text_in_page(w, table: str, needle: bytes) -> int:
    lo, hi = _page(w, table)
    at = w["db"].read_bytes().find(needle, lo, hi)
    assert at >= 0, f"{needle!r} is not in {table}'s root page"
    return at


def _one_damage_line(r) -> str:
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("vmuser: error:")]
    assert r.returncode == 1 and len(lines) == 1, r.stderr
    assert DAMAGED in lines[0] and "vmuser check" in lines[0], lines[0]
    return lines[0]


def test_a_checkpoint_row_whose_text_is_no_longer_utf8(world):
    """Before: "vmuser: internal error: OperationalError: Could not decode to UTF-8 column ..."."""
    _overwrite(world, _text_in_page(world, "checkpoints", b"QQDESCQQ"), b"\xff\xfe\xff\xfe")
    for args in (("checkpoint", "list", world["pid"]), ("checkpoint", "diff", world["c1"], world["c2"]),
                 ("checkpoint", "restore", world["c1"], "--yes")):
        _one_damage_line(cli(world, *args, check=False))
    assert (world["ws"] / "README.md").read_text() == "second\n"
    cli(world, "project", "list")  # what does not read that row still works
    r = cli(world, "check", check=False)  # SQLite's integrity check passes such a row: vmuser check must not
    assert r.returncode == 1
    assert f"damaged checkpoint {world['c1']}" in r.stdout and "not text (description)" in r.stdout, r.stdout


def test_a_damaged_operation_log_page_fails_a_restore_clearly_and_bricks_nothing(world):
    """The restore is applied, then its log entry cannot be written. Before: "the database is
    damaged" although the workspace had changed, and from then on every command (even
    ``project list``) failed: the start-up recovery of that restore raised sqlite3's error."""
    lo, _ = _page(world, "operation_log")
    _overwrite(world, lo, b"\xde\xad\xbe\xef" * 2)  # the b-tree page header
    r = cli(world, "checkpoint", "restore", world["c1"], "--yes", check=False)
    line = _one_damage_line(r)
    assert (world["ws"] / "README.md").read_text() == "first\n"  # it was applied ...
    assert f"restored the workspace to checkpoint {world['c1']}" in line, line  # ... and the error says so
    r = cli(world, "project", "list")  # start-up recovery cannot finish it, and says so, once per command
    assert world["pid"] in r.stdout
    assert DAMAGED in r.stderr and "vmuser check" in r.stderr, r.stderr
    r = cli(world, "check", check=False)
    assert r.returncode == 1 and "damaged database" in r.stdout


def test_background_jobs_report_a_damaged_row_and_the_others_still_run(world, tmp_path):
    """The project's name no longer text: idle-project cleanup reads it. Before: sqlite3's
    error left the scheduler (``vmuser worker``, the TUI's job thread) and no later job ran."""
    config = tmp_path / "cleanup.toml"
    config.write_text("[cleanup]\nenabled = true\n")
    world["env"]["VMUSER_CONFIG"] = str(config)
    lo, hi = _page(world, "projects")
    raw = world["db"].read_bytes()
    at = raw.find(b"dmg", lo, hi)
    while at >= 0:
        _overwrite(world, at, b"\xff\xfe\xff")
        at = raw.find(b"dmg", at + 1, hi)
    r = cli(world, "worker", "--once", "--all", "--json", check=False)
    assert r.returncode == 1 and r.stdout, r.stderr
    failed = {j["job"]: j["error"] for j in json.loads(r.stdout) if j["error"]}
    assert failed and all(DAMAGED in e and "vmuser check" in e for e in failed.values()), failed
    assert "gc" not in failed
