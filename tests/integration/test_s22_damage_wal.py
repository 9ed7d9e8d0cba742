"""Session 22 (damage): a ``vmuser.db-wal`` that is not this database's (copied in with a
file, left by another program, a backup's) beside vmuser.db. SQLite cannot tell: it reads the
database through that WAL, and the last connection to close copies its pages into the file.
Before the fix, ``vmuser project list`` then refused the file as "another program's SQLite
database" -- after closing, which had already overwritten vmuser.db with the other
program's two pages: the whole history gone. Now the refusal changes no byte of vmuser.db.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

PY = [sys.executable, "-m", "vmuser_tui"]


def cli(env, *args, check=True):
    r = subprocess.run([*PY, *args], env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr, r.stderr
    if check:
        assert r.returncode == 0, r.stderr
    return r


def _foreign_wal(tmp_path: Path, schema: str) -> Path:
    """The -wal of another program's WAL-mode database holding one commit of ``schema``."""
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    conn.executescript(schema)
    kept = tmp_path / "other.db-wal.copy"
    shutil.copy(str(other) + "-wal", kept)  # before close: closing folds the WAL away
    conn.close()
    return kept


def test_a_foreign_wal_beside_vmuser_db_never_overwrites_it(clean_env, tmp_path):
    data, ws = tmp_path / "data", tmp_path / "ws"
    ws.mkdir()
    (ws / "a.txt").write_text("work\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VMUSER_")}
    env.update(VMUSER_DATA_DIR=str(data), VMUSER_CONFIG=str(tmp_path / "no-config.toml"),
               PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    pid = cli(env, "project", "create", "web", "--workspace", str(ws)).stdout.strip()
    cli(env, "checkpoint", "create", pid)
    db = data / "vmuser.db"
    assert not Path(str(db) + "-wal").exists()  # the last vmuser out folded its WAL
    before = db.read_bytes()
    shutil.copy(_foreign_wal(tmp_path, "CREATE TABLE projects(x); INSERT INTO projects VALUES (1);"),
                str(db) + "-wal")
    for args in (("project", "list"), ("check",)):
        r = cli(env, *args, check=False)
        assert r.returncode == 1 and "another program's SQLite database" in r.stderr, r.stderr
        assert f"move {db.name}-wal aside" in r.stderr, r.stderr  # the culprit, not the file
        assert db.read_bytes() == before  # not one byte of the history lost
    Path(str(db) + "-wal").unlink()
    Path(str(db) + "-shm").unlink(missing_ok=True)
    assert pid in cli(env, "project", "list").stdout
