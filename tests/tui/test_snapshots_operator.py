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

from .conftest import SIZES, keys_then_settle, make_app, settle


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


def diff_keys(scene: str, size: tuple[int, int]) -> tuple[str, ...]:
    """The keys pressed on the diff screen for ``scene``."""
    if scene == "side_by_side":
        # 80 columns: zoomed (with the change list it falls back to unified); 120: as it is
        return ("s", *(("z",) if size[0] < 100 else ()))
    return {"unified": (), "restore_path_confirm": ("R",)}[scene]


@SIZES
@pytest.mark.parametrize("scene", ["unified", "side_by_side", "restore_path_confirm"])
def test_diff(snap_world, snap_compare, scene, size):
    async def run_before(pilot):
        await _open_diff(pilot, *diff_keys(scene, size))

    assert snap_compare(make_app(snap_world.vm), terminal_size=size, run_before=run_before)


LOG = {  # scene: run_before, from the projects screen (action:log: the key of its Log binding)
    "filtered": keys_then_settle(("action:log",), ("slash", *"checkpoint")),
    # the checkpoint "Add notes, rename util.py…"
    "details": keys_then_settle(("action:log",), ("down", "down", "down", "enter")),
}


@SIZES
@pytest.mark.parametrize("scene", list(LOG))
def test_log(snap_world, snap_compare, scene, size):
    fixed_log(snap_world)
    assert snap_compare(make_app(snap_world.vm), terminal_size=size, run_before=LOG[scene])


SETTINGS = {  # scene: (run_before from the projects screen, app keyword arguments)
    # [docker] image, edited, not saved
    "edited": (keys_then_settle(("comma",), ("down",) * 4 + ("enter",), ("ctrl+u", *"alpine:3.20", "enter")), {}),
    # [docker] memory, refused inline
    "edit_error": (keys_then_settle(("comma",), ("down",) * 5 + ("enter",), ("ctrl+u", *"lots", "enter")), {}),
    # [docker] memory edited, then save: the confirmation
    "save_confirm": (keys_then_settle(("comma",), ("down",) * 5 + ("enter",), ("ctrl+u", *"2g", "enter", "ctrl+s")),
                     {}),
    "theme_picker": (keys_then_settle(("comma",), ("t",)), {}),
    "read_only": (keys_then_settle(("comma",)), {"read_only": True}),
}


@SIZES
@pytest.mark.parametrize("scene", list(SETTINGS))
def test_settings(snap_world, snap_compare, scene, size):
    fixed_settings(snap_world)
    run_before, app_kwargs = SETTINGS[scene]
    assert snap_compare(make_app(snap_world.vm, **app_kwargs), terminal_size=size, run_before=run_before)
