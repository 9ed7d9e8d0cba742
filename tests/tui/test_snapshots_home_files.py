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

from .conftest import make_app, settle
from .world import build_world

SIZES = pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
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


async def _keys(pilot, *keys: str) -> None:
    await settle(pilot)
    for key in keys:
        await pilot.press(key)
        await settle(pilot)


@SIZES
def test_projects_sorted_marked_countdown(snap_world, snap_compare, size):
    with_cleanup(snap_world)

    async def run_before(pilot):
        await _keys(pilot, "o", "home", "space", "space")  # by cleanup, soonest first; scratch and demo marked

    assert snap_compare(make_app(snap_world.vm), terminal_size=size, run_before=run_before)


@SIZES
def test_projects_bulk_delete_confirm(snap_world, snap_compare, size):
    async def run_before(pilot):
        await _keys(pilot, "space", "down", "down", "space", "d")  # demo and scratch

    assert snap_compare(make_app(snap_world.vm), terminal_size=size, run_before=run_before)


@SIZES
def test_new_project_form_inline_errors(snap_world, snap_compare, size):
    async def run_before(pilot):
        await _keys(pilot, "n", "a", "p", "i")
        form = pilot.app.screen
        form.query_one("#field-prefix").value = "API_v2"
        form.query_one("#field-tags").value = "svc, " + "x" * 65  # a tag has at most 64 characters
        await _keys(pilot, "enter")

    assert snap_compare(make_app(snap_world.vm), terminal_size=size, run_before=run_before)


async def _live_files(pilot, *keys: str) -> None:
    """The demo's live workspace on the files screen (call fixed_mtimes first), then ``keys``."""
    await _keys(pilot, "enter", "f", "w")  # demo, its newest checkpoint, then the live workspace
    await _keys(pilot, *keys)


@SIZES
def test_files_live_workspace_preview(snap_world, snap_compare, size):
    fixed_mtimes(snap_world)

    async def run_before(pilot):
        await _live_files(pilot, "down", "down", "enter", "down")  # src/app.py

    assert snap_compare(make_app(snap_world.vm), terminal_size=size, run_before=run_before)


@SIZES
def test_files_checkpoint_picker(snap_world, snap_compare, size):
    fixed_mtimes(snap_world)

    async def run_before(pilot):
        await _live_files(pilot, "c")

    assert snap_compare(make_app(snap_world.vm), terminal_size=size, run_before=run_before)


@SIZES
def test_files_find(snap_world, snap_compare, size):
    fixed_mtimes(snap_world)

    async def run_before(pilot):
        await _live_files(pilot, "slash", "p", "y", "enter")

    assert snap_compare(make_app(snap_world.vm), terminal_size=size, run_before=run_before)


@SIZES
def test_files_new_file_prompt_error(snap_world, snap_compare, size):
    fixed_mtimes(snap_world)

    async def run_before(pilot):
        await _live_files(pilot, "down", "down", "n", "backspace", "backspace", "backspace", "backspace", ".", ".",
                          "slash", "x")

    assert snap_compare(make_app(snap_world.vm), terminal_size=size, run_before=run_before)


@SIZES
def test_files_delete_folder_confirm(snap_world, snap_compare, size):
    fixed_mtimes(snap_world)

    async def run_before(pilot):
        await _live_files(pilot, "down", "down", "d")  # src/

    assert snap_compare(make_app(snap_world.vm), terminal_size=size, run_before=run_before)
