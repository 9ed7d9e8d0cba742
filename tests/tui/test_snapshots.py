"""SVG snapshots of every screen at 80x24 (frozen clock, fixed ids, fixed paths).

Regenerate after a deliberate UI change with ``pytest tests/tui --snapshot-update`` and
look at the SVGs before committing them.
"""

from __future__ import annotations

from .conftest import SIZE, make_app, settle


async def _open_demo(pilot) -> None:
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)


def test_projects_screen(snap_world, snap_compare):
    assert snap_compare(make_app(snap_world.vm), terminal_size=SIZE, run_before=settle)


def test_projects_screen_filtered(snap_world, snap_compare):
    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("slash", *"prod")
        await settle(pilot)

    assert snap_compare(make_app(snap_world.vm), terminal_size=SIZE, run_before=run_before)


def test_project_screen(snap_world, snap_compare):
    async def run_before(pilot):
        await _open_demo(pilot)
        await pilot.press("down", "space", "up")  # mark the middle checkpoint
        await settle(pilot)

    assert snap_compare(make_app(snap_world.vm), terminal_size=SIZE, run_before=run_before)


def test_diff_screen(snap_world, snap_compare):
    async def run_before(pilot):
        await _open_demo(pilot)
        await pilot.press("down", "down", "space", "up", "up", "D")
        await settle(pilot)
        await pilot.press("n")  # README.md
        await settle(pilot)

    assert snap_compare(make_app(snap_world.vm), terminal_size=SIZE, run_before=run_before)


def test_files_screen(snap_world, snap_compare):
    async def run_before(pilot):
        await _open_demo(pilot)
        await pilot.press("f")  # the newest checkpoint
        await settle(pilot)
        await pilot.press("down", "down", "enter")  # expand src/
        await settle(pilot)
        await pilot.press("down")  # src/app.py
        await settle(pilot)

    assert snap_compare(make_app(snap_world.vm), terminal_size=SIZE, run_before=run_before)


def test_help_screen(snap_world, snap_compare):
    async def run_before(pilot):
        await _open_demo(pilot)
        await pilot.press("question_mark")
        await settle(pilot)

    assert snap_compare(make_app(snap_world.vm), terminal_size=SIZE, run_before=run_before)


def test_restore_confirm(snap_world, snap_compare):
    async def run_before(pilot):
        await _open_demo(pilot)
        await pilot.press("down", "down", "r")
        await settle(pilot)

    assert snap_compare(make_app(snap_world.vm), terminal_size=SIZE, run_before=run_before)


def test_new_project_form(snap_world, snap_compare):
    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)

    assert snap_compare(make_app(snap_world.vm), terminal_size=SIZE, run_before=run_before)


def test_project_screen_read_only(snap_world, snap_compare):
    assert snap_compare(make_app(snap_world.vm, read_only=True), terminal_size=SIZE, run_before=_open_demo)


def test_project_screen_large(snap_world, snap_compare):
    assert snap_compare(make_app(snap_world.vm), terminal_size=(120, 36), run_before=_open_demo)
