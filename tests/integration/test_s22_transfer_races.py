"""Careless use of export and import (session 22): two imports of one file at once into one
data dir, and an export to a place that cannot be written. One line naming the fix each,
nothing half-written."""

from __future__ import annotations

import subprocess
import sys

import pytest
from test_i16_export import build, counts, dirs  # noqa: F401 - dirs is a fixture

from vmuser_tui.core.errors import StateError, UsageError


def test_the_second_of_two_imports_at_once_says_already_here(dirs, tmp_path):  # noqa: F811
    vm_a, vm_b = dirs
    pid, _ = build(vm_a)
    out = tmp_path / "web.vmuser"
    vm_a.export_project(pid, out)
    raced = []

    def say(line: str) -> None:  # another process wins while this one is between its checks and its rows
        if line.startswith("storing") and not raced:
            raced.append(subprocess.run(
                [sys.executable, "-m", "vmuser_tui", "--data-dir", str(vm_b.data_dir), "--config",
                 str(tmp_path / "none.toml"), "project", "import", str(out)],
                capture_output=True, text=True, timeout=120, check=False))

    with pytest.raises(StateError, match="is already in this data dir") as err:
        vm_b.import_project(out, say=say)
    assert raced and raced[0].returncode == 0, raced[0].stderr
    assert "--as-new" in str(err.value) and "\n" not in str(err.value)
    assert counts(vm_b)["projects"] == 1 and [p.id for p in vm_b.projects.list()] == [pid]
    assert len(counts(vm_b)["workspaces"]) == 1  # this import's folder went with it


def test_an_export_to_a_place_it_cannot_write_is_one_line(dirs, tmp_path):  # noqa: F811
    vm_a, _ = dirs
    pid, _ = build(vm_a)
    with pytest.raises(UsageError, match="cannot write /proc/x.vmuser") as err:
        vm_a.export_project(pid, "/proc/x.vmuser")
    assert "\n" not in str(err.value)
