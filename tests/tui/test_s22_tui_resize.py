"""Session 22 hardening (Pilot): narrow terminals. At 60 columns the footer's bindings do not
fit; the command palette's key (docked right) must end at the last column, so no letter of a
hidden binding shows after it ("^p palettec")."""

from __future__ import annotations

import pytest
from textual.widgets import Footer

from .conftest import go, run_app


@pytest.mark.parametrize("where", ["projects", "project", "files", "diff", "log"])
async def test_the_palette_key_ends_at_the_last_column_at_60x20(world, where):
    async with run_app(world.vm, size=(60, 20)) as pilot:
        screen = await go(pilot, where, world)
        footer = screen.query_one(Footer)
        [palette] = [k for k in footer.query("FooterKey") if k.has_class("-command-palette")]
        assert palette.region.right == pilot.app.size.width, (palette.region, pilot.app.size)
