"""Directory permissions are part of a checkpoint: diff reports them and restore brings
them back, even for a read-only folder that has to be filled first."""

from __future__ import annotations

import os
from pathlib import Path


def test_directory_mode_change_shows_in_diff_and_restores(vm):
    project = vm.projects.create("modes")
    ws = Path(project.workspace)
    (ws / "ro").mkdir()
    (ws / "ro" / "inside.txt").write_text("kept\n")
    first = vm.checkpoints.create(project.id).checkpoint
    os.chmod(ws / "ro", 0o555)
    second = vm.checkpoints.create(project.id).checkpoint
    changes = vm.checkpoints.diff(first.id, second.id).changes
    assert [(c.path, c.status, c.old.mode, c.new.mode) for c in changes] == [("ro", "M", 0o755, 0o555)]
    # remove the folder entirely, then restore the read-only version: its file must be there
    os.chmod(ws / "ro", 0o755)
    (ws / "ro" / "inside.txt").unlink()
    (ws / "ro").rmdir()
    vm.restores.restore(second.id)
    assert (ws / "ro" / "inside.txt").read_text() == "kept\n"
    assert os.stat(ws / "ro").st_mode & 0o777 == 0o555
    os.chmod(ws / "ro", 0o755)  # let tmp cleanup remove it
