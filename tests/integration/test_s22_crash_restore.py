"""A restore killed half-way, finished at the next start: the note names the command that
undoes it (session 22, crash hardening).

A restore that completes prints ``undo with: vmuser checkpoint restore PRE``. A restore
killed half-way never prints that line; the next vmuser process finishes it and says so,
naming only the checkpoint of the mixed workspace it saved first. Restoring that one puts
the half-restored mix back, not the workspace as it was before the restore: the note must
name the pre-restore checkpoint (with the restore's ``--path`` scope), and that one command
must bring the workspace back as it was.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from test_crash_safety import dir_manifest, kill_restore_after
from test_crash_safety import two_states as two_states  # noqa: F401 - the fixture

ROOT = Path(__file__).resolve().parents[2]


def _run(data_dir, config_path, argv: list[str]) -> subprocess.CompletedProcess:
    """The CLI as a user runs it (a new process: the start-up recovery runs in it)."""
    return subprocess.run([sys.executable, "-m", "vmuser_tui", "--data-dir", str(data_dir), "--config",
                           str(config_path), *argv], capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": str(data_dir.parent)})


def _undo_command(note: str) -> list[str]:
    found = re.search(r"undo with: vmuser (checkpoint restore \w+(?: --path \S+)*)", note)
    assert found, f"the note names no command that undoes the restore: {note}"
    return found.group(1).split()


def test_the_note_of_a_finished_killed_restore_names_its_undo(two_states):
    data_dir, config_path, project, ws, a, b, states = two_states
    assert kill_restore_after(data_dir, config_path, a, files=25).killed
    first = _run(data_dir, config_path, ["checkpoint", "list", project])
    assert first.returncode == 0 and "Traceback" not in first.stderr
    assert dir_manifest(ws) == states[a]
    undo = _undo_command(first.stderr)
    assert undo[2] == b
    done = _run(data_dir, config_path, [*undo, "--yes"])
    assert done.returncode == 0, done.stderr
    assert dir_manifest(ws) == states[b]


def test_the_note_of_a_finished_killed_partial_restore_names_its_undo_with_its_paths(two_states):
    data_dir, config_path, project, ws, a, b, states = two_states
    assert kill_restore_after(data_dir, config_path, a, files=5, paths=["d1"]).killed
    (ws / "d0" / "work-after-the-kill.txt").write_text("kept\n")  # outside the scope: an undo leaves it
    first = _run(data_dir, config_path, ["checkpoint", "list", project])
    assert first.returncode == 0 and "Traceback" not in first.stderr
    undo = _undo_command(first.stderr)
    assert undo[2:] == [b, "--path", "d1"]
    done = _run(data_dir, config_path, [*undo, "--yes"])
    assert done.returncode == 0, done.stderr
    after = dir_manifest(ws)
    assert after.pop("d0/work-after-the-kill.txt")[0] == "file"
    assert after == states[b]
