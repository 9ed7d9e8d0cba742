"""Session 22 attacks on restores: a workspace file that is a hard link to a file outside
(pnpm's store, ``cp -al``, an ``ln`` by hand) must not let a restore change that outside
file. Real SQLite files, real workspaces."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from wsutil import write


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_a_mode_only_restore_never_chmods_a_hard_link_to_a_file_outside(vm, tmp_path):
    outside = write(tmp_path / "outside", "id_key", "secret\n", 0o600)
    ws = tmp_path / "ws"
    write(ws, "key", "secret\n", 0o666)  # the same bytes, mode 0666 in the checkpoint
    p = vm.projects.create("Links", workspace=ws)
    cp = vm.checkpoints.create(p.id).checkpoint
    os.unlink(ws / "key")
    os.link(outside, ws / "key")  # now the workspace's key is the outside file, 0600

    vm.restores.restore(cp.id)

    assert _mode(outside) == 0o600, "the restore granted read/write on a file outside the workspace"
    assert outside.read_text() == "secret\n"
    assert _mode(ws / "key") == 0o666  # the workspace still gets what the checkpoint holds
    assert (ws / "key").read_text() == "secret\n"
    assert os.lstat(ws / "key").st_ino != os.lstat(outside).st_ino  # the link was broken, not followed


def test_undo_never_chmods_a_hard_link_to_a_file_outside(vm, tmp_path):
    outside = write(tmp_path / "outside", "shared.bin", "shared\n", 0o644)
    ws = tmp_path / "ws"
    write(ws, "tool", "shared\n", 0o755)
    p = vm.projects.create("Undo links", workspace=ws)
    cp1 = vm.checkpoints.create(p.id).checkpoint
    write(ws, "tool", "changed\n", 0o755)
    vm.restores.restore(cp1.id)  # the pre-restore checkpoint holds "changed\n"
    os.unlink(ws / "tool")
    write(tmp_path / "outside", "changed.bin", "changed\n", 0o600)
    os.link(tmp_path / "outside" / "changed.bin", ws / "tool")

    vm.restores.undo(p.id)

    assert _mode(tmp_path / "outside" / "changed.bin") == 0o600
    assert _mode(ws / "tool") == 0o755
    assert _mode(outside) == 0o644
