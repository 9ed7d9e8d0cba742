"""A first checkpoint of many small files hashed in worker processes (issue 15, item 4).

Many small files are read, hashed and packed by child processes (store/hashproc.py), each
with its own GIL. What a user must not notice: the same tree and blob hashes as the
threads produce, a byte-exact restore, files deleted or changed while the checkpoint is
taken left out or read again exactly as before, an unreadable file failing the
checkpoint with the same line, and a child that dies failing the checkpoint with one line
instead of hanging. The process threshold is lowered here so that trees of a few
thousand files take the process path (the CLI test uses a tree above the real one).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from vmuser_tui.core.errors import StoreError
from vmuser_tui.core.service import Vmuser
from vmuser_tui.core.store import hashproc
from vmuser_tui.core.store import restore as rs
from vmuser_tui.core.store.capture import GROUP_FILES

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def spy(monkeypatch):
    """Lower the threshold to 1,000 files and record each set of hashing processes started
    (the real ones: ``hashproc.start`` is called through)."""
    started: list[hashproc.HashProcs] = []
    real = hashproc.start

    def start(*args, **kwargs):
        procs = real(*args, **kwargs)
        if procs is not None:
            started.append(procs)
        return procs

    monkeypatch.setattr(hashproc, "MIN_FILES", 1000)
    monkeypatch.setattr(hashproc, "start", start)
    return started


def _tree(ws: Path, count: int) -> dict[str, bytes]:
    """``count`` small files of varied sizes (some empty, some equal), one big file that
    is chunked, a symlink; returns ``{path: bytes}`` of the regular files."""
    files = {}
    for i in range(count):
        rel = f"d{i % 7}/s{i % 13}/f{i:05d}.txt"
        data = b"" if i % 97 == 0 else (b"same\n" if i % 50 == 0 else (f"{i} ".encode() * (i % 300 + 1)))
        files[rel] = data
    files["big/blob.bin"] = os.urandom(64 * 1024) * 80  # 5 MiB: above the chunk threshold
    for rel, data in files.items():
        (ws / rel).parent.mkdir(parents=True, exist_ok=True)
        (ws / rel).write_bytes(data)
    (ws / "link").symlink_to("d0/s0/f00000.txt")
    return files


def _restored(vm, checkpoint, dest: Path) -> dict[str, bytes]:
    """Restore ``checkpoint`` onto the empty folder ``dest`` with the real restore code;
    ``{path: bytes}`` of the regular files written."""
    store = vm.ctx.store
    target = dict(store.walk(checkpoint.root_tree))
    dest.mkdir(parents=True)
    plan = rs.plan(target, {})
    rs.check(store, plan, dest)
    rs.apply(store, dest, plan, checked=True)
    return {rel: (dest / rel).read_bytes() for rel, e in target.items() if e.kind == "file"}


def test_a_first_checkpoint_with_processes_restores_byte_exact_and_equals_the_threads(
        make_vm, tmp_path, spy, monkeypatch):
    vm = make_vm()
    ws = tmp_path / "ws"
    ws.mkdir()
    project = vm.projects.create("procs", workspace=ws)
    files = _tree(ws, 3000)

    out = vm.checkpoints.create(project.id)

    assert len(spy) == 1, "the checkpoint did not use hashing processes"
    assert out.created and out.checkpoint.file_count == len(files)  # regular files; the link is not counted
    assert _restored(vm, out.checkpoint, tmp_path / "copy") == files
    assert os.readlink(tmp_path / "copy" / "link") == "d0/s0/f00000.txt"
    assert vm.checkpoints.create(project.id).created is False  # the stat cache holds every file

    # The same files captured by the hashing threads (another data dir): the same root tree.
    monkeypatch.setattr(hashproc, "MIN_FILES", 10**9)
    other = Vmuser.open(data_dir=str(tmp_path / "threads"), config_path=tmp_path / "none.toml", reconcile=False)
    try:
        twin = other.projects.create("threads", workspace=ws)
        by_threads = other.checkpoints.create(twin.id)
    finally:
        other.close()
    assert len(spy) == 1
    assert by_threads.checkpoint.root_tree == out.checkpoint.root_tree
    assert by_threads.new_bytes > 0


def test_files_deleted_or_changed_while_the_processes_read_are_left_out_or_read_again(vm, tmp_path, spy):
    project = vm.projects.create("races")
    ws = Path(project.workspace)
    (ws / "gen").mkdir()
    # Files the processes may have read before the first progress call: the groups queued
    # for each (one process a core, up to the store's workers) and one more.
    late = (min(vm.ctx.store.workers, os.cpu_count() or 1) * hashproc.QUEUED_GROUPS + 1) * GROUP_FILES
    names = [f"gen/f{i:05d}" for i in range(late + 1500)]
    for rel in names:
        (ws / rel).write_bytes(rel.encode())
    gone, changed, fifo = names[-300:-2], names[-2], names[-1]
    fired = []

    def progress(files_done, files_total, bytes_done, bytes_total):
        # The first call comes after one group; the last files are not read yet.
        if not fired:
            fired.append(files_done)
            for rel in gone:
                os.unlink(ws / rel)
            (ws / changed).write_bytes(b"written after the scan, a longer content\n")
            os.unlink(ws / fifo)
            os.mkfifo(ws / fifo)  # never opened for reading (it would block): left out as gone

    out = vm.checkpoints.create(project.id, progress=progress)

    assert spy and fired and fired[0] <= 2 * 256
    assert sorted(out.vanished) == sorted([*gone, fifo])
    assert out.checkpoint.file_count == len(names) - len(gone) - 1
    restored = _restored(vm, out.checkpoint, tmp_path / "copy")
    assert restored[changed] == b"written after the scan, a longer content\n"
    assert all(restored[rel] == rel.encode() for rel in names[:-300])
    assert not set(gone) & set(restored)
    cached = {r["path"] for r in vm.db.query("SELECT path FROM stat_cache WHERE project_id = ?", (project.id,))}
    assert changed in cached and not cached & {*gone, fifo}
    # The next checkpoint reads nothing again but the fifo is still not captured.
    again = vm.checkpoints.create(project.id)
    assert again.created is False


def test_a_hashing_process_that_dies_fails_the_checkpoint_with_one_line(vm, spy):
    project = vm.projects.create("dies")
    ws = Path(project.workspace)
    for i in range(6000):
        (ws / f"f{i:05d}").write_bytes(b"x" * (i % 500))
    killed = []

    def progress(files_done, files_total, bytes_done, bytes_total):
        if not killed:
            for child in spy[-1].children:
                os.kill(child.proc.pid, signal.SIGKILL)
            killed.append(True)

    with pytest.raises(StoreError, match=r"^a hashing process stopped .*; take the checkpoint again$"):
        vm.checkpoints.create(project.id, progress=progress)
    assert killed and vm.checkpoints.list(project.id) == []
    # Nothing half-done stays in the way: the next checkpoint is whole.
    out = vm.checkpoints.create(project.id)
    assert out.created and out.checkpoint.file_count == 6000


def test_the_children_are_gone_after_a_capture(vm, spy, monkeypatch):
    ended = []
    real_close = hashproc._Child.close

    def close(child, kill):
        real_close(child, kill)
        ended.append((kill, child.proc.returncode))

    monkeypatch.setattr(hashproc._Child, "close", close)
    project = vm.projects.create("tidy")
    ws = Path(project.workspace)
    for i in range(1500):
        (ws / f"f{i:05d}").write_text(f"{i}\n")
    assert vm.checkpoints.create(project.id).checkpoint.file_count == 1500
    assert len(spy) == 1 and len(ended) >= 1
    assert all(kill is False and code == 0 for kill, code in ended)  # each ended by itself at end of input


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"),
                    reason="needs root and setpriv to drop the capability that reads any file")
def test_an_unreadable_file_among_many_fails_the_checkpoint_with_the_same_line(tmp_path):
    """Through the CLI, a tree above the real threshold, as an ordinary user (no
    CAP_DAC_OVERRIDE): the child's EACCES is the parent's one line, exit 1, nothing stored."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VMUSER_")}
    env.update(PYTHONPATH=str(ROOT), VMUSER_DATA_DIR=str(tmp_path / "data"))
    cli = [sys.executable, "-m", "vmuser_tui"]

    def run(*args):
        pre = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]
        return subprocess.run([*pre, *cli, *args], env=env, capture_output=True, text=True, timeout=300)

    assert run("project", "create", "perm").returncode == 0
    ws = Path(json.loads(run("project", "list", "--json").stdout)[0]["workspace"])
    for i in range(hashproc.MIN_FILES + 200):
        (ws / f"f{i:05d}.txt").write_text(f"file {i}\n")
    (ws / "m-secret.txt").write_text("s\n")
    os.chmod(ws / "m-secret.txt", 0)
    out = run("checkpoint", "create", "perm", "-m", "unreadable file")
    assert out.returncode == 1
    assert out.stderr.strip().splitlines()[-1] == (
        f"vmuser: error: cannot read {ws}/m-secret.txt: Permission denied; "
        "fix its permissions or add it to .vmuserignore")
    assert json.loads(run("checkpoint", "list", "perm", "--json").stdout) == []
    os.chmod(ws / "m-secret.txt", 0o644)
    out = run("checkpoint", "create", "perm", "-m", "readable again")
    assert out.returncode == 0, out.stderr


def test_below_the_threshold_no_process_is_started(vm, spy):
    project = vm.projects.create("few")
    ws = Path(project.workspace)
    for i in range(50):
        (ws / f"f{i}").write_text(f"{i}\n")
    assert vm.checkpoints.create(project.id).checkpoint.file_count == 50
    assert spy == []


def test_folders_changed_while_the_scan_still_runs_are_taken_as_the_scan_finds_them(vm, tmp_path, spy):
    """The scan advances while the first files are hashed: a folder deleted before the
    scan lists it is left out (and said so, as a folder that vanishes mid-scan always
    was), a file added to a folder not yet listed is in, and the next checkpoint finds
    nothing left to do."""
    project = vm.projects.create("late")
    ws = Path(project.workspace)
    for d in range(8):
        (ws / f"d{d}").mkdir()
        for i in range(800):
            (ws / f"d{d}" / f"f{i:04d}").write_bytes(f"{d}/{i}\n".encode() * (i % 40 + 1))
    fired = []

    def progress(files_done, files_total, bytes_done, bytes_total):
        if not fired:
            fired.append(files_total)
            shutil.rmtree(ws / "d7")
            (ws / "d6" / "new.txt").write_text("added while the checkpoint ran\n")

    out = vm.checkpoints.create(project.id, progress=progress)

    assert spy and fired and fired[0] < 8 * 800  # the scan had not listed every folder yet
    on_disk = {str(p.relative_to(ws)): p.read_bytes() for p in ws.rglob("*") if p.is_file()}
    assert len(on_disk) == 7 * 800 + 1
    assert out.checkpoint.file_count == len(on_disk) and out.vanished == ["d7"]
    assert _restored(vm, out.checkpoint, tmp_path / "copy") == on_disk
    cached = {r["path"] for r in vm.db.query("SELECT path FROM stat_cache WHERE project_id = ?", (project.id,))}
    assert cached == set(on_disk)
    assert vm.checkpoints.create(project.id).created is False
