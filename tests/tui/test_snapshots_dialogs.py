"""SVG snapshots of the dialogs and views not covered elsewhere, each at 80x24 and 120x40:
help, restore (whole checkpoint) and undo confirmations, the tag prompt, the annotate form,
the container-logs view of a workspace-only session and the messages view. (The command
palette fills its list asynchronously, so its content is checked by Pilot tests instead.)
Deterministic like test_snapshots.py; regenerate with ``--snapshot-update`` and look."""

from __future__ import annotations

import pytest

from .conftest import make_app, settle

SIZES = pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])


def _project(*keys: str, typed: str = ""):
    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("enter")  # demo, the newest project
        await settle(pilot)
        if keys:
            await pilot.press(*keys)
            await settle(pilot)
        if typed:
            await pilot.press(*typed)
            await settle(pilot)

    return run_before


SCENES = {
    "help": _project("question_mark"),
    "restore_confirm": _project("down", "down", "r"),
    "tag_prompt": _project("t", typed="release"),
    "annotate_form": _project("a", typed="reviewed"),
    "container_logs_none": _project("l"),
    "messages": _project("c", "enter", "m"),  # "nothing changed", then the messages view
}


@SIZES
@pytest.mark.parametrize("scene", list(SCENES))
def test_dialog(snap_world, snap_compare, scene, size):
    assert snap_compare(make_app(snap_world.vm), terminal_size=size, run_before=SCENES[scene])
