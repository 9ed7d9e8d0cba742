"""Session 22 hardening of the Files screen (Pilot, the deterministic world): a new file whose
long name makes the tree wider (a horizontal scrollbar appears) is still on screen, cursor on
it, not hidden under that scrollbar."""

from __future__ import annotations

from textual.widgets import Input

from vmuser_tui.tui.widgets.filetree import FileTree

from .conftest import settle


def cursor_visible(tree: FileTree) -> bool:
    """The cursor's row is inside the part of the tree that shows rows (not under a scrollbar)."""
    row = tree.cursor_line - round(tree.scroll_offset.y)
    return 0 <= row < tree.scrollable_content_region.height


async def test_a_new_file_with_a_long_name_is_not_hidden_under_the_scrollbar(world, pilot_at):
    for i in range(30):  # more rows than the tree has room for at 80x24
        (world.workspace / f"f{i:02}.txt").write_text("x\n")
    async with pilot_at("workspace") as (pilot, screen):
        tree = screen.query_one("#tree", FileTree)
        await pilot.press("n")
        await settle(pilot)
        name = "zz-a-very-long-name-that-goes-on-and-on-" + "ünïcødé-日本語-" * 3 + "end.txt"
        pilot.app.screen.query_one(Input).value = name
        await pilot.press("enter")
        await settle(pilot)
        assert (world.workspace / name).exists()
        assert tree.cursor_node is not None and tree.cursor_node.data.info.path == name
        assert tree.show_horizontal_scrollbar  # the long name widened the tree
        await pilot.pause()
        assert cursor_visible(tree), (tree.cursor_line, tree.scroll_offset, tree.scrollable_content_region,
                                      tree.max_scroll_y, tree.virtual_size, tree.container_size)
