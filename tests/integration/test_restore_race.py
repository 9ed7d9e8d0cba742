"""A session container (or any process) that swaps a folder for a symlink to the host while
a restore runs must not make the restore delete or write anything outside the workspace
(issue 11, case 7). The harness is benchmarks/restore_race.py, which runs 300 of each."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "restore_race", Path(__file__).resolve().parents[2] / "benchmarks" / "restore_race.py")
race = importlib.util.module_from_spec(_spec)
sys.modules["restore_race"] = race  # dataclasses look their module up
_spec.loader.exec_module(race)


def _assert_nothing_outside(tally) -> None:
    assert tally.runs > 0
    assert (tally.outside_deleted, tally.outside_changed, tally.outside_added) == (0, 0, 0), tally.line("")
    # no restore may end with "rolling back failed too": each finished, and said what it could not do
    assert tally.finished == tally.runs, tally.errors


def test_restores_raced_by_a_host_process_touch_nothing_outside(clean_env):
    tally = race.series("host", runs=12, extra=2000)
    assert tally.swaps > 0  # the race really ran
    _assert_nothing_outside(tally)


@pytest.mark.docker
def test_restores_raced_from_inside_a_container_touch_nothing_outside(clean_env, docker_projects):
    from vmuser_tui.core.runtime import FALLBACK_IMAGE
    from vmuser_tui.core.runtime.docker_runtime import DockerRuntime

    client, _ = docker_projects
    image = DockerRuntime(timeout=60).ensure_image(FALLBACK_IMAGE).image
    tally = race.series("container", runs=6, extra=2000, client=client, image=image)
    _assert_nothing_outside(tally)


def test_workspace_edits_raced_by_a_folder_swap_touch_nothing_outside(vm, tmp_path):
    """fs put / mkdir / rm through the virtual filesystem while another process swaps a
    folder for a link to the host: the edits fail or land inside, never outside."""
    import os
    import subprocess
    import sys

    from vmuser_tui.core.errors import VmuserError

    ws = tmp_path / "ws"
    outside = tmp_path / "outside"
    (ws / "d").mkdir(parents=True)
    outside.mkdir()
    for i in range(50):
        (outside / f"x{i:03}").write_text(f"precious {i}\n")
    os.symlink(outside, ws / "s")
    p = vm.projects.create("vfs race", workspace=str(ws))
    before = race._digest_tree(outside)
    stop = tmp_path / "stop"
    swapper = subprocess.Popen([sys.executable, "-c", (
        "import os, sys\n"
        "ws, stop = sys.argv[1], sys.argv[2]\n"
        "d, s, t = (os.path.join(ws, n) for n in ('d', 's', 't'))\n"
        "while not os.path.exists(stop):\n"
        "    try:\n"
        "        os.rename(d, t); os.rename(s, d); os.rename(t, s)\n"
        "    except OSError:\n"
        "        pass\n"), str(ws), str(stop)])
    refused = 0
    try:
        for i in range(3000):
            try:
                vm.fs.write(p.id, f"d/new{i:03}", b"from vmuser\n", parents=False)
                vm.fs.mkdir(p.id, f"d/dir{i:03}", parents=False)
                vm.fs.rm(p.id, f"d/x{i % 50:03}")
            except (VmuserError, OSError):
                refused += 1
    finally:
        stop.touch()
        swapper.wait(timeout=30)
    assert race._digest_tree(outside) == before
    assert refused > 0  # the swap did race the edits
