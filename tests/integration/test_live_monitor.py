"""The change monitor (inotify) path of capture must give exactly what a full scan gives.

Oracle: after every batch of random edits, the checkpoint taken incrementally (only the
paths the kernel reported) has the same root tree as a fresh full scan of the workspace.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vmuser_tui.core.store.capture import live_tree

pytestmark = pytest.mark.skipif(not Path("/proc/sys/fs/inotify").exists(), reason="inotify is Linux-only")

NAMES = ["a", "b", "c", "dir1", "dir2", "é", "x.txt"]


def _full_root(vm, project_id: str, ws: Path) -> str:
    root, _, _ = live_tree(vm.db, project_id, ws)
    return root


def _state(vm, project_id):
    return vm.ctx._live[project_id]


def test_edit_right_before_capture_is_seen(vm):
    project = vm.projects.create("mon")
    ws = Path(project.workspace)
    (ws / "f.txt").write_text("one\n")
    first = vm.checkpoints.create(project.id).checkpoint
    assert _state(vm, project.id).valid  # the monitor vouches from now on
    for i in range(20):  # no sleep between the write and the checkpoint
        (ws / "f.txt").write_text(f"v{i}\n")
        out = vm.checkpoints.create(project.id)
        assert out.created and out.hashed_files == 1
        assert vm.fs.read(project.id, "f.txt", at=out.checkpoint.id) == f"v{i}\n".encode()
    assert vm.checkpoints.create(project.id).created is False
    assert first.id != out.checkpoint.id


def test_same_size_same_second_rewrite_is_seen(vm):
    """What the stat cache alone can miss ("racy git") the monitor reports."""
    project = vm.projects.create("racy")
    ws = Path(project.workspace)
    (ws / "f").write_text("aaaa")
    vm.checkpoints.create(project.id)
    st0 = os.stat(ws / "f")
    (ws / "f").write_text("bbbb")
    os.utime(ws / "f", ns=(st0.st_atime_ns, st0.st_mtime_ns))
    out = vm.checkpoints.create(project.id)
    assert out.created
    assert vm.fs.read(project.id, "f", at=out.checkpoint.id) == b"bbbb"


def test_structural_changes_match_full_scan(vm):
    project = vm.projects.create("struct")
    ws = Path(project.workspace)
    (ws / "d" / "e").mkdir(parents=True)
    (ws / "d" / "e" / "f.txt").write_text("deep\n")
    (ws / "keep.txt").write_text("k\n")
    vm.checkpoints.create(project.id)
    steps = [
        lambda: (ws / "d" / "e" / "new").mkdir(),                        # empty dir
        lambda: (ws / "d" / "e" / "new" / "g").write_text("g\n"),        # file in new dir
        lambda: os.rename(ws / "d", ws / "moved"),                       # dir rename
        lambda: os.chmod(ws / "moved", 0o700),                           # dir mode
        lambda: os.chmod(ws / "keep.txt", 0o755),                        # file mode
        lambda: os.symlink("keep.txt", ws / "link"),                     # symlink
        lambda: (os.unlink(ws / "link"), os.symlink("moved", ws / "link")),  # repointed
        lambda: shutil.rmtree(ws / "moved"),                             # deep delete
        lambda: (os.unlink(ws / "keep.txt"), (ws / "keep.txt").mkdir()),  # file -> dir
        lambda: (shutil.rmtree(ws / "keep.txt"), (ws / "keep.txt").write_text("back\n")),  # dir -> file
        lambda: (ws / "bad\\name").write_text("skipped\n"),              # not capturable
    ]
    for step in steps:
        step()
        vm.checkpoints.create(project.id)
        head = vm.projects.get(project.id).head_checkpoint_id
        assert vm.checkpoints.get(head).root_tree == _full_root(vm, project.id, ws), step


def test_directory_moved_in_from_outside(vm, tmp_path):
    project = vm.projects.create("movein")
    ws = Path(project.workspace)
    vm.checkpoints.create(project.id)
    outside = tmp_path / "outside"
    (outside / "sub").mkdir(parents=True)
    (outside / "sub" / "x").write_text("x\n")
    os.rename(outside, ws / "inside")
    out = vm.checkpoints.create(project.id)
    assert vm.fs.read(project.id, "inside/sub/x", at=out.checkpoint.id) == b"x\n"
    (ws / "inside" / "sub" / "x").write_text("changed\n")  # the moved-in dirs are watched too
    out = vm.checkpoints.create(project.id)
    assert vm.fs.read(project.id, "inside/sub/x", at=out.checkpoint.id) == b"changed\n"


ops = st.lists(
    st.tuples(st.sampled_from(["write", "mkdir", "rm", "rename", "chmod", "symlink"]),
              st.sampled_from(NAMES), st.sampled_from(NAMES), st.binary(max_size=40)),
    min_size=1, max_size=8,
)


def _apply(ws: Path, op, a, b, data) -> None:
    pa, pb = ws / a, ws / "dir1" / b
    try:
        if op == "write":
            target = pb if (ws / "dir1").is_dir() and len(data) % 2 else pa
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            target.write_bytes(data)
        elif op == "mkdir":
            (pa if len(data) % 2 else pb).mkdir(parents=True)
        elif op == "rm":
            if pa.is_dir() and not pa.is_symlink():
                shutil.rmtree(pa)
            elif pa.exists() or pa.is_symlink():
                pa.unlink()
        elif op == "rename":
            os.rename(pa, ws / b)
        elif op == "chmod":
            if pa.exists() and not pa.is_symlink():
                os.chmod(pa, 0o755 if len(data) % 2 else 0o700)
        elif op == "symlink":
            os.symlink(b, pa)
    except OSError:
        pass  # e.g. renaming something that is not there: the workspace simply stays


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(ops, min_size=1, max_size=4))
def test_random_edits_incremental_equals_full_scan(vm, batches):
    project = vm.projects.create("prop")
    ws = Path(project.workspace)
    (ws / "dir1").mkdir()
    (ws / "a").write_text("a\n")
    vm.checkpoints.create(project.id)
    for batch in batches:
        for op in batch:
            _apply(ws, *op)
        vm.checkpoints.create(project.id)
        assert _state(vm, project.id).valid  # the incremental path was taken, not a full scan
        head = vm.projects.get(project.id).head_checkpoint_id
        assert vm.checkpoints.get(head).root_tree == _full_root(vm, project.id, ws)
    vm.projects.delete(project.id)


def test_more_workspaces_than_inotify_instances(vm):
    """One shared inotify instance serves every project (the kernel allows 128 per user)."""
    limit = int(Path("/proc/sys/fs/inotify/max_user_instances").read_text())
    projects = []
    for i in range(min(limit + 12, 400)):
        project = vm.projects.create(f"p{i}")
        (Path(project.workspace) / "f").write_text("0\n")
        vm.checkpoints.create(project.id)
        projects.append(project)
    for project in projects[::10]:
        (Path(project.workspace) / "f").write_text("1\n")
        out = vm.checkpoints.create(project.id)
        assert out.created and _state(vm, project.id).valid
        assert vm.fs.read(project.id, "f", at=out.checkpoint.id) == b"1\n"


def test_two_threads_capturing_two_projects_lose_no_event(vm):
    """Both projects' monitors share one inotify instance; one thread's drain must never
    swallow the other project's events."""
    import threading

    projects = [vm.projects.create(f"t{i}") for i in range(2)]
    for p in projects:
        (Path(p.workspace) / "f").write_text("0\n")
        vm.checkpoints.create(p.id)
    errors = []

    def work(project, rounds=60):
        ws = Path(project.workspace)
        try:
            for i in range(rounds):
                (ws / "f").write_text(f"{i}\n")
                (ws / f"n{i % 5}").write_text(f"{i}\n")
                out = vm.checkpoints.create(project.id)
                if vm.fs.read(project.id, "f", at=out.checkpoint.id) != f"{i}\n".encode():
                    errors.append(f"{project.name}: round {i} lost the edit")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))

    threads = [threading.Thread(target=work, args=(p,)) for p in projects]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for p in projects:
        head = vm.projects.get(p.id).head_checkpoint_id
        assert vm.checkpoints.get(head).root_tree == _full_root(vm, p.id, Path(p.workspace))
