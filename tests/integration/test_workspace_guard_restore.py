"""Issue 11, cases 1 and 3 at restore time, for checkpoints taken before the exclusions
existed: such a checkpoint may hold another project's workspace or the data dir's files.
The capture exclusions (:func:`vmuser_tui.core.workspace_guard.excluded_inside`) are
ignore rules, and a restore neither writes nor deletes a path the rules match (main's
restore change for case 4), so restoring it leaves both alone.

These tests need both parts: they pass on the merge of branch i11a with main at
210db60 ("ignored paths left alone"), not on either alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from wsutil import write


def test_restoring_an_old_checkpoint_leaves_an_inner_workspace_alone(vm, tmp_path):
    outer = tmp_path / "W"
    write(outer, "a.txt", "a1")
    write(outer, "inner/f.txt", "old")
    p = vm.projects.create("P", workspace=outer)
    first = vm.checkpoints.create(p.id).checkpoint  # holds inner/f.txt: nothing was nested yet
    (tmp_path / "elsewhere").mkdir()
    q = vm.projects.create("Q", workspace=tmp_path / "elsewhere")
    with vm.db.write() as conn:  # Q's workspace inside P's, as an older vmuser let through
        conn.execute("UPDATE projects SET workspace = ? WHERE id = ?", (str(outer / "inner"), q.id))
    write(outer, "inner/f.txt", "new")
    write(outer, "inner/g.txt", "Q's work")
    write(outer, "a.txt", "a2")
    vm.restores.restore(first.id)
    assert (outer / "a.txt").read_text() == "a1"
    assert (outer / "inner/f.txt").read_text() == "new"
    assert (outer / "inner/g.txt").read_text() == "Q's work"


def _cli(env, *args):
    r = subprocess.run([sys.executable, "-m", "vmuser_tui", *args], env=env, capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_restoring_a_checkpoint_that_holds_a_data_dir_leaves_the_live_one_alone(cli_env, tmp_path):
    """Checkpoint 1 captured ``.local/share/vmuser/vmuser.db`` (then just a file); the data
    dir moved there later. Restoring checkpoint 1 must not write that old file over the
    live database."""
    home = tmp_path / "H"
    write(home, "doc.txt", "v1\n")
    write(home, ".local/share/vmuser/vmuser.db", "not yet a database\n")
    env = {**cli_env, "VMUSER_DATA_DIR": str(tmp_path / "first-data")}
    homews = _cli(env, "project", "create", "homews", "--workspace", str(home)).strip()
    first = _cli(env, "checkpoint", "create", homews, "-m", "first").split()[0]
    os.unlink(home / ".local/share/vmuser/vmuser.db")
    os.rmdir(home / ".local/share/vmuser")
    os.rename(tmp_path / "first-data", home / ".local/share/vmuser")
    env["VMUSER_DATA_DIR"] = str(home / ".local/share/vmuser")
    other = _cli(env, "project", "create", "other").strip()
    o1 = _cli(env, "checkpoint", "create", other, "-m", "o1").split()[0]
    write(home, "doc.txt", "v2\n")
    _cli(env, "checkpoint", "restore", first, "--yes")
    assert (home / "doc.txt").read_text() == "v1\n"
    assert {p["id"] for p in json.loads(_cli(env, "project", "list", "--json"))} == {homews, other}
    assert o1 in _cli(env, "checkpoint", "list", other)
    _cli(env, "check")  # exits 0: nothing damaged
