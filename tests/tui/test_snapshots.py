"""SVG snapshots of every screen at 80x24 (frozen clock, fixed ids, fixed paths).

Regenerate after a deliberate UI change with ``pytest tests/tui --snapshot-update`` and
look at the SVGs before committing them.
"""

from __future__ import annotations

import pytest

from .conftest import SIZE, keys_then_settle, make_app


def scene(name: str, *groups, size: tuple[int, int] = SIZE, **app_kwargs):
    """A parameter of test_screen: from the projects screen, each group of keys then a settle;
    its snapshot is ``test_screen[<name>-<width>x<height>].svg``."""
    return pytest.param(keys_then_settle(*groups), size, app_kwargs, id=f"{name}-{size[0]}x{size[1]}")


DEMO = ("enter",)  # the newest project: demo
SCENES = [
    scene("projects"),
    scene("projects_filtered", ("slash", *"prod")),
    scene("project_marked", DEMO, ("down", "space", "up")),  # mark the middle checkpoint
    scene("diff", DEMO, ("down", "down", "space", "up", "up", "D"), ("n",)),  # README.md
    # the newest checkpoint's files; expand src/, then src/app.py
    scene("files", DEMO, ("f",), ("down", "down", "enter"), ("down",)),
    scene("help", DEMO, ("question_mark",)),
    scene("restore_confirm", DEMO, ("down", "down", "r")),
    scene("new_project_form", ("n",)),
    scene("project_read_only", DEMO, read_only=True),
    scene("project", DEMO, size=(120, 36)),
]


@pytest.mark.parametrize("run_before, size, app_kwargs", SCENES)
def test_screen(snap_world, snap_compare, run_before, size, app_kwargs):
    assert snap_compare(make_app(snap_world.vm, **app_kwargs), terminal_size=size, run_before=run_before)
