"""Session 22 attacks: a session makes a tree deeper than the kernel lets a path name
(4095 bytes with the workspace's own path). Before, every checkpoint of the project then
failed ("cannot read ...: File name too long"), auto checkpoints included, or stored a
path no restore accepts (over 4096 bytes), so the checkpoint could never be restored.
Such paths are left out and named, as other names vmuser cannot store are."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from vmuser_tui.core.store import restore as rs


def _deep(ws: Path, depth: int, leaf: str, kind: str) -> str:
    """Make ``depth`` folders of 200-byte names below ``ws`` (with relative calls, as a
    session would: the whole path is too long for one call), then ``leaf`` there."""
    here = os.open(ws, os.O_RDONLY | os.O_DIRECTORY)
    parts = []
    try:
        for i in range(depth):
            name = f"{i:02d}" + "d" * 198
            os.mkdir(name, dir_fd=here)
            nxt = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=here)
            os.close(here)
            here = nxt
            parts.append(name)
        if kind == "file":
            fd = os.open(leaf, os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=here)
            os.write(fd, b"deep\n")
            os.close(fd)
        elif kind == "symlink":
            os.symlink("x", leaf, dir_fd=here)
        else:
            os.mkdir(leaf, dir_fd=here)
    finally:
        os.close(here)
    return "/".join([*parts, leaf])


@pytest.mark.parametrize("kind", ["file", "symlink", "dir"])
@pytest.mark.parametrize("path", ["standalone", "full scan", "change monitor"])
def test_a_tree_deeper_than_a_path_can_name_is_left_out_and_checkpoints_go_on(vm, tmp_path, request, kind, path):
    vm.ctx.live_enabled = path != "standalone"  # standalone: no monitor (dirscan's walk), as the CLI
    ws = Path(tempfile.mkdtemp(prefix="s22d", dir="/tmp"))  # short: the deepest folder can still be listed
    request.addfinalizer(lambda: shutil.rmtree(ws, ignore_errors=True))
    project = vm.projects.create("deep", workspace=ws)
    (ws / "a.txt").write_text("a\n")
    if path == "change monitor":
        vm.checkpoints.create(project.id)
    rel = _deep(ws, 20, "f" * 200, kind)
    assert len(rel) > 4096

    out = vm.checkpoints.create(project.id, allow_empty=True)  # before: StoreError, File name too long

    store = vm.ctx.store
    target = dict(store.walk(out.checkpoint.root_tree))
    assert all(len(p.encode()) + len(os.fsencode(ws)) < 4096 for p in target), "a path too long was stored"
    assert target["a.txt"].kind == "file"
    assert any(p == rel or rel.startswith(p + "/") for p, _ in out.skipped) or any(
        rel.startswith(p + "/") for p in out.vanished)
    copy = tmp_path / "copy"
    copy.mkdir()
    plan = rs.plan(target, {})
    rs.check(store, plan, copy)  # a tree a restore accepts
    rs.apply(store, copy, plan, checked=True)
    assert (copy / "a.txt").read_text() == "a\n"
