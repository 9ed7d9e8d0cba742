"""The standalone scan (issue 15, item 3): a process without change monitors (the CLI
without a worker) skips unchanged folders by their stored signatures. Each capture here
is checked against the full scan's tree of the same files (``live_tree``), and the
capture-race and round-trip tests of the monitored path run again on this one."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
import test_capture_races as races
import test_checkpoint_roundtrip as roundtrip
from wsutil import write

from vmuser_tui.core.service import Vmuser
from vmuser_tui.core.store import capture as cap
from vmuser_tui.core.store import dirscan

# -- the monitored path's tests, run with live=False (each imported test uses this vm) ------
test_checkpoints_and_restores_during_a_build_never_fail = races.test_checkpoints_and_restores_during_a_build_never_fail
test_a_file_rewritten_while_read_is_stored_as_one_whole_version = (
    races.test_a_file_rewritten_while_read_is_stored_as_one_whole_version)
test_capture_mutate_capture_restore_round_trip = roundtrip.test_capture_mutate_capture_restore_round_trip
test_no_change_after_restore_is_detected_too = roundtrip.test_no_change_after_restore_is_detected_too
test_new_work_after_restore_branches_the_timeline = roundtrip.test_new_work_after_restore_branches_the_timeline
test_unchanged_old_files_are_not_rehashed = roundtrip.test_unchanged_old_files_are_not_rehashed
test_same_size_same_mtime_change_is_detected = roundtrip.test_same_size_same_mtime_change_is_detected
test_unsupported_entries_are_reported_not_silently_dropped = (
    roundtrip.test_unsupported_entries_are_reported_not_silently_dropped)
test_reserved_top_level_vmuser_dir_is_not_captured = roundtrip.test_reserved_top_level_vmuser_dir_is_not_captured
test_property_round_trip = roundtrip.test_property_round_trip
project = roundtrip.project


@pytest.fixture
def vm(clean_env, data_dir, config_path):
    """A Vmuser as a one-shot CLI command opens it: no change monitors."""
    v = Vmuser.open(data_dir=str(data_dir), config_path=config_path, reconcile=False, live=False)
    assert v.ctx.live_state("none", data_dir) is None
    yield v
    v.close()


def test_the_vanish_test_runs_on_the_standalone_scan(vm, tmp_path):
    races.test_files_that_vanish_before_they_are_read_are_left_out(vm, tmp_path, "full scan")


@pytest.fixture
def no_racy_window(monkeypatch):
    """Folders are signed at once (else every entry's ctime, moved by the writes and the
    ``utime`` calls of the test, keeps its folder unsigned for 2 s)."""
    monkeypatch.setattr(dirscan, "RACY_WINDOW_NS", 0)


def _old(ws: Path) -> None:
    """Age every entry's mtime by an hour."""
    then = time.time() - 3600
    for path in [ws, *ws.rglob("*")]:
        os.utime(path, (then, then), follow_symlinks=False)


def _full_scan(vm, pid: str, ws: Path) -> tuple[str, int, int]:
    rules = vm.checkpoints.ignore_rules(ws, "manual")
    root, _, found = cap.live_tree(vm.db, pid, ws, ignore=rules.match)
    return root, len(found.stats), sum(s.size for s in found.stats.values())


def _check(vm, pid: str, ws: Path):
    """A checkpoint, which must hold what a full scan finds."""
    out = vm.checkpoints.create(pid)
    cp = out.checkpoint
    assert (cp.root_tree, cp.file_count, cp.total_size) == _full_scan(vm, pid, ws)
    return out


def _signed(vm, pid: str) -> int:
    return vm.db.conn.execute("SELECT COUNT(sig) FROM stat_dirs WHERE project_id = ?", (pid,)).fetchone()[0]


def _tree(ws: Path) -> None:
    for d in range(4):
        for s in range(3):
            for f in range(5):
                write(ws, f"d{d}/s{s}/f{f}.txt", f"{d} {s} {f}\n" * (f + 1))
    write(ws, "top.txt", "top\n")
    os.symlink("d0/s0/f0.txt", ws / "link")


def test_every_kind_of_change_is_seen_and_unchanged_folders_are_not_read(vm, no_racy_window):
    p = vm.projects.create("sigs")
    ws = Path(p.workspace)
    _tree(ws)
    _old(ws)
    first = _check(vm, p.id, ws)
    assert first.hashed_files == 61 and _signed(vm, p.id) == 17  # root, 4 + 12 folders
    again = _check(vm, p.id, ws)
    assert again.created is False and again.hashed_files == 0

    def change(fn) -> None:
        fn()
        out = _check(vm, p.id, ws)
        assert out.created, fn.__doc__
        _old(ws)
        assert _check(vm, p.id, ws).created is False

    def edit():
        """a file's content"""
        (ws / "d1/s2/f3.txt").write_text("edited\n")

    def chmod():
        """a file's mode"""
        os.chmod(ws / "d2/s0/f0.txt", 0o600)

    def dir_mode():
        """a folder's mode"""
        os.chmod(ws / "d3/s1", 0o700)

    def relink():
        """a symlink's target"""
        os.unlink(ws / "link")
        os.symlink("top.txt", ws / "link")

    def remove_folder():
        """a folder removed"""
        shutil.rmtree(ws / "d0/s2")

    def add_folder():
        """a new folder"""
        write(ws, "d0/new/deep/x.txt", "x\n")

    def rename():
        """a file renamed in place (same inode, same size)"""
        os.rename(ws / "d2/s2/f1.txt", ws / "d2/s2/g1.txt")

    def empty_dir():
        """an empty folder"""
        (ws / "d1/empty").mkdir()

    for fn in (edit, chmod, dir_mode, relink, remove_folder, add_folder, rename, empty_dir):
        change(fn)
    paths = {r[0] for r in vm.db.conn.execute("SELECT path FROM stat_dirs WHERE project_id = ?", (p.id,))}
    assert "d0/s2" not in paths and "d0/new/deep" in paths
    cached = {r[0] for r in vm.db.conn.execute("SELECT path FROM stat_cache WHERE project_id = ?", (p.id,))}
    assert not any(c.startswith("d0/s2/") for c in cached) and "d2/s2/f1.txt" not in cached


def test_a_folder_with_fresh_entries_is_not_signed(vm):
    """racy git, per folder: an entry modified within the racy window of the capture
    leaves its folder unsigned, so the next capture compares its files one by one."""
    p = vm.projects.create("racy")
    ws = Path(p.workspace)
    _tree(ws)
    time.sleep(dirscan.RACY_WINDOW_NS / 1e9 + 0.1)  # the tree's ctimes out of the window
    write(ws, "d1/s1/fresh.txt", "now\n")
    _check(vm, p.id, ws)
    rows = dict(vm.db.conn.execute("SELECT path, sig FROM stat_dirs WHERE project_id = ?", (p.id,)).fetchall())
    assert rows["d1/s1"] is None and rows["d1/s0"] is not None


def test_ignore_rules_changing_rebuild_the_trees(vm, no_racy_window):
    p = vm.projects.create("rules")
    ws = Path(p.workspace)
    _tree(ws)
    _old(ws)
    _check(vm, p.id, ws)
    write(ws, ".vmuserignore", "d2/\n*.txt\n!top.txt\n")
    out = _check(vm, p.id, ws)
    assert out.created and out.checkpoint.file_count == 2  # top.txt and .vmuserignore
    assert vm.checkpoints.entry(out.checkpoint.id, "d2") is None
    (ws / ".vmuserignore").unlink()
    back = _check(vm, p.id, ws)
    assert back.checkpoint.file_count == 61


def test_skipped_entries_are_reported_on_every_capture(vm, no_racy_window):
    p = vm.projects.create("skips")
    ws = Path(p.workspace)
    _tree(ws)
    os.mkfifo(ws / "d1/s1/pipe")
    _old(ws)
    for _ in range(2):
        out = _check(vm, p.id, ws)
        assert dict(out.skipped) == {"d1/s1/pipe": "not a regular file, directory or symlink"}


def test_a_reused_tree_missing_from_the_store_means_a_fresh_scan(vm, no_racy_window):
    """A damaged store (a tree row gone) is not trusted: the capture scans afresh."""
    p = vm.projects.create("stale")
    ws = Path(p.workspace)
    _tree(ws)
    _old(ws)
    first = _check(vm, p.id, ws).checkpoint
    (ws / "d3/s2/f0.txt").write_text("changed\n")
    sub = vm.db.conn.execute("SELECT tree FROM stat_dirs WHERE project_id = ? AND path = 'd0'", (p.id,)).fetchone()[0]
    with vm.db.write() as conn:
        conn.execute("DELETE FROM trees WHERE hash = ?", (sub,))
    vm.ctx.store._trees.clear()
    out = _check(vm, p.id, ws)
    assert out.created and out.hashed_files == 1
    assert vm.ctx.store.get_tree(sub)  # stored again
    assert vm.checkpoints.diff(first.id, out.checkpoint.id).changes[0].path == "d3/s2/f0.txt"


def test_gc_keeps_the_trees_signatures_name(vm, no_racy_window, tmp_path):
    p = vm.projects.create("gc")
    ws = Path(p.workspace)
    _tree(ws)
    _old(ws)
    first = _check(vm, p.id, ws).checkpoint
    with vm.db.write() as conn:  # as if every checkpoint were forgotten
        conn.execute("UPDATE projects SET head_checkpoint_id = NULL")
        conn.execute("DELETE FROM checkpoints")
    vm.gc()
    out = _check(vm, p.id, ws)
    assert out.created and out.hashed_files == 0 and out.checkpoint.root_tree == first.root_tree
    files = races._restore_copy(vm, out.checkpoint, tmp_path / "copy")
    assert files["d2/s1/f4.txt"] == (ws / "d2/s1/f4.txt").read_bytes()


def test_deleting_the_project_forgets_its_signatures(vm, no_racy_window):
    p = vm.projects.create("gone")
    ws = Path(p.workspace)
    _tree(ws)
    _old(ws)
    _check(vm, p.id, ws)
    vm.projects.delete(p.id)
    assert vm.db.conn.execute("SELECT COUNT(*) FROM stat_dirs").fetchone()[0] == 0


def test_a_folder_with_a_bad_name_is_reported_and_not_entered(vm, no_racy_window):
    p = vm.projects.create("bad folder")
    ws = Path(p.workspace)
    _tree(ws)
    write(ws, "d1/back\\slash/inner.txt", "never read\n")
    _old(ws)
    for _ in range(2):
        out = _check(vm, p.id, ws)
        assert [path for path, _ in out.skipped] == ["d1/back\\slash"]
    cached = {r[0] for r in vm.db.conn.execute("SELECT path FROM stat_cache WHERE project_id = ?", (p.id,))}
    assert not any("slash" in c for c in cached)
