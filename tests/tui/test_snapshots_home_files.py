"""SVG snapshots of the projects screen (sorted, marks, the cleanup countdown, a bulk
delete confirmation), the new-project form's inline messages and the files screen (the
live workspace with a preview, the checkpoint picker, find, a new-file prompt, a delete
confirmation), at 80x24 and 120x40.

Deterministic like test_snapshots.py (frozen clock, fixed ids and paths); besides, the
live workspace's modification times are set to a fixed time, and the data lives in a
fixed directory of this module's own (a run of the other snapshot tests at the same time
rebuilds theirs, files and modification times included). Regenerate with
``pytest tests/tui/test_snapshots_home_files.py --snapshot-update`` and look at the SVGs.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from vmuser_tui.core.service import Vmuser

from .conftest import SIZES, keys_then_settle, make_app
from .world import build_world

MTIME = 1795252800  # 2026-11-21T09:20:00Z


DATA_DIR = Path("/tmp/vmuser-tui-snapshots-hf")  # fixed: workspace paths show in the SVGs


@pytest.fixture
def snap_world(clean_env, monkeypatch):
    """conftest's snap_world, in this module's own fixed directory."""
    shutil.rmtree(DATA_DIR, ignore_errors=True)
    vm = Vmuser.open(data_dir=str(DATA_DIR), config_path=DATA_DIR / "no-config.toml")
    try:
        yield build_world(vm, monkeypatch)
    finally:
        vm.close()
        shutil.rmtree(DATA_DIR, ignore_errors=True)


def fixed_mtimes(world) -> None:
    """Every file and folder of the demo workspace modified at MTIME (the real ones are now)."""
    for root, dirs, files in os.walk(world.workspace):
        for name in dirs + files:
            os.utime(os.path.join(root, name), (MTIME, MTIME), follow_symlinks=False)


def with_cleanup(world) -> None:
    """Idle cleanup on: scratch (idle 5 days) is deleted 8 days after its last activity."""
    world.vm.config.values["cleanup"].update(enabled=True, after_days=8, warning_days=7)


def one_by_one(*keys: str):
    """A ``run_before``: settle, then each key pressed and settled on its own."""
    return keys_then_settle(*((key,) for key in keys))


def live_files(*keys: str):
    """A ``run_before``: the demo's live workspace on the files screen (its newest checkpoint,
    then w), then ``keys`` one by one."""
    return keys_then_settle(("enter",), ("f",), ("w",), (), *((key,) for key in keys))


PROJECTS = {  # scene: (what the world gets first, run_before)
    # by cleanup, soonest first; scratch and demo marked
    "sorted_marked_countdown": (with_cleanup, one_by_one("o", "home", "space", "space")),
    "bulk_delete_confirm": (None, one_by_one("space", "down", "down", "space", "d")),  # demo and scratch
}


@SIZES
@pytest.mark.parametrize("scene", list(PROJECTS))
def test_projects(snap_world, snap_compare, scene, size):
    prepare, run_before = PROJECTS[scene]
    if prepare:
        prepare(snap_world)
    assert snap_compare(make_app(snap_world.vm), terminal_size=size, run_before=run_before)


@SIZES
def test_new_project_form_inline_errors(snap_world, snap_compare, size):
    async def run_before(pilot):
        await one_by_one("n", "a", "p", "i")(pilot)
        form = pilot.app.screen
        form.query_one("#field-prefix").value = "API_v2"
        form.query_one("#field-tags").value = "svc, " + "x" * 65  # a tag has at most 64 characters
        await one_by_one("enter")(pilot)

    assert snap_compare(make_app(snap_world.vm), terminal_size=size, run_before=run_before)


FILES = {  # scene: run_before, on the live workspace
    "live_workspace_preview": live_files("down", "down", "enter", "down"),  # src/app.py
    "checkpoint_picker": live_files("c"),
    "find": live_files("slash", "p", "y", "enter"),
    "new_file_prompt_error": live_files("down", "down", "n", "backspace", "backspace", "backspace", "backspace",
                                        ".", ".", "slash", "x"),
    "delete_folder_confirm": live_files("down", "down", "d"),  # src/
}


@SIZES
@pytest.mark.parametrize("scene", list(FILES))
def test_files(snap_world, snap_compare, scene, size):
    fixed_mtimes(snap_world)
    assert snap_compare(make_app(snap_world.vm), terminal_size=size, run_before=FILES[scene])
