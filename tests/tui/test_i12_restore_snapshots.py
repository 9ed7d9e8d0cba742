"""SVG snapshots of the restore dialog offering the container restore (issue 12): a
checkpoint with a container image gets the "Also restore the container's filesystem"
checkbox, off by default; without an image the dialog is as before (test_snapshots_dialogs).
The image is only named in the checkpoint's row here: the dialog reads no engine."""

from __future__ import annotations

import pytest

from .conftest import make_app, settle

SIZES = pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])


@SIZES
def test_restore_confirm_offers_the_container(snap_world, snap_compare, size):
    cp = snap_world.checkpoints[0]
    with snap_world.vm.db.write() as conn:  # as container_images.record leaves it
        conn.execute("UPDATE checkpoints SET image_id = ? WHERE id = ?",
                     (f"vmuser-checkpoint/{snap_world.demo}:{cp}", cp))

    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("enter")  # demo, the newest project
        await settle(pilot)
        await pilot.press("down", "down", "r")  # the oldest checkpoint: the one with the image
        await settle(pilot)

    assert snap_compare(make_app(snap_world.vm), terminal_size=size, run_before=run_before)
