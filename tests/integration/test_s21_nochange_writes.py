"""A checkpoint that finds nothing changed writes nothing (issue 15: a no-change `vmuser
checkpoint create` without a worker, as scripts and cron jobs run it).

Before, every capture wrote and deleted its ``capture_locks`` row; the WAL frames that left
made the closing connection checkpoint the WAL with an fsync (~10 ms). Now the row is written
just before the capture first reads a file, which is the moment from which gc must remove no
blob (the capture may then decide that a blob is already stored)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

OLD = 1_700_000_000  # an mtime far outside the racy window: the stat cache trusts it


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vmuser_tui", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def _workspace(root: Path) -> Path:
    ws = root / "ws"
    for d in range(3):
        (ws / f"d{d}").mkdir(parents=True)
        for f in range(5):
            path = ws / f"d{d}" / f"f{f}.txt"
            path.write_text(f"{d}/{f}\n")
            os.utime(path, (OLD, OLD))
    return ws


def test_a_no_change_checkpoint_commits_nothing(tmp_path, clean_env):
    env = dict(os.environ, VMUSER_DATA_DIR=str(tmp_path / "data"), VMUSER_CONFIG=str(tmp_path / "none.toml"))
    ws = _workspace(tmp_path)
    project = _cli(env, "project", "create", "quiet", "--workspace", str(ws)).stdout.strip()
    first = _cli(env, "checkpoint", "create", project)
    assert first.returncode == 0, first.stderr
    watcher = sqlite3.connect(tmp_path / "data" / "vmuser.db")
    before = watcher.execute("PRAGMA data_version").fetchone()[0]
    again = _cli(env, "checkpoint", "create", project)
    assert again.returncode == 0 and "nothing changed" in again.stderr
    assert again.stdout.strip() == first.stdout.strip()
    # data_version moves when another connection commits a change: none did
    assert watcher.execute("PRAGMA data_version").fetchone()[0] == before
    # ... and a real change is still seen, and its capture leaves no lock row behind
    (ws / "d1" / "f2.txt").write_text("changed\n")
    changed = _cli(env, "checkpoint", "create", project)
    assert changed.returncode == 0 and changed.stdout.strip() != first.stdout.strip()
    assert watcher.execute("PRAGMA data_version").fetchone()[0] != before
    assert watcher.execute("SELECT COUNT(*) FROM capture_locks").fetchone()[0] == 0
    watcher.close()


def test_a_capture_holds_its_lock_while_it_reads_files(vm, tmp_path):
    """gc must remove no blob once a capture reads files: the lock row is there while the
    files are hashed (the progress callback runs between groups of files)."""
    ws = _workspace(tmp_path)
    project = vm.projects.create("reads", workspace=str(ws))
    seen: list[int] = []

    def progress(*_: int) -> None:
        seen.append(vm.db.conn.execute("SELECT COUNT(*) FROM capture_locks").fetchone()[0])

    vm.checkpoints.create(project.id, progress=progress)
    assert seen and all(n == 1 for n in seen)
    assert vm.db.conn.execute("SELECT COUNT(*) FROM capture_locks").fetchone()[0] == 0
