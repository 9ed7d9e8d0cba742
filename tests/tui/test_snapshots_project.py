"""SVG snapshots of the project screen with several clients and live metrics, at 80x24
and 120x40: the metrics panel with a timeline of tags, an annotation label and a branch
mark; the read-only banner when another client holds the session.

Deterministic like test_snapshots.py (frozen clock, fixed ids and paths); besides, the
other client's lease names a fixed user, pid and time, lease times are read from a fixed
moment ("expires in 40 s" however slow the machine) and shown in UTC. Regenerate with
``pytest tests/tui/test_snapshots_project.py --snapshot-update`` and look at the SVGs.
"""

from __future__ import annotations

import os
import time

import pytest

from vmuser_tui.core import clock
from vmuser_tui.core.service import Vmuser

from .conftest import SIZES, SNAPSHOT_DATA_DIR, make_app, settle
from .test_project_screen import OTHER, disguise, write_metrics
from .world import FILES_1, write_tree


@pytest.fixture
def lease_clock(monkeypatch):
    """Lease ages and expiries computed at one fixed moment (the world's frozen clock: lease
    times come from clock.epoch), local times in UTC."""
    assert os.environ.get("VMUSER_FROZEN_TIME"), "the world freezes the clock"
    now = clock.epoch()
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield now
    monkeypatch.undo()
    time.tzset()


def timeline_story(world, monkeypatch) -> None:
    """An annotation on the second checkpoint; a restore of the first and new work after
    it, which starts a new line (a branch mark); the session's metrics."""
    vm = world.vm
    monkeypatch.setenv("VMUSER_FROZEN_TIME", "2026-11-21T11:45:00Z")
    vm.checkpoints.annotate(world.checkpoints[1], "tests pass", "all 212 green")
    monkeypatch.setenv("VMUSER_FROZEN_TIME", "2026-11-21T11:50:00Z")
    vm.restores.restore(world.checkpoints[0])
    monkeypatch.setenv("VMUSER_FROZEN_TIME", "2026-11-21T11:55:00Z")
    write_tree(world.workspace, {**FILES_1, "README.md": b"# demo\n\nAnother approach.\n"})
    vm.checkpoints.create(world.session, description="Try another approach", tags=["v2"])
    monkeypatch.setenv("VMUSER_FROZEN_TIME", "2026-11-21T12:00:00Z")
    write_metrics(vm, world.session)


async def _open_demo(pilot, *keys: str) -> None:
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)
    # The screen attaches to its session in a second worker, started when the first load is
    # in: under load a few settle rounds can end before it did (seen: a snapshot with nobody
    # attached). Wait for it, however slow the machine.
    for _ in range(100):
        if getattr(pilot.app.screen, "attached", None):
            break
        await pilot.pause(0.1)
    await settle(pilot)
    if keys:
        await pilot.press(*keys)
        await settle(pilot)
    pilot.app.clear_notifications()  # toasts leave after seconds: not in the snapshot
    await settle(pilot)


@SIZES
def test_project_metrics_and_timeline(snap_world, snap_compare, monkeypatch, size):
    timeline_story(snap_world, monkeypatch)

    async def run_before(pilot):
        # mark the checkpoint before the restore, the cursor on the annotated one
        await _open_demo(pilot, "down", "space", "down")

    assert snap_compare(make_app(snap_world.vm), terminal_size=size, run_before=run_before)


@SIZES
def test_project_held_by_another_client(snap_world, snap_compare, lease_clock, size):
    write_metrics(snap_world.vm, snap_world.session)
    other = Vmuser.open(data_dir=str(SNAPSHOT_DATA_DIR), config_path=SNAPSHOT_DATA_DIR / "no-config.toml",
                        reconcile=False)
    other.access.leases.holder = OTHER
    try:
        _, got = other.open_session(snap_world.session, mode="rw")
        assert got.ok
        disguise(other, OTHER, "alice@devbox", 4242)
        with other.db.write() as conn:
            conn.execute("UPDATE leases SET expires_at = ? WHERE holder = ?", (lease_clock + 40, OTHER))
        assert snap_compare(make_app(snap_world.vm), terminal_size=size, run_before=_open_demo)
    finally:
        other.close()
