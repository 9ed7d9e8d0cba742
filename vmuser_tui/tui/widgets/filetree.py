"""The files screen's tree: Textual's Tree, made cheap for folders of thousands of entries.

Textual's Tree already draws only the lines on screen, but two things grow with the
number of nodes: each ``add`` invalidates the whole tree (clears caches, asks for a
layout), and every rebuild of the lines measures each label by rendering it. A folder
of 5,000 entries took ~250 ms to expand. Here the adds of one folder share a single
invalidation (:meth:`FileTree.batch`), and a label's width is its text's length plus the
expand icon, without rendering it.

Each node's ``data`` is a :class:`NodeData`: the VFS entry (None for the root and for
placeholder lines) and whether a folder's entries were fetched. The tree knows how an
entry is labelled and how a folder's fetched entries become nodes (:meth:`FileTree.fill`);
fetching them (a VFS call, in a worker) is the screen's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from vmuser_tui.core.models import FileInfo
from vmuser_tui.core.text import printable

MAX_CHILDREN = 5000  # entries of one folder shown; the rest are counted (the find reaches them)


@dataclass
class NodeData:
    info: FileInfo | None  # None: the root, or a placeholder line
    loaded: bool = False  # a folder's children have been fetched


def folder_data(node: TreeNode) -> NodeData:
    """The :class:`NodeData` of a folder node of a :class:`FileTree` (every node but a
    placeholder line has one). Raises AssertionError for a node without."""
    data = node.data
    assert isinstance(data, NodeData), "a FileTree folder node carries NodeData"
    return data


def entry_label(info: FileInfo) -> Text:
    """A tree line: a folder's name ends in ``/``, a link shows its target."""
    # Text, not markup (a name such as "[red]x"); escapes shown (a name such as "a\x1b[2J")
    if info.kind == "dir":
        return Text(printable(info.name) + "/", style="bold")
    if info.kind == "symlink":
        return Text.assemble((printable(info.name), "cyan"), (f" → {printable(info.target)}", "dim"))
    return Text(printable(info.name))


class FileTree(Tree):
    """A Tree whose nodes can be added in bulk; see the module docstring."""

    _batching = False

    @contextmanager
    def bulk_update(self) -> Iterator[None]:
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

    def watch_show_horizontal_scrollbar(self, shown: bool) -> None:
        # a new long label made the tree wider: the scrollbar now takes the last row, which
        # may be the cursor's (just scrolled to): scroll to it again once laid out
        node = self.cursor_node
        if shown and node is not None:
            self.call_after_refresh(self.scroll_to_node, node, animate=False)

    # -- nodes of VFS entries -----------------------------------------------------------
    @staticmethod
    def node_label(node: TreeNode) -> Text:
        data: NodeData | None = node.data
        return entry_label(data.info) if data is not None and data.info else Text("/", style="bold")

    def mark_loading(self, node: TreeNode) -> None:
        node.set_label(Text.assemble(node.label, (" …", "dim")))

    def mark_failed(self, node: TreeNode) -> None:
        node.set_label(Text.assemble(self.node_label(node), (" (error)", "red")))

    def fill(self, node: TreeNode, entries: list[FileInfo]) -> None:
        """Make a folder's fetched ``entries`` its children (at most MAX_CHILDREN, then a
        line counting the rest; "(empty)" for none), in one invalidation."""
        data = folder_data(node)
        data.loaded = True
        node.set_label(self.node_label(node))
        with self.bulk_update():  # one invalidation for thousands of adds
            node.remove_children()
            for info in entries[:MAX_CHILDREN]:
                if info.kind == "dir":
                    node.add(entry_label(info), data=NodeData(info), allow_expand=True)
                else:
                    node.add_leaf(entry_label(info), data=NodeData(info, loaded=True))
            if len(entries) > MAX_CHILDREN:
                node.add_leaf(Text(f"… {len(entries) - MAX_CHILDREN} more (vmuser fs ls, or / to find)",
                                   style="dim"), data=NodeData(None, loaded=True))
            if not entries:
                node.add_leaf(Text("(empty)", style="dim"), data=NodeData(None, loaded=True))

    @staticmethod
    def child_named(node: TreeNode, name: str) -> TreeNode | None:
        """The child of ``node`` for the entry called ``name`` (among those fetched), or None."""
        return next((c for c in node.children if c.data and c.data.info and c.data.info.name == name), None)

    def node_for(self, path: str) -> TreeNode | None:
        """The node of ``path`` among the fetched ones (the root for ``''``), or None."""
        node: TreeNode | None = self.root
        for part in path.split("/") if path else []:
            node = self.child_named(node, part) if node is not None else None
        return node
