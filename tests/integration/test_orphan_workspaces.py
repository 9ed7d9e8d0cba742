"""Issue 11, case 15: a ``project create --import`` killed with SIGKILL mid-copy leaves a
folder no project owns; ``vmuser gc`` (``--dry-run`` lists) and the start-up recovery
reclaim it, after saying so, and never touch the folder of an import still running."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vmuser_tui.core import workspace_orphans

from wsutil import write

PY = [sys.executable, "-m", "vmuser_tui"]


@pytest.fixture
def env(clean_env, tmp_path):
    out = {k: v for k, v in os.environ.items() if not k.startswith("VMUSER_")}
    out.update(VMUSER_DATA_DIR=str(tmp_path / "data"), VMUSER_CONFIG=str(tmp_path / "no-config.toml"),
               PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    return out


def cli(env, *args, check=True):
    r = subprocess.run([*PY, *args], env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)
    if check:
        assert r.returncode == 0, r.stderr
    return r


@pytest.fixture(scope="module")
def big_source(tmp_path_factory) -> Path:
    """12,000 files of 2 KiB in 60 folders: a copy that takes a few seconds here."""
    src = tmp_path_factory.mktemp("big-import")
    blob = os.urandom(2048)
    for d in range(60):
        folder = src / f"d{d:02}"
        folder.mkdir()
        for f in range(200):
            (folder / f"f{f:03}.bin").write_bytes(blob)
    return src


def _start_import(env, name: str, src: Path) -> subprocess.Popen:
    return subprocess.Popen([*PY, "project", "create", name, "--import", str(src)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)


def _caught_mid_copy(proc: subprocess.Popen, workspaces: Path, known: set[str]) -> Path:
    """Stop ``proc`` (SIGSTOP) as soon as a new folder with some files appears under
    ``workspaces``; the copy is then half-done. Returns that folder."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the import finished before it could be caught mid-copy"
        new = [p for p in (os.listdir(workspaces) if workspaces.is_dir() else []) if p not in known]
        if new and _count(workspaces / new[0]) >= 5:  # folders come first, then files
            proc.send_signal(signal.SIGSTOP)
            return workspaces / new[0]
        time.sleep(0.002)
    raise AssertionError("no import folder appeared")


def _count(folder: Path) -> int:
    return sum(len(files) for _, _, files in os.walk(folder))


def test_a_killed_import_is_reclaimed_by_gc_and_a_live_one_is_not(env, tmp_path, big_source):
    cli(env, "project", "create", "keep")
    workspaces = tmp_path / "data" / "workspaces"
    owned = set(os.listdir(workspaces))

    live = _start_import(env, "live", big_source)
    try:
        running = _caught_mid_copy(live, workspaces, owned)  # stopped, not dead
        files_before = _count(running)

        # (its own start-up recovery must leave the live import alone too)
        killed = _start_import(env, "killed", big_source)
        dead = _caught_mid_copy(killed, workspaces, owned | {running.name})
        killed.send_signal(signal.SIGKILL)
        killed.wait()
        assert 0 < _count(dead) < 12_000  # half a copy on disk, no project row
        assert running.is_dir() and _count(running) == files_before

        r = cli(env, "gc", "--dry-run")
        assert f"would remove the orphan workspace folder {dead} (an import by process {killed.pid} that is gone)" \
            in r.stdout
        assert str(running) not in r.stdout
        assert dead.is_dir() and _count(running) == files_before

        r = cli(env, "gc", "--json")
        got = json.loads(r.stdout)["workspaces"]
        assert [o["path"] for o in got] == [str(dead)]
        assert not dead.exists()
        assert running.is_dir() and _count(running) == files_before
        log = json.loads(cli(env, "log", "--json", "--limit", "1").stdout)[0]
        assert log["operation"] == "gc" and log["details"]["workspaces"][0]["path"] == str(dead)
    finally:
        live.send_signal(signal.SIGCONT)
    out, err = live.communicate(timeout=120)
    assert live.returncode == 0, err
    pid = out.decode().strip()
    assert sorted(os.listdir(workspaces)) == sorted(owned | {pid})
    assert _count(workspaces / pid) == 12_000
    assert {p["name"] for p in json.loads(cli(env, "project", "list", "--json").stdout)} == {"keep", "live"}


def test_start_up_recovery_reclaims_a_killed_import(env, tmp_path, big_source):
    cli(env, "project", "create", "keep")
    workspaces = tmp_path / "data" / "workspaces"
    owned = set(os.listdir(workspaces))
    killed = _start_import(env, "killed", big_source)
    dead = _caught_mid_copy(killed, workspaces, owned)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    r = cli(env, "project", "list")
    assert f"vmuser: removed the orphan workspace folder {dead} (an import by process {killed.pid} that is gone)" \
        in r.stderr.splitlines()
    assert set(os.listdir(workspaces)) == owned
    entry = json.loads(cli(env, "log", "--json", "--limit", "1").stdout)[0]
    assert entry["operation"] == "workspace.orphan" and entry["details"]["path"] == str(dead)
    assert "orphan" not in cli(env, "project", "list").stderr  # said once


def test_folders_named_like_a_project_without_a_row(vm, data_dir, tmp_path):
    """What a kill between mkdir and the project row (or an older vmuser's import) leaves:
    reclaimed once it is older than the grace period; everything else is left alone."""
    keep = vm.projects.create("keep")
    ws = data_dir / "workspaces"
    old = time.time() - workspace_orphans.GRACE_SECONDS - 60
    ghost = write(ws, "ghost-0123abcd/a.txt", "x").parent
    fresh = write(ws, "fresh-0123abcd/a.txt", "x").parent
    mine = write(ws, "my-notes/a.txt", "x").parent  # not a name vmuser makes
    moved = write(ws, "moved-89abcdef/a.txt", "x").parent  # a row names it by path
    ro = write(ws, "readonly-0123abcd/sub/a.txt", "x").parent.parent
    os.chmod(ro / "sub", 0o555)
    target = tmp_path / "outside"
    write(target, "precious.txt", "keep me")
    os.symlink(target, ro / "link")
    for folder in (ghost, mine, moved, ro):
        os.utime(folder, (old, old))
    os.utime(Path(keep.workspace), (old, old))
    with vm.db.write() as conn:
        conn.execute("UPDATE projects SET workspace = ? WHERE id = ?", (str(moved), keep.id))
    result = vm.gc(dry_run=True)
    assert sorted(o.path for o in result.workspaces) == sorted([str(ghost), str(ro)])
    assert ghost.is_dir() and ro.is_dir()
    result = vm.gc()
    assert sorted(o.path for o in result.workspaces) == sorted([str(ghost), str(ro)]) and not result.problems
    assert sorted(os.listdir(ws)) == sorted([keep.id, "fresh-0123abcd", "my-notes", "moved-89abcdef"])
    assert (target / "precious.txt").read_text() == "keep me"  # the link was removed, not followed
