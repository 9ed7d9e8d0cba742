"""Browse a checkpoint's tree or the live workspace (``w`` toggles, ``c`` picks a checkpoint):
folders load lazily as they expand; the selected file is previewed with syntax colouring
next to its metadata; ``/`` finds by name. On the live workspace: new file and folder,
rename, delete (asks first) and edit in ``$EDITOR``, all through the VFS API (validated
paths, ``[limits]``, the operation log).

The screen composes the tree (:class:`~vmuser_tui.tui.widgets.filetree.FileTree`), the
preview pane (:mod:`~vmuser_tui.tui.widgets.file_preview`) and the find's box and results
(:mod:`~vmuser_tui.tui.widgets.find_panel`), and routes their messages; its dialogs are
:class:`~vmuser_tui.tui.screens.path_prompt.PathPrompt` and
:class:`~vmuser_tui.tui.screens.checkpoint_picker.CheckpointPicker`. A little over 600 lines
since custom commands of scope ``file`` bind here too: the routing of the tree, preview, find
and commands is one job, kept in one place."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.timer import Timer
from textual.widgets import Footer, Header, Input, Static, Tree
from textual.widgets.tree import TreeNode

from vmuser_tui.core.errors import NotFoundError, UsageError
from vmuser_tui.core.models import Checkpoint, FileInfo
from vmuser_tui.core.text import printable
from vmuser_tui.tui.flows.custom_commands import CustomCommandsMixin
from vmuser_tui.tui.flows.workspace_edit import DeleteFacts, delete_body, delete_facts, edit_file
from vmuser_tui.tui.screens.base import VmuserScreen
from vmuser_tui.tui.screens.checkpoint_picker import CheckpointPicker
from vmuser_tui.tui.screens.path_prompt import PathPrompt
from vmuser_tui.tui.styles import css
from vmuser_tui.tui.widgets.cells import short_time
from vmuser_tui.tui.widgets.file_preview import FilePreview, Preview, read_preview
from vmuser_tui.tui.widgets.filetree import FileTree, NodeData, folder_data
from vmuser_tui.tui.widgets.find_panel import (
    FIND_CAP,
    FIND_DEBOUNCE_ABOVE,
    FindBox,
    FindIndex,
    FoundTable,
    shown_path,
    walk,
)
from vmuser_tui.tui.widgets.lazytable import LazyTable
from vmuser_tui.tui.widgets.status import StatusLine

if TYPE_CHECKING:  # pragma: no cover
    from vmuser_tui.tui.flows.custom_commands import Targets

__all__ = ["CheckpointPicker", "FilesScreen", "PathPrompt"]  # the dialogs, where they were imported from

PREVIEW_GROUP = "preview"  # the worker group of the preview loads: the newest highlight wins


def parent_of(path: str) -> str:
    """``'src/app.py'`` -> ``'src'``; a top-level name -> ``''`` (the root)."""
    return path.rpartition("/")[0]


class FilesScreen(CustomCommandsMixin, VmuserScreen):
    """The VFS explorer over ``at`` (a checkpoint id) or the live workspace (None)."""

    HELP_NAME = "files"
    CSS_PATH = css("files")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="files.back", tooltip="Back (closes the find first)"),
        Binding("w", "toggle_workspace", "Live/ckpt", id="files.workspace",
                tooltip="Live workspace ↔ checkpoint"),
        Binding("c", "pick", "Pick", id="files.pick",
                tooltip="Pick a checkpoint (or the live files)"),
        # priority: the App runs it before it routes the next key (see action_find)
        Binding("slash", "find", "Find", key_display="/", id="files.find", tooltip="Find by name as you type",
                priority=True),
        Binding("n", "new_file", "New", id="files.new_file", tooltip="New file (live workspace)"),
        Binding("N", "new_folder", "New folder", show=False, id="files.new_folder",
                tooltip="New folder (live workspace)"),
        Binding("R", "rename", "Rename", show=False, id="files.rename", tooltip="Rename or move (live workspace)"),
        Binding("d", "delete", "Delete", id="files.delete", tooltip="Delete (asks first)"),
        Binding("e", "edit", "Edit", id="files.edit", tooltip="Edit in $EDITOR (live workspace)"),
        Binding("y", "copy", "Copy path", show=False, id="files.copy",
                tooltip="Copy the path to the clipboard (OSC 52)"),
        Binding("ctrl+r", "refresh", "Refresh", show=False, id="files.refresh"),
    ]
    #: change the live workspace: hidden and refused in read-only mode, disabled on a checkpoint
    WRITE_ACTIONS = frozenset({"new_file", "new_folder", "rename", "delete", "edit"})

    COMMAND_SCOPES = ("file",)  # [[commands]] bound here

    def __init__(self, project_id: str, at: str | None) -> None:
        super().__init__()
        self.project_id = project_id
        self.at = at
        self.checkpoint_id = at  # what w toggles back to
        self.loaded = False
        self.checkpoint: Checkpoint | None = None  # the one browsed, once loaded (for the where line)
        self.index: FindIndex | None = None  # every entry, walked for the find (None: walk again)
        self._find_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="files-where", classes="nowrap")
        with Horizontal(id="files-panes"):
            with Vertical(id="files-left"):  # the find's box and results join the tree on the first /
                yield FileTree("/", data=NodeData(None), id="tree")
            yield FilePreview(id="files-right")
        yield StatusLine()
        yield Footer(compact=True)

    def on_mount(self) -> None:
        tree = self.query_one("#tree", Tree)
        tree.show_root = True
        tree.guide_depth = 2
        tree.focus()

    RELOAD_ON_RESUME = False  # loaded once: back from help or a dialog, the view stays as it was

    # -- what is browsed --------------------------------------------------------------
    def writes_hidden(self) -> bool:
        # on a checkpoint the live-workspace actions are hidden; their keys say why
        return super().writes_hidden() or self.at is not None

    def write_refusal(self, action: str) -> str | None:
        """The live-workspace actions on a checkpoint: it never changes (said before "busy":
        waiting would not help)."""
        if self.at is not None and not self.vapp.read_only:
            return f"a checkpoint never changes: {self.key('files.workspace', 'w')} switches to the live workspace"
        return super().write_refusal(action)

    def where_text(self) -> str:
        if self.at is None:
            return "live workspace"
        cp = self.checkpoint
        if cp is None or cp.id != self.at:
            return f"checkpoint {self.at}"
        return f"checkpoint {cp.id} ({short_time(cp.created_at)})"

    def _show_where(self) -> None:
        where = Text.assemble(("Browsing ", "dim"), (self.where_text(), "bold"))
        cp = self.checkpoint
        if self.at and cp is not None and cp.id == self.at:
            where.append(f" · {printable(cp.description or cp.kind)}", style="italic")
        self.query_one("#files-where", Static).update(where)
        self.sub_title = f"files · {self.where_text()}"

    def reload(self) -> None:
        self.loaded = True
        self.invalidate(PREVIEW_GROUP)
        self.close_find()
        self._show_where()
        if self.at and (self.checkpoint is None or self.checkpoint.id != self.at):
            at = self.at

            def got(cp: Checkpoint) -> None:
                if cp.id == self.at:
                    self.checkpoint = cp
                    self._show_where()

            self.run_blocking(lambda: self.vm.checkpoints.get(at), got, group="where", failed=lambda _err: None)
        self._show_root()  # the root is highlighted again (no event when it already was)
        self.pane.clear()
        tree = self.query_one("#tree", Tree)
        tree.clear()
        tree.root.data = NodeData(None)
        tree.root.set_label(Text("/", style="bold"))
        self.load_children(tree.root, expand=True)

    def browse(self, at: str | None) -> None:
        """Show ``at`` (a checkpoint id; None: the live workspace)."""
        self.at = at
        if at is not None:
            self.checkpoint_id = at
        self.reload()
        self.refresh_bindings()  # the live-workspace keys are shown or hidden

    # -- tree -------------------------------------------------------------------------
    @property
    def file_tree(self) -> FileTree:
        return self.query_one("#tree", FileTree)

    def load_children(self, node: TreeNode, *, expand: bool = False, after: Callable[[], None] | None = None) -> None:
        """Fetch a folder's entries (in a worker) into ``node``; then ``after()``."""
        data = folder_data(node)
        path = data.info.path if data.info else ""
        at = self.at
        tree = self.file_tree
        tree.mark_loading(node)

        def done(entries: list[FileInfo]) -> None:
            if at != self.at:
                return
            tree.fill(node, entries)
            if expand:
                node.expand()
            if node.is_root:
                status = self.query_one(StatusLine)
                status.message = (f"{len(entries)} entries · Enter expands · {self.key('files.workspace', 'w')}: "
                                  f"live ↔ checkpoint · {self.key('files.find', '/')}: find")
                tree.move_cursor(node)
            if after is not None:
                after()

        def failed(err) -> None:
            tree.mark_failed(node)
            self.show_error(err)

        self.run_blocking(lambda: self.vm.fs.ls(self.project_id, path, at=at), done, failed=failed,
                          group=f"ls:{path}")

    def on_tree_node_expanded(self, event: Tree.NodeExpanded) -> None:
        data: NodeData | None = event.node.data
        if data is not None and data.info is not None and not data.loaded:
            self.load_children(event.node)

    def reveal(self, path: str) -> None:
        """Put the tree's cursor on ``path``, loading and expanding the folders on the way."""
        tree = self.query_one("#tree", FileTree)
        parts = path.split("/") if path else []
        at = self.at

        def step(node: TreeNode, i: int) -> None:
            if at != self.at:
                return
            if i == len(parts):
                tree.move_to(node)
                # the folder was fetched again (after a save, a rename): the node under the
                # cursor is new, but no NodeHighlighted comes when the cursor's line is the same
                info = node.data.info if node.data is not None else None
                if info is not None and info is not self.pane.shown:
                    self.preview(info)
                return
            data = folder_data(node)
            if not data.loaded:
                self.load_children(node, expand=True, after=lambda: step(node, i))
                return
            if not node.is_expanded:
                node.expand()
            child = tree.child_named(node, parts[i])
            if child is None:
                tree.move_to(node)
                self.notify(f"{'/'.join(parts[:i + 1])}: not there any more", severity="warning")
                return
            step(child, i + 1)

        step(tree.root, 0)

    def refresh_folder(self, folder: str, select: str | None = None) -> None:
        """Fetch ``folder``'s entries again (after a change), then put the cursor on ``select``."""
        self.index = None  # the find walks again
        node = self.file_tree.node_for(folder)
        while node is None and folder:  # a new folder (made on the way): its nearest shown parent
            folder = parent_of(folder)
            node = self.file_tree.node_for(folder)
        if node is None or not folder_data(node).loaded:
            self.reveal(select or folder)
            return
        self.load_children(node, expand=True, after=(lambda: self.reveal(select)) if select else None)

    # -- preview ----------------------------------------------------------------------
    @property
    def pane(self) -> FilePreview:
        return self.query_one(FilePreview)

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted) -> None:
        data: NodeData | None = event.node.data
        if data is None:
            return
        if data.info is not None and data.info is self.pane.shown:
            return  # already shown: reveal() previewed it as it landed there
        self.preview(data.info)

    def preview(self, info: FileInfo | None) -> None:
        """Metadata and preview of ``info`` (None: the root or a placeholder line)."""
        # Every highlight starts a new preview generation, folders and links included: a
        # file read still running for an earlier highlight must never land afterwards.
        self.invalidate(PREVIEW_GROUP)
        pane = self.pane
        if info is None:
            self._show_root()
            pane.clear()
            return
        if info.kind != "file":
            pane.show_entry(info)
            return
        at, project_id, fs = self.at, self.project_id, self.vm.fs
        dark = getattr(self.app.current_theme, "dark", True)
        pane.show_loading(info)

        def shown(preview: Preview) -> None:
            pane.show_preview(preview)

        self.run_blocking(lambda: read_preview(fs, project_id, info, at, dark), shown, group=PREVIEW_GROUP,
                          failed=lambda err: pane.show_failed(info, err))

    def _show_root(self) -> None:
        self.pane.show_root(f"/ of {'the ' if self.at is None else ''}{self.where_text()}")

    # -- find -------------------------------------------------------------------------
    def _find_box(self) -> FindBox | None:
        try:
            return self.query_one("#find", FindBox)
        except NoMatches:  # no / yet
            return None

    def _found_table(self) -> FoundTable | None:
        try:
            return self.query_one("#found", FoundTable)
        except NoMatches:
            return None

    def finding(self) -> bool:
        box = self._find_box()
        return box is not None and bool(box.display)

    async def action_find(self) -> None:
        box = self._find_box()
        if box is None:  # mounted on the first use: the screen opens with fewer widgets to style
            box = FindBox(placeholder="find: part of a name (a / matches paths)", id="find", compact=True)
            table = FoundTable(id="found")
            table.display = False
            tree = self.query_one("#tree", Tree)
            await self.query_one("#files-left").mount(box, before=tree)
            await self.query_one("#files-left").mount(table, after=tree)
        box.display = True
        # Now: "/" is a priority binding, run as the App routes it, so the keys typed after it
        # in one burst are routed to the box (see ProjectTable)
        self.set_focus(box)
        if self.index is None or self.index.at != self.at:
            self.index = None
            at = self.at
            self.query_one(StatusLine).message = "find: reading every name…"

            def got(result: tuple[list[FileInfo], bool]) -> None:
                if at != self.at:
                    return
                self.index = FindIndex(*result, at=at)
                self.apply_find()

            self.run_blocking(lambda: walk(self.vm.fs, self.project_id, at), got, group="find")
        else:
            self.apply_find()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id != "find":
            return
        event.stop()
        if self._find_timer is not None:
            self._find_timer.stop()
            self._find_timer = None
        if self.index is not None and len(self.index) > FIND_DEBOUNCE_ABOVE:
            self._find_timer = self.set_timer(0.15, self.apply_find)  # many names: once typing pauses
        else:
            self.apply_find()

    def apply_find(self) -> None:
        """The entries whose name (or, with a ``/`` in the text, path) holds the text, in
        the left pane in place of the tree."""
        box, table, index = self._find_box(), self._found_table(), self.index
        if not self.finding() or index is None or box is None or table is None:
            return
        needle = box.value.strip().lower()
        tree = self.query_one("#tree", Tree)
        if not needle:
            table.display = False
            tree.display = True
            self.query_one(StatusLine).message = f"find: {len(index)} names · type part of a name"
            return
        found = index.match(needle)
        table.show(found)
        table.display = True
        tree.display = False
        more = f" (the first {FIND_CAP:,} names)" if index.more else ""
        enter = "Enter: go to it" if found else "nothing matches"
        self.query_one(StatusLine).message = f"find {needle!r}: {len(found)} of {len(index)}{more} · {enter}"
        if found:
            self.preview(found[0])

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "find":
            return
        event.stop()
        table = self._found_table()
        if table is not None and table.display and table.found:
            table.focus()
        elif not event.value.strip():
            self.close_find()

    def on_lazy_table_row_highlighted(self, event: LazyTable.RowHighlighted) -> None:
        table = self._found_table()
        info = table.entry(event.cursor_row) if table is not None and event.table is table else None
        if info is not None:
            self.preview(info)

    def on_lazy_table_row_selected(self, event: LazyTable.RowSelected) -> None:
        table = self._found_table()
        info = table.entry(event.cursor_row) if table is not None and event.table is table else None
        if info is None:
            return
        event.stop()
        self.close_find()
        self.reveal(info.path)

    def close_find(self) -> None:
        """Hide the find box and its results; the tree is back, with the focus."""
        box, table = self._find_box(), self._found_table()
        if box is None or table is None or not box.display:
            return
        box.value = ""
        box.display = False
        table.display = False
        tree = self.query_one("#tree", Tree)
        tree.display = True
        tree.focus()
        node = tree.cursor_node
        self.preview(node.data.info if node is not None and node.data is not None else None)

    # -- the selection ----------------------------------------------------------------
    def current(self) -> FileInfo | None:
        """The entry the actions work on: the find result under the cursor, else the tree's."""
        table = self._found_table()
        if table is not None and table.display and table.has_focus:
            found = table.entry(table.cursor_row)
            if found is not None:
                return found
        node = self.query_one("#tree", Tree).cursor_node
        if node is None or node.data is None:
            return None
        return node.data.info

    def command_targets(self) -> Targets:
        """For ``[[commands]]``: the selected entry's path ({path}) and the checkpoint browsed."""
        from vmuser_tui.tui.flows.custom_commands import Targets

        info = self.current()
        path = info.path.lstrip("/") if info is not None and info.path not in ("", "/") else None
        return Targets(self.project_id, checkpoint_id=self.at, path=path)

    def current_folder(self) -> str:
        """The folder new entries go in: the selected folder, else the selected entry's."""
        info = self.current()
        if info is not None:
            return info.path if info.kind == "dir" else parent_of(info.path)
        node = self.query_one("#tree", Tree).cursor_node  # the root, or a placeholder line in a folder
        while node is not None and (node.data is None or node.data.info is None) and not node.is_root:
            node = node.parent
        return node.data.info.path if node is not None and node.data and node.data.info else ""

    def require(self, what: str) -> FileInfo | None:
        info = self.current()
        if info is None:
            self.notify(f"select a file or folder to {what}", severity="warning")
        return info

    # -- live-workspace actions -------------------------------------------------------
    def action_new_file(self) -> None:
        self._new("file", lambda rel: self.vm.fs.write(self.project_id, rel, b"", parents=True))

    def action_new_folder(self) -> None:
        self._new("folder", lambda rel: self.vm.fs.mkdir(self.project_id, rel, parents=True))

    def _new(self, kind: str, make: Callable[[str], FileInfo]) -> None:
        """Ask for the path of a new file or folder (in the selected folder), make it with
        ``make(path)`` (refused when the path exists), then select it."""
        if not self.guard_write(f"new {kind}"):
            return
        folder = self.current_folder()
        slash = "/" if kind == "folder" else ""

        def create(rel: str) -> FileInfo:
            self._refuse_existing(rel)
            return make(rel)

        missing = "missing parents are made" if kind == "folder" else "missing folders are made"
        self.app.push_screen(PathPrompt(f"New {kind} in {folder + '/' if folder else '/'}",
                                        value=folder + "/" if folder else "", apply=create,
                                        hint=f"A path in the workspace; {missing}. Esc: cancel"),
                             lambda info: self._changed(info, f"created {info.path}{slash}" if info else ""))

    def _refuse_existing(self, rel: str) -> None:
        try:
            info = self.vm.fs.stat(self.project_id, rel)
        except NotFoundError:
            return
        raise UsageError(f"{shown_path(info)} already exists")

    def action_rename(self) -> None:
        if not self.guard_write("rename"):
            return
        info = self.require("rename")
        if info is None:
            return
        old = info.path

        def rename(rel: str) -> FileInfo:
            if rel == old:
                raise UsageError("that is its name now: type a new one")
            return self.vm.fs.mv(self.project_id, old, rel)

        def done(new: FileInfo | None) -> None:
            if new is None:
                return
            self.notify(f"renamed {shown_path(info)} to {shown_path(new)}")
            # one reload of the folder holding both the old and the new place (two would race)
            a, b = parent_of(old).split("/"), parent_of(new.path).split("/")
            common = []
            for x, y in zip(a, b, strict=False):
                if x != y:
                    break
                common.append(x)
            self.refresh_folder("/".join(common), select=new.path)

        self.app.push_screen(PathPrompt(f"Rename {shown_path(info)}", value=old, apply=rename,
                                        hint="A new name, or a path to move it to. Esc: cancel"), done)

    def _changed(self, info: FileInfo | None, message: str) -> None:
        if info is None:
            return
        self.notify(message)
        self.refresh_folder(parent_of(info.path), select=info.path)

    def action_delete(self) -> None:
        if not self.guard_write("delete"):
            return
        info = self.require("delete")
        if info is None:
            return
        self.run_blocking(lambda: delete_facts(self.vm, self.project_id, info),
                          lambda facts: self._confirm_delete(info, facts), group="write")

    def _confirm_delete(self, info: FileInfo, facts: DeleteFacts) -> None:
        from vmuser_tui.tui.screens.confirm import ConfirmScreen

        name = shown_path(info)

        def answer(yes: bool | None) -> None:
            if not yes:
                return
            self.query_one(StatusLine).message = f"deleting {name}…"  # a big folder takes a while
            self.run_blocking(lambda: self.vm.fs.rm(self.project_id, info.path, recursive=info.kind == "dir"),
                              lambda _none: self._deleted(info), group="write", task=f"deleting {name}")

        self.app.push_screen(ConfirmScreen(f"Delete {name}?", delete_body(info, facts), confirm_label="Delete"),
                             answer)

    def _deleted(self, info: FileInfo) -> None:
        self.notify(f"deleted {shown_path(info)}")
        self.query_one(StatusLine).message = f"deleted {shown_path(info)}"
        self.close_find()
        self.refresh_folder(parent_of(info.path), select=parent_of(info.path) or None)

    def action_edit(self) -> None:
        if not self.guard_write("edit"):
            return
        info = self.require("edit")
        if info is not None:
            edit_file(self, self.project_id, info,
                      lambda _new: self.refresh_folder(parent_of(info.path), select=info.path))

    # -- other actions ----------------------------------------------------------------
    def action_toggle_workspace(self) -> None:
        if self.at is not None:
            self.browse(None)
            return
        if self.checkpoint_id is not None:
            self.browse(self.checkpoint_id)
            return

        def head(project) -> None:
            if not project.head_checkpoint_id:
                self.notify("this project has no checkpoint yet", severity="warning")
                return
            self.browse(project.head_checkpoint_id)

        self.run_blocking(lambda: self.vm.projects.get(self.project_id), head, group="head")

    def action_pick(self) -> None:
        def picked(choice: str | None) -> None:
            if choice is None:
                return
            at = choice or None
            if at != self.at:
                self.browse(at)

        self.app.push_screen(CheckpointPicker(self.project_id, self.at), picked)

    def action_copy(self) -> None:
        info = self.current()
        path = info.path if info is not None else ""
        if not path:
            self.notify("select a file or folder to copy its path", severity="warning")
            return
        self.app.copy_to_clipboard(path)
        self.notify(f"copied {path} (OSC 52)")

    def action_refresh(self) -> None:
        self.index = None
        self.reload()

    def action_back(self) -> None:
        if self.finding():
            self.close_find()
            return
        self.app.pop_screen()

