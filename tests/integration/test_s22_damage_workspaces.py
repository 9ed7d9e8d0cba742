"""Session 22 (damage): a data dir whose vmuser.db was moved aside (as vmuser's own error
message for a damaged database advises), emptied (0 bytes after a crash or a failed copy)
or replaced by an older backup must never cost the live workspaces under
``<data dir>/workspaces``: before the fix, the next command (even ``vmuser project list``)
and the worker's gc deleted every folder named like a project that the database in hand did
not know, as "orphans".

Only an explicit ``vmuser gc`` reclaims such a folder (``--dry-run`` lists it first); the
start-up recovery and the background gc leave it, and say what they found.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vmuser_tui.core import workspace_orphans

PY = [sys.executable, "-m", "vmuser_tui"]


@pytest.fixture
def env(clean_env, tmp_path):
    out = {k: v for k, v in os.environ.items() if not k.startswith("VMUSER_")}
    out.update(VMUSER_DATA_DIR=str(tmp_path / "data"), VMUSER_CONFIG=str(tmp_path / "no-config.toml"),
               PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    return out


def cli(env, *args, check=True):
    r = subprocess.run([*PY, *args], env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)
    assert "Traceback" not in r.stderr, r.stderr
    if check:
        assert r.returncode == 0, r.stderr
    return r


def _project_with_work(env, tmp_path, name: str) -> Path:
    """A project whose workspace vmuser manages (imported): returns the workspace folder,
    aged past the orphan grace period, with a file nothing else holds."""
    src = tmp_path / f"src-{name}"
    src.mkdir()
    (src / "a.txt").write_text("imported\n")
    pid = cli(env, "project", "create", name, "--import", str(src)).stdout.strip()
    ws = Path(env["VMUSER_DATA_DIR"]) / "workspaces" / pid
    (ws / "work.txt").write_text("typed since, in no checkpoint\n")
    old = time.time() - workspace_orphans.GRACE_SECONDS - 60
    os.utime(ws, (old, old))
    return ws


@pytest.mark.parametrize("how", ["moved-aside", "emptied"])
def test_a_lost_database_never_costs_the_workspaces(env, tmp_path, how):
    ws = _project_with_work(env, tmp_path, "web")
    db = Path(env["VMUSER_DATA_DIR"]) / "vmuser.db"
    if how == "moved-aside":
        db.rename(tmp_path / "vmuser.db.aside")
    else:
        db.write_bytes(b"")
    r = cli(env, "project", "list")
    assert (ws / "work.txt").read_text() == "typed since, in no checkpoint\n"
    assert f"{ws.name}" in r.stderr and "no project" in r.stderr and "vmuser gc" in r.stderr, r.stderr
    cli(env, "worker", "--once", "--all")
    assert (ws / "work.txt").is_file()


def test_a_database_restored_from_a_backup_keeps_newer_projects_workspaces(env, tmp_path):
    _project_with_work(env, tmp_path, "old")
    db = Path(env["VMUSER_DATA_DIR"]) / "vmuser.db"
    cli(env, "project", "list")  # the last vmuser out folds the WAL into the file
    shutil.copy2(db, tmp_path / "backup.db")
    ws = _project_with_work(env, tmp_path, "new")
    shutil.copy2(tmp_path / "backup.db", db)
    for side in ("vmuser.db-wal", "vmuser.db-shm"):
        (db.parent / side).unlink(missing_ok=True)
    cli(env, "project", "list")
    cli(env, "worker", "--once", "--all")
    assert (ws / "work.txt").is_file()
    # an explicit gc still reclaims it, after --dry-run named it
    assert str(ws) in cli(env, "gc", "--dry-run").stdout
    cli(env, "gc")
    assert not ws.exists()
