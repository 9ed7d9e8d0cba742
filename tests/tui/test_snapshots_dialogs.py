"""SVG snapshots of the dialogs and views not covered elsewhere, each at 80x24 and 120x40:
help, restore (whole checkpoint) and undo confirmations, the tag prompt, the annotate form,
the container-logs view of a workspace-only session and the messages view. (The command
palette fills its list asynchronously, so its content is checked by Pilot tests instead.)
Deterministic like test_snapshots.py; regenerate with ``--snapshot-update`` and look."""

from __future__ import annotations

import pytest

from .conftest import SIZES, keys_then_settle, make_app

DEMO = ("enter",)  # the newest project: demo

SCENES = {  # from the projects screen: each group of keys, then a settle
    "help": keys_then_settle(DEMO, ("question_mark",)),
    "restore_confirm": keys_then_settle(DEMO, ("down", "down", "r")),
    "tag_prompt": keys_then_settle(DEMO, ("t",), tuple("release")),
    "annotate_form": keys_then_settle(DEMO, ("a",), tuple("reviewed")),
    "container_logs_none": keys_then_settle(DEMO, ("l",)),
    "messages": keys_then_settle(DEMO, ("c", "enter", "m")),  # "nothing changed", then the messages view
}


@SIZES
@pytest.mark.parametrize("scene", list(SCENES))
def test_dialog(snap_world, snap_compare, scene, size):
    assert snap_compare(make_app(snap_world.vm), terminal_size=size, run_before=SCENES[scene])
