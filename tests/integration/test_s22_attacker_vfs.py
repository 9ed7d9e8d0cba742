"""Session 22 attacks on the virtual filesystem's reads of the live workspace: a session
swaps a folder for a link to a host folder after vmuser checked the path and before it
opens the file. ``fs cat`` (and the TUI's file view and editor, which save what they
show back into the workspace) must never show a host file as the workspace's."""

from __future__ import annotations

import os
import shutil

from vmuser_tui.core import vfs as vfs_module
from vmuser_tui.core.errors import VmuserError

SECRET = b"host secret key\n"


def test_a_read_raced_by_a_folder_swap_never_returns_a_host_file(vm, tmp_path, monkeypatch):
    ws = tmp_path / "ws"
    (ws / "conf").mkdir(parents=True)
    (ws / "conf" / "id_key").write_text("the workspace's own\n")
    host = tmp_path / "host"
    host.mkdir()
    (host / "id_key").write_bytes(SECRET)
    p = vm.projects.create("vfs read", workspace=ws)
    checked = vfs_module.VirtualFS._safe
    fired = []

    def swap_after_check(self, ws_, rel, **kw):
        out = checked(self, ws_, rel, **kw)
        if rel == "conf/id_key" and not fired:  # the session's move, after vmuser looked
            fired.append(True)
            shutil.rmtree(ws / "conf")
            os.symlink(host, ws / "conf")
        return out

    monkeypatch.setattr(vfs_module.VirtualFS, "_safe", swap_after_check)
    try:
        data = vm.fs.read(p.id, "conf/id_key")
    except VmuserError:
        data = None
    assert fired
    assert data != SECRET


def _swap_after_check(monkeypatch, ws, host, when: str) -> list:
    checked = vfs_module.VirtualFS._safe
    fired: list = []

    def swap(self, ws_, rel, **kw):
        out = checked(self, ws_, rel, **kw)
        if rel == when and not fired:
            fired.append(True)
            shutil.rmtree(ws / "conf")
            os.symlink(host, ws / "conf")
        return out

    monkeypatch.setattr(vfs_module.VirtualFS, "_safe", swap)
    return fired


def test_ls_and_stat_raced_by_a_folder_swap_never_show_a_host_folder(vm, tmp_path, monkeypatch):
    ws = tmp_path / "ws"
    (ws / "conf" / "sub").mkdir(parents=True)
    (ws / "conf" / "sub" / "mine.txt").write_text("mine\n")
    host = tmp_path / "host"
    (host / "sub").mkdir(parents=True)
    (host / "sub" / "id_rsa").write_bytes(SECRET)
    (host / "sub" / "link").symlink_to("/root/.ssh/id_rsa")
    p = vm.projects.create("vfs ls", workspace=ws)

    fired = _swap_after_check(monkeypatch, ws, host, "conf/sub")
    try:
        names = [f.name for f in vm.fs.ls(p.id, "conf/sub")]
    except VmuserError:
        names = []
    assert fired and "id_rsa" not in names

    for rel in ("conf/sub/id_rsa", "conf/sub/link"):
        (ws / "conf").unlink()
        (ws / "conf" / "sub").mkdir(parents=True)
        (ws / "conf" / "sub" / "id_rsa").write_text("mine\n")
        (ws / "conf" / "sub" / "link").symlink_to("mine.txt")
        fired = _swap_after_check(monkeypatch, ws, host, rel)
        try:
            info = vm.fs.stat(p.id, rel)
        except VmuserError:
            info = None
        assert fired
        assert info is None or (info.size == len("mine\n") if rel.endswith("id_rsa") else info.target == "mine.txt")


def test_a_diff_against_the_live_workspace_never_shows_a_host_file(vm, tmp_path, monkeypatch):
    """checkpoint diff (and the TUI's diff screen) reads the live side's files after the
    scan: a folder swapped for a link to a host folder meanwhile must not show the host's."""
    from vmuser_tui.core.store import capture as cap

    ws = tmp_path / "ws"
    (ws / "conf").mkdir(parents=True)
    (ws / "conf" / "id_key").write_text("old\n")
    p = vm.projects.create("diff live", workspace=ws)
    cp = vm.checkpoints.create(p.id).checkpoint
    (ws / "conf" / "id_key").write_text("new\n")
    host = tmp_path / "host"
    host.mkdir()
    (host / "id_key").write_bytes(SECRET)
    scanned = cap.live_tree

    def swap_after_scan(*args, **kwargs):
        out = scanned(*args, **kwargs)
        shutil.rmtree(ws / "conf")
        os.symlink(host, ws / "conf")
        return out

    monkeypatch.setattr(cap, "live_tree", swap_after_scan)
    result = vm.checkpoints.diff(cp.id)
    change = next(c for c in result.changes if c.path == "conf/id_key")
    try:
        shown = result.content_b(change.path, None)
    except OSError:
        shown = b""
    assert shown != SECRET
