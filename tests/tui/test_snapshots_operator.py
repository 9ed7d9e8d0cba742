"""SVG snapshots of the diff (unified, side by side, restore of one path), operation log
(filtered, details) and settings screens and their dialogs, at 80x24 and 120x40.

Deterministic like test_snapshots.py (frozen clock, fixed ids and paths); besides, the
log's actor, pid and client id are set to fixed values, and settings that the
developer's environment sets are put back to their defaults. Regenerate with
``pytest tests/tui/test_snapshots_operator.py --snapshot-update`` and look at the SVGs.
"""

from __future__ import annotations

import pytest

from vmuser_tui.core import config as cfg
from vmuser_tui.tui.screens.settings import value_text

from .conftest import make_app, settle

SIZES = pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])


def fixed_log(world) -> None:
    """Log entries as one fixed client wrote them (the real ones name this host and pid)."""
    with world.vm.db.write() as conn:
        conn.execute("UPDATE operation_log SET actor = 'alice@devbox', pid = 4242, client_id = '4242-0badc0de'")


def fixed_settings(world) -> None:
    """Settings from the environment (the test run keeps VMUSER_DOCKER_*) back to their defaults."""
    config = world.vm.config
    for (section, key), source in list(config.sources.items()):
        if source == "env":
            setting = cfg.SCHEMA[section][key]
            config.values[section][key] = (list(setting.default) if setting.kind == "list"
                                           else cfg.parse_text(section, key, value_text(setting, setting.default)))
            config.sources[(section, key)] = "default"


async def _open_diff(pilot, *keys: str) -> None:
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)
    await pilot.press("space", "down", "down", "D")  # oldest -> newest
    await settle(pilot)
    for _ in range(5):  # src/app.py: code, coloured
        await pilot.press("n")
    await settle(pilot)
    if keys:
        await pilot.press(*keys)
        await settle(pilot)


@SIZES
def test_diff_unified(snap_world, snap_compare, size):
    async def run_before(pilot):
        await _open_diff(pilot)

    assert snap_compare(make_app(snap_world.vm), terminal_size=size, run_before=run_before)


@SIZES
def test_diff_side_by_side(snap_world, snap_compare, size):
    async def run_before(pilot):
        # 80 columns: zoomed (with the change list it falls back to unified); 120: as it is
        await _open_diff(pilot, "s", *(("z",) if size[0] < 100 else ()))

    assert snap_compare(make_app(snap_world.vm), terminal_size=size, run_before=run_before)


@SIZES
def test_diff_restore_path_confirm(snap_world, snap_compare, size):
    async def run_before(pilot):
        await _open_diff(pilot, "R")

    assert snap_compare(make_app(snap_world.vm), terminal_size=size, run_before=run_before)


@SIZES
def test_log_filtered(snap_world, snap_compare, size):
    fixed_log(snap_world)

    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("L")
        await settle(pilot)
        await pilot.press("slash", *"checkpoint")
        await settle(pilot)

    assert snap_compare(make_app(snap_world.vm), terminal_size=size, run_before=run_before)


@SIZES
def test_log_details(snap_world, snap_compare, size):
    fixed_log(snap_world)

    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("L")
        await settle(pilot)
        await pilot.press("down", "down", "down", "enter")  # the checkpoint "Add notes, rename util.py…"
        await settle(pilot)

    assert snap_compare(make_app(snap_world.vm), terminal_size=size, run_before=run_before)


@SIZES
def test_settings(snap_world, snap_compare, size):
    fixed_settings(snap_world)

    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("comma")
        await settle(pilot)
        await pilot.press("down", "down", "down", "down", "enter")  # [docker] image
        await settle(pilot)
        await pilot.press("ctrl+u", *"alpine:3.20", "enter")  # edited, not saved
        await settle(pilot)

    assert snap_compare(make_app(snap_world.vm), terminal_size=size, run_before=run_before)


@SIZES
def test_settings_edit_error(snap_world, snap_compare, size):
    fixed_settings(snap_world)

    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("comma")
        await settle(pilot)
        await pilot.press("down", "down", "down", "down", "down", "enter")  # [docker] memory
        await settle(pilot)
        await pilot.press("ctrl+u", *"lots", "enter")  # refused inline
        await settle(pilot)

    assert snap_compare(make_app(snap_world.vm), terminal_size=size, run_before=run_before)


@SIZES
def test_settings_save_confirm(snap_world, snap_compare, size):
    fixed_settings(snap_world)

    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("comma")
        await settle(pilot)
        await pilot.press("down", "down", "down", "down", "down", "enter")  # [docker] memory
        await settle(pilot)
        await pilot.press("ctrl+u", *"2g", "enter", "ctrl+s")
        await settle(pilot)

    assert snap_compare(make_app(snap_world.vm), terminal_size=size, run_before=run_before)


@SIZES
def test_settings_theme_picker(snap_world, snap_compare, size):
    fixed_settings(snap_world)

    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("comma")
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)

    assert snap_compare(make_app(snap_world.vm), terminal_size=size, run_before=run_before)


@SIZES
def test_settings_read_only(snap_world, snap_compare, size):
    fixed_settings(snap_world)

    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("comma")
        await settle(pilot)

    assert snap_compare(make_app(snap_world.vm, read_only=True), terminal_size=size, run_before=run_before)
