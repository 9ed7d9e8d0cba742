"""A data directory that cannot be written is still readable (issue 11, case 16).

``vmuser check`` and ``vmuser tui --read-only`` used to refuse a read-only data directory
("the data directory ... is read-only") although they only read. Now every command that
only reads opens it read-only (SQLite ``mode=ro``; ``immutable=1`` only when no ``-wal``
holds commits), says so in one line, and writes nothing: no migration, no restore
recovery, no reconcile with Docker, no lease. Commands that change something are refused
with the same line as before.

The directory is made read-only for real: a read-only bind mount in a private mount
namespace (``unshare -m``), which stops root too (permission bits do not).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from vmuser_tui.core.service import Vmuser

pytestmark = [pytest.mark.timeout(180)]


def _can_mount() -> bool:
    if not shutil.which("unshare") or os.geteuid() != 0:
        return False
    r = subprocess.run(["unshare", "-m", "sh", "-c", "mount --bind -o ro /tmp /tmp"], capture_output=True)
    return r.returncode == 0


needs_mount = pytest.mark.skipif(not _can_mount(), reason="needs root and unshare -m for a read-only bind mount")

# Mount the data dir read-only in a new mount namespace, then run the command there.
RO = 'mount --bind -o ro "$VMUSER_DATA_DIR" "$VMUSER_DATA_DIR" && exec "$@"'


@pytest.fixture
def world(tmp_path, clean_env):
    data, cfg = tmp_path / "data", tmp_path / "none.toml"
    vm = Vmuser.open(data_dir=str(data), config_path=cfg)
    p = vm.projects.create("kept")
    ws = Path(p.workspace)
    (ws / "a.txt").write_text("one\n")
    first = vm.checkpoints.create(p.id, description="first").checkpoint
    (ws / "a.txt").write_text("two\n")
    vm.checkpoints.create(p.id, description="second")
    vm.close()  # the last connection out merges the WAL and removes -wal and -shm
    assert not (data / "vmuser.db-wal").exists() and not (data / "vmuser.db-shm").exists()
    env = dict(os.environ, VMUSER_DATA_DIR=str(data), VMUSER_CONFIG=str(cfg))
    return {"data": data, "cfg": cfg, "project": p.id, "first": first.id, "ws": ws, "env": env}


def ro(world, *argv: str, python: list[str] | None = None) -> subprocess.CompletedProcess:
    cmd = ["unshare", "-m", "sh", "-c", RO, "sh", *(python or [sys.executable, "-m", "vmuser_tui"]), *argv]
    return subprocess.run(cmd, env=world["env"], capture_output=True, text=True, timeout=120)


def digest(data: Path) -> dict:
    """Every file in the data directory (the database included) and its bytes."""
    return {str(p.relative_to(data)): p.read_bytes() for p in sorted(data.rglob("*")) if p.is_file()}


NOTE = "vmuser: the data directory {data} cannot be written: opened read-only\n"


@needs_mount
def test_reading_commands_work_on_a_read_only_data_dir_and_write_nothing(world):
    before = digest(world["data"])
    note = NOTE.format(data=world["data"])
    r = ro(world, "check")
    assert (r.returncode, r.stderr) == (0, note) and "no damage" in r.stdout, r.stderr
    r = ro(world, "project", "list", "--json")
    assert r.returncode == 0 and [p["name"] for p in json.loads(r.stdout)] == ["kept"], r.stderr
    r = ro(world, "checkpoint", "list", world["project"], "--json")
    assert r.returncode == 0 and [c["description"] for c in json.loads(r.stdout)] == ["second", "first"], r.stderr
    r = ro(world, "log", "--json")
    assert r.returncode == 0 and {e["operation"] for e in json.loads(r.stdout)} >= {"project.create",
                                                                                    "checkpoint.create"}
    r = ro(world, "fs", "cat", world["project"], "a.txt", "--at", world["first"])
    assert (r.returncode, r.stdout, r.stderr) == (0, "one\n", note)
    r = ro(world, "checkpoint", "diff", world["first"])
    assert r.returncode == 0 and "M a.txt" in r.stdout, r.stderr
    assert digest(world["data"]) == before


@needs_mount
@pytest.mark.parametrize("argv", [
    ["checkpoint", "create", "{P}", "-m", "x"],
    ["project", "create", "new"],
    ["checkpoint", "restore", "{C}", "--yes"],
    ["gc"],
    ["tui"],  # without --read-only the TUI would change things: refused as before
], ids=lambda a: " ".join(a[:2]))
def test_changing_commands_are_refused_with_one_line(world, argv):
    before = digest(world["data"])
    argv = [a.replace("{P}", world["project"]).replace("{C}", world["first"]) for a in argv]
    r = ro(world, *argv)
    assert r.returncode == 1
    assert r.stderr == (f"vmuser: error: the data directory {world['data']} is read-only; make it writable or "
                        "pass --data-dir DIR\n")
    assert digest(world["data"]) == before


@needs_mount
def test_commits_still_in_the_wal_are_read(world):
    """A vmuser killed with -9 leaves its last commits in vmuser.db-wal (and the -shm):
    the read-only open reads through them, it does not show the older file alone."""
    killed = textwrap.dedent("""
        import os, signal, sys
        from pathlib import Path
        from vmuser_tui.core.service import Vmuser
        vm = Vmuser.open(reconcile=False)
        (Path(vm.projects.get(sys.argv[1]).workspace) / "a.txt").write_text("three\\n")
        vm.checkpoints.create(sys.argv[1], description="in the wal")
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    p = subprocess.run([sys.executable, "-c", killed, world["project"]], env=world["env"], capture_output=True)
    assert p.returncode == -signal.SIGKILL, p.stderr
    wal = world["data"] / "vmuser.db-wal"
    assert wal.stat().st_size > 0
    r = ro(world, "checkpoint", "list", world["project"], "--json")
    assert r.returncode == 0, r.stderr
    assert [c["description"] for c in json.loads(r.stdout)][0] == "in the wal"
    # without the -shm SQLite cannot read the WAL in a read-only folder: refused, not stale
    (world["data"] / "vmuser.db-shm").unlink()
    r = ro(world, "checkpoint", "list", world["project"])
    assert r.returncode == 1 and r.stderr.count("\n") == 1
    assert "has changes not yet merged from vmuser.db-wal (a vmuser was killed)" in r.stderr


@needs_mount
def test_an_older_schema_is_not_upgraded_read_only(world):
    conn = sqlite3.connect(world["data"] / "vmuser.db")
    conn.execute("PRAGMA journal_mode = DELETE")  # (so no -wal is left beside it)
    conn.execute("PRAGMA user_version = 2")
    conn.close()
    r = ro(world, "project", "list")
    assert r.returncode == 1 and r.stderr.count("\n") == 1
    assert "was written by an older vmuser (schema 2" in r.stderr and "open it read-write once" in r.stderr


TUI = textwrap.dedent("""
    import asyncio
    from vmuser_tui.cli import parser as parser_mod
    from vmuser_tui.cli.commands import open_service
    from vmuser_tui.tui.app import VmuserApp

    args = parser_mod.build().parse_args(["tui", "--read-only"])
    vm = open_service(args)  # the path `vmuser tui --read-only` takes

    async def main():
        app = VmuserApp(vm, read_only=args.read_only, jobs=True, watch_interval=0.1, docker_interval=0)
        async with app.run_test(size=(120, 40)) as pilot:
            for _ in range(10):
                await pilot.pause(0.1)
            await pilot.press("enter")  # open the project
            for _ in range(20):
                await pilot.pause(0.1)
            print("screen:", type(app.screen).__name__)
            await pilot.press("c")  # checkpoint: refused, read-only
            for _ in range(5):
                await pilot.pause(0.1)
            for n in app.history:  # what the user was told, in full
                print("note:", n.text)

    asyncio.run(main())
    vm.close()
    print("closed")
""")


@needs_mount
def test_the_read_only_tui_opens_a_read_only_data_dir(world):
    before = digest(world["data"])
    r = ro(world, python=[sys.executable, "-c", TUI])
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "screen: ProjectScreen" in lines and lines[-1] == "closed", r.stdout
    notes = [line for line in lines if line.startswith("note:")]
    assert f"note: the data directory {world['data']} cannot be written: opened read-only" in notes
    assert not [n for n in notes if "is read-only; make it writable" in n or "error" in n.lower()], notes
    assert any("read-only" in n and "checkpoint" in n for n in notes), notes
    assert digest(world["data"]) == before
