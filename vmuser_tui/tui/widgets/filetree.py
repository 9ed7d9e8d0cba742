"""The files screen's tree: Textual's Tree, made cheap for folders of thousands of entries.

Textual's Tree already draws only the lines on screen, but two things grow with the
number of nodes: each ``add`` invalidates the whole tree (clears caches, asks for a
layout), and every rebuild of the lines measures each label by rendering it. A folder
of 5,000 entries took ~250 ms to expand. Here the adds of one folder share a single
invalidation (:meth:`FileTree.batch`), and a label's width is its text's length plus the
expand icon, without rendering it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.cells import cell_len
from textual.widgets import Tree
from textual.widgets.tree import TreeNode


class FileTree(Tree):
    """A Tree whose nodes can be added in bulk; see the module docstring."""

    _batching = False

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Add (or remove) many nodes inside: the tree is invalidated once, at the end."""
        self._batching = True
        try:
            yield
        finally:
            self._batching = False
            self._invalidate()

    def _invalidate(self) -> None:
        # Tree calls this after every single add or removal
        if not self._batching:
            super()._invalidate()

    def get_label_width(self, node: TreeNode) -> int:
        """The label's cells plus the expand icon's (what ``render_label`` would measure)."""
        icon = self.ICON_NODE_EXPANDED if node.is_expanded else self.ICON_NODE
        label = node.label
        width = label.cell_len if hasattr(label, "cell_len") else cell_len(str(label))
        return width + (cell_len(icon) if node.allow_expand else 0)

    def move_to(self, node: TreeNode) -> None:
        """Put the cursor on ``node`` and scroll it into view, right after nodes were added
        or expanded (Tree's ``move_cursor`` reads the node's line, which is stale until the
        lines are built again: that is done here, once, rather than on the next idle)."""
        self._tree_lines  # noqa: B018 - the property builds the lines (and each node's line number)
        self.move_cursor(node)
        self.scroll_to_node(node, animate=False)
