"""Browse a checkpoint's tree or the live workspace (``w`` toggles, ``c`` picks a checkpoint):
folders load lazily as they expand; the selected file is previewed with syntax colouring
next to its metadata; ``/`` finds by name. On the live workspace: new file and folder,
rename, delete (asks first) and edit in ``$EDITOR``, all through the VFS API (validated
paths, ``[limits]``, the operation log)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.widgets import Footer, Header, Input, Label, RichLog, Static, Tree
from textual.widgets.tree import TreeNode

from vmuser_tui.core.errors import NotFoundError, UsageError, VmuserError
from vmuser_tui.core.models import Checkpoint, FileInfo
from vmuser_tui.core.text import printable, printable_lines
from vmuser_tui.tui.screens.base import VmuserModal, VmuserScreen
from vmuser_tui.tui.screens.prompt import PromptScreen
from vmuser_tui.tui.styles import css
from vmuser_tui.tui.widgets.cells import clip, clip_left, human_size, lines, short_time
from vmuser_tui.tui.widgets.filetree import FileTree
from vmuser_tui.tui.widgets.lazytable import Column, LazyTable, text_width
from vmuser_tui.tui.widgets.status import StatusLine

PREVIEW_LIMIT = 256 * 1024
MAX_PREVIEW_LINES = 4000
MAX_CHILDREN = 5000
PREVIEW_GROUP = "preview"  # the worker group of the preview loads: the newest highlight wins
FIND_CAP = 200_000  # entries a find walks at most
FIND_DEBOUNCE_ABOVE = 20_000  # entries; beyond this the find waits for a pause in typing
COUNT_CAP = 100_000  # entries counted under a folder before it is deleted


@dataclass
class NodeData:
    info: FileInfo | None  # None: the root
    loaded: bool = False  # a folder's children have been fetched


@dataclass
class Preview:
    info: FileInfo
    text: Text | None = None  # highlighted text, or None for binary
    binary: bool = False
    head: bytes = b""
    truncated: bool = False
    digest: str | None = None  # a live file's content hash (as a checkpoint would store it), when read whole


def is_binary(data: bytes, truncated: bool) -> bool:
    """git's heuristic: a NUL in the first 8000 bytes, or not UTF-8."""
    if b"\0" in data[:8000]:
        return True
    try:
        (data[:-4] if truncated else data).decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def guess_lexer(name: str, code: str) -> str:
    try:
        from pygments.lexers import get_lexer_for_filename
        from pygments.util import ClassNotFound
    except ImportError:  # pragma: no cover
        return "text"
    try:
        return get_lexer_for_filename(name, code[:4096]).aliases[0]
    except (ClassNotFound, IndexError):
        return "text"


def highlight(name: str, code: str, dark: bool = True) -> Text:
    """Highlighted ``code`` with line numbers, built in the worker thread (the expensive
    part, lexing, stays off the event loop)."""
    from rich.syntax import Syntax

    code = printable_lines(code)  # a file may hold escape sequences: shown, not obeyed
    lines = code.splitlines()
    more = len(lines) - MAX_PREVIEW_LINES
    if more > 0:
        code = "\n".join(lines[:MAX_PREVIEW_LINES])
    lexer = guess_lexer(name, code)
    syntax = Syntax(code, lexer, theme="ansi_dark" if dark else "ansi_light")
    highlighted = syntax.highlight(code)
    highlighted.rstrip()
    width = len(str(min(len(lines), MAX_PREVIEW_LINES)))
    out = Text(no_wrap=True)
    for number, line in enumerate(highlighted.split("\n", allow_blank=True), 1):
        if number > 1:
            out.append("\n")
        out.append(f"{number:>{width}} │ ", style="dim")
        out.append_text(line)
    if more > 0:
        out.append(f"\n… {more} more lines not shown", style="dim")
    return out


def hexdump(data: bytes, rows: int = 8, per_row: int = 16) -> Text:
    out = Text()
    for offset in range(0, min(len(data), rows * per_row), per_row):
        chunk = data[offset:offset + per_row]
        out.append(f"{offset:08x}  ", style="dim")
        out.append(" ".join(f"{b:02x}" for b in chunk).ljust(per_row * 3))
        out.append("  " + "".join(chr(b) if 32 <= b < 127 else "." for b in chunk) + "\n", style="dim")
    return out


def parent_of(path: str) -> str:
    """``'src/app.py'`` -> ``'src'``; a top-level name -> ``''`` (the root)."""
    return path.rpartition("/")[0]


def shown_path(info: FileInfo | None) -> str:
    """A path as the screen shows it: folders end in ``/``, the root is ``/``."""
    if info is None or not info.path:
        return "/"
    return info.path + ("/" if info.kind == "dir" else "")


def walk(fs, project_id: str, at: str | None, top: str = "", cap: int = FIND_CAP) -> tuple[list[FileInfo], bool]:
    """Every entry under ``top`` through the VFS (folders first level by level), at most
    ``cap``; and whether there were more. Runs in a thread worker."""
    out: list[FileInfo] = []
    folders = [top]
    while folders:
        nxt: list[str] = []
        for folder in folders:
            for info in fs.ls(project_id, folder, at=at):
                if len(out) >= cap:
                    return out, True
                out.append(info)
                if info.kind == "dir":
                    nxt.append(info.path)
        folders = nxt
    return out, False


def editor_argv() -> list[str]:
    """The user's editor as argv: ``$VISUAL``, else ``$EDITOR``, else ``vi`` (as git picks one)."""
    import os
    import shlex

    command = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    try:
        return shlex.split(command) or ["vi"]
    except ValueError:  # an unbalanced quote: take it as one program name
        return [command]


class FilesScreen(VmuserScreen):
    """The VFS explorer over ``at`` (a checkpoint id) or the live workspace (None)."""

    HELP_NAME = "files"
    CSS_PATH = css("files")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="files.back", tooltip="Back (closes the find first)"),
        Binding("w", "toggle_workspace", "Live/ckpt", id="files.workspace",
                tooltip="Live workspace ↔ checkpoint"),
        Binding("c", "pick", "Pick", id="files.pick",
                tooltip="Pick a checkpoint (or the live files)"),
        Binding("slash", "find", "Find", key_display="/", id="files.find", tooltip="Find by name as you type"),
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

    def __init__(self, project_id: str, at: str | None) -> None:
        super().__init__()
        self.project_id = project_id
        self.at = at
        self.checkpoint_id = at  # what w toggles back to
        self.loaded = False
        self.checkpoint: Checkpoint | None = None  # the one browsed, once loaded (for the where line)
        self.entries: list[FileInfo] | None = None  # every entry, walked for the find
        self._entries_at: str | None = None
        self._names: list[str] = []  # lowercased names (or paths) of entries, for the find
        self._found: list[FileInfo] = []
        self._names_by_path: bool | None = None  # _names hold paths (True) or names (False)
        self._more = False  # the walk stopped at FIND_CAP
        self._find_timer = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="files-where", classes="nowrap")
        with Horizontal(id="files-panes"):
            with Vertical(id="files-left"):  # the find's box and results join the tree on the first /
                yield FileTree("/", data=NodeData(None), id="tree")
            with Vertical(id="files-right"):
                yield Static("", id="meta", classes="nowrap")
                yield RichLog(id="preview", wrap=False, markup=False, highlight=False, auto_scroll=False)
        yield StatusLine()
        yield Footer(compact=True)

    def on_mount(self) -> None:
        tree = self.query_one("#tree", Tree)
        tree.show_root = True
        tree.guide_depth = 2
        tree.focus()

    RELOAD_ON_RESUME = False  # loaded once: back from help or a dialog, the view stays as it was

    # -- what is browsed --------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        allowed = super().check_action(action, parameters)
        if allowed and action in self.WRITE_ACTIONS and self.at is not None:
            return False  # hidden: a checkpoint never changes (on_key says so)
        return allowed

    def on_key(self, event: events.Key) -> None:
        """On a checkpoint, a key of a live-workspace action says why nothing happens."""
        if self.at is None or self.vapp.read_only:
            return  # read-only mode: WorkerMixin.on_key refuses (Textual calls it after this)
        if self.write_binding(event.key) is not None:
            event.stop()
            event.prevent_default()
            self.notify(f"a checkpoint never changes: {self.key('files.workspace', 'w')} switches to "
                        "the live workspace", severity="warning")

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
        self.show_meta(None)  # the root is highlighted again (no event when it already was)
        self.query_one("#preview", RichLog).clear()
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
    def load_children(self, node: TreeNode, *, expand: bool = False, after: Callable[[], None] | None = None) -> None:
        """Fetch a folder's entries (in a worker) into ``node``; then ``after()``."""
        data: NodeData = node.data
        path = data.info.path if data.info else ""
        at = self.at
        node.set_label(Text.assemble(node.label, (" …", "dim")))

        def done(entries: list[FileInfo]) -> None:
            if at != self.at:
                return
            data.loaded = True
            node.set_label(self._label(data.info) if data.info else Text("/", style="bold"))
            with self.query_one("#tree", FileTree).batch():  # one invalidation for thousands of adds
                node.remove_children()
                for info in entries[:MAX_CHILDREN]:
                    if info.kind == "dir":
                        node.add(self._label(info), data=NodeData(info), allow_expand=True)
                    else:
                        node.add_leaf(self._label(info), data=NodeData(info, loaded=True))
                if len(entries) > MAX_CHILDREN:
                    node.add_leaf(Text(f"… {len(entries) - MAX_CHILDREN} more (vmuser fs ls, or / to find)",
                                       style="dim"), data=NodeData(None, loaded=True))
                if not entries:
                    node.add_leaf(Text("(empty)", style="dim"), data=NodeData(None, loaded=True))
            if expand:
                node.expand()
            if node.is_root:
                status = self.query_one(StatusLine)
                status.message = (f"{len(entries)} entries · Enter expands · "
                                  f"{self.key('files.workspace', 'w')}: live ↔ checkpoint · {self.key('files.find', '/')}: find")
                self.query_one("#tree", Tree).move_cursor(node)
            if after is not None:
                after()

        def failed(err) -> None:
            node.set_label(Text.assemble(self._label(data.info) if data.info else "/", (" (error)", "red")))
            self.show_error(err)

        self.run_blocking(lambda: self.vm.fs.ls(self.project_id, path, at=at), done, failed=failed,
                          group=f"ls:{path}")

    @staticmethod
    def _label(info: FileInfo) -> Text:
        # Text, not markup (a name such as "[red]x"); escapes shown (a name such as "a\x1b[2J")
        if info.kind == "dir":
            return Text(printable(info.name) + "/", style="bold")
        if info.kind == "symlink":
            return Text.assemble((printable(info.name), "cyan"), (f" → {printable(info.target)}", "dim"))
        return Text(printable(info.name))

    def on_tree_node_expanded(self, event: Tree.NodeExpanded) -> None:
        data: NodeData | None = event.node.data
        if data is not None and data.info is not None and not data.loaded:
            self.load_children(event.node)

    def node_for(self, path: str) -> TreeNode | None:
        """The tree's node of ``path`` among the loaded ones (the root for ``''``), or None."""
        node = self.query_one("#tree", Tree).root
        for part in path.split("/") if path else []:
            node = next((c for c in node.children if c.data and c.data.info and c.data.info.name == part), None)
            if node is None:
                return None
        return node

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
                return
            data: NodeData = node.data
            if not data.loaded:
                self.load_children(node, expand=True, after=lambda: step(node, i))
                return
            if not node.is_expanded:
                node.expand()
            child = next((c for c in node.children if c.data and c.data.info and c.data.info.name == parts[i]), None)
            if child is None:
                tree.move_to(node)
                self.notify(f"{'/'.join(parts[:i + 1])}: not there any more", severity="warning")
                return
            step(child, i + 1)

        step(tree.root, 0)

    def refresh_folder(self, folder: str, select: str | None = None) -> None:
        """Fetch ``folder``'s entries again (after a change), then put the cursor on ``select``."""
        self.entries = None  # the find walks again
        node = self.node_for(folder)
        while node is None and folder:  # a new folder (made on the way): its nearest shown parent
            folder = parent_of(folder)
            node = self.node_for(folder)
        if node is None or not node.data.loaded:
            self.reveal(select or folder)
            return
        self.load_children(node, expand=True, after=(lambda: self.reveal(select)) if select else None)

    # -- preview ----------------------------------------------------------------------
    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted) -> None:
        data: NodeData | None = event.node.data
        if data is None:
            return
        self.preview(data.info)

    def preview(self, info: FileInfo | None) -> None:
        """Metadata and preview of ``info`` (None: the root or a placeholder line)."""
        # Every highlight starts a new preview generation, folders and links included: a
        # file read still running for an earlier highlight must never land afterwards.
        self.invalidate(PREVIEW_GROUP)
        self.show_meta(info)
        preview = self.query_one("#preview", RichLog)
        if info is None or info.kind != "file":
            preview.clear()
            if info is not None and info.kind == "symlink":
                preview.write(Text(f"symbolic link to {printable(info.target)}", style="italic"))
            elif info is not None and info.kind == "dir":
                preview.write(Text("directory: Enter or space expands it", style="dim italic"))
            return
        at = self.at
        dark = getattr(self.app.current_theme, "dark", True)

        def read() -> Preview:
            raw = self.vm.fs.read(self.project_id, info.path, at=at, limit=PREVIEW_LIMIT)
            truncated = info.size > len(raw)
            # a live file read whole: its hash as a checkpoint stores it (files past 4 MiB are
            # stored in chunks, hashed otherwise; those are never read whole here)
            digest = hashlib.sha256(raw).hexdigest() if info.hash is None and not truncated else None
            if is_binary(raw, truncated):
                return Preview(info, None, True, raw[:128], truncated, digest)
            code = raw.decode("utf-8", errors="replace")
            return Preview(info, highlight(info.name, code, dark), False, b"", truncated, digest)

        preview.clear()
        preview.write(Text("loading…", style="dim italic"))

        def failed(err) -> None:
            preview.clear()
            preview.write(Text(printable(f"cannot read {info.path}: {err}"), style="red"))

        self.run_blocking(read, self.show_preview, group=PREVIEW_GROUP, failed=failed)

    def show_meta(self, info: FileInfo | None, digest: str | None = None) -> None:
        meta = self.query_one("#meta", Static)
        if info is None:
            meta.update(Text(f"/ of {'the ' if self.at is None else ''}{self.where_text()}", style="bold"))
            return
        line1 = Text(clip(info.path, 200), style="bold", no_wrap=True, overflow="ellipsis")
        line2 = Text(no_wrap=True, overflow="ellipsis", style="dim")
        facts = [info.kind]
        if info.kind == "file":
            facts.append(human_size(info.size))
        facts.append(f"mode {info.mode:o}")
        if info.hash or digest:
            facts.append(f"hash {(info.hash or digest)[:12]}")
        if info.mtime:
            facts.append(f"modified {short_time(info.mtime)}")
        line2.append(" · ".join(facts))
        meta.update(lines(line1, line2))

    def show_preview(self, preview: Preview) -> None:
        log = self.query_one("#preview", RichLog)
        log.clear()
        if preview.digest:
            self.show_meta(preview.info, preview.digest)
        if preview.binary:
            log.write(Text(f"Binary file, {human_size(preview.info.size)}; first bytes:", style="italic"))
            per_row = 16 if log.size.width >= 80 else 8  # 8 bytes a row fit beside the tree at 80x24
            log.write(hexdump(preview.head, rows=16 if per_row == 8 else 8, per_row=per_row))
        else:
            log.write(preview.text if preview.text is not None else Text(""))
            if preview.truncated:
                log.write(Text(f"… showing the first {human_size(PREVIEW_LIMIT)} of "
                               f"{human_size(preview.info.size)}", style="dim"))
        log.scroll_home(animate=False)

    # -- find -------------------------------------------------------------------------
    def _found_cells(self, info: FileInfo, widths: dict[str, int]) -> list:
        text = shown_path(info)
        return [Text(clip_left(text, widths["path"]), style="bold" if info.kind == "dir" else "")]

    def _find_box(self) -> Input | None:
        try:
            return self.query_one("#find", Input)
        except NoMatches:  # no / yet
            return None

    def _found_table(self) -> LazyTable | None:
        try:
            return self.query_one("#found", LazyTable)
        except NoMatches:
            return None

    def finding(self) -> bool:
        box = self._find_box()
        return box is not None and bool(box.display)

    async def action_find(self) -> None:
        box = self._find_box()
        if box is None:  # mounted on the first use: the screen opens with fewer widgets to style
            box = Input(placeholder="find: part of a name (a / matches paths)", id="find", compact=True)
            table = LazyTable([Column("path", "Path", 10, flex=True)], self._found_cells, lambda i: i.path,
                              id="found")
            table.display = False
            tree = self.query_one("#tree", Tree)
            await self.query_one("#files-left").mount(box, before=tree)
            await self.query_one("#files-left").mount(table, after=tree)
        box.display = True
        self.set_focus(box)  # now: typed-ahead letters belong to the box (see ProjectsScreen.action_filter)
        if self.entries is None or self._entries_at != self.at:
            self.entries = None
            at = self.at
            self.query_one(StatusLine).message = "find: reading every name…"

            def got(result: tuple[list[FileInfo], bool]) -> None:
                if at != self.at:
                    return
                self.entries, self._more = result
                self._entries_at = at
                self._names_by_path = None  # made by apply_find
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
        if self.entries is not None and len(self.entries) > FIND_DEBOUNCE_ABOVE:
            self._find_timer = self.set_timer(0.15, self.apply_find)  # many names: once typing pauses
        else:
            self.apply_find()

    def apply_find(self) -> None:
        """The entries whose name (or, with a ``/`` in the text, path) holds the text, in
        the left pane in place of the tree."""
        if not self.finding() or self.entries is None:
            return
        needle = self._find_box().value.strip().lower()
        by_path = "/" in needle
        if by_path != self._names_by_path:
            self._names = [(i.path if by_path else i.name).lower() for i in self.entries]
            self._names_by_path = by_path
        table = self._found_table()
        tree = self.query_one("#tree", Tree)
        if not needle:
            table.display = False
            tree.display = True
            self.query_one(StatusLine).message = f"find: {len(self.entries)} names · type part of a name"
            return
        self._found = found = [info for info, name in zip(self.entries, self._names) if needle in name]
        found.sort(key=lambda i: i.path)
        table.set_columns([Column("path", f"{len(found)} found", text_width((shown_path(i) for i in found),
                                                                              floor=10, cap=300), flex=True)])
        table.set_rows(found)
        table.display = True
        tree.display = False
        more = f" (the first {FIND_CAP:,} names)" if self._more else ""
        enter = "Enter: go to it" if found else "nothing matches"
        self.query_one(StatusLine).message = f"find {needle!r}: {len(found)} of {len(self.entries)}{more} · {enter}"
        if found:
            self.preview(found[0])

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "find":
            return
        event.stop()
        table = self._found_table()
        if table is not None and table.display and self._found:
            table.focus()
        elif not event.value.strip():
            self.close_find()

    def on_lazy_table_row_highlighted(self, event: LazyTable.RowHighlighted) -> None:
        if event.table.id == "found" and 0 <= event.cursor_row < len(self._found):
            self.preview(self._found[event.cursor_row])

    def on_lazy_table_row_selected(self, event: LazyTable.RowSelected) -> None:
        if event.table.id != "found" or not (0 <= event.cursor_row < len(self._found)):
            return
        event.stop()
        path = self._found[event.cursor_row].path
        self.close_find()
        self.reveal(path)

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
        if table is not None and table.display and table.has_focus and 0 <= table.cursor_row < len(self._found):
            return self._found[table.cursor_row]
        node = self.query_one("#tree", Tree).cursor_node
        if node is None or node.data is None:
            return None
        return node.data.info

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

    def live_write(self, what: str) -> bool:
        """Guard of the live-workspace actions: not read-only, not busy, not a checkpoint."""
        if not self.guard_write(what):
            return False
        if self.at is not None:
            self.notify(f"a checkpoint never changes: {self.key('files.workspace', 'w')} switches to the live "
                        "workspace", severity="warning")
            return False
        return True

    # -- live-workspace actions -------------------------------------------------------
    def action_new_file(self) -> None:
        if not self.live_write("new file"):
            return
        folder = self.current_folder()

        def create(rel: str) -> FileInfo:
            self._refuse_existing(rel)
            return self.vm.fs.write(self.project_id, rel, b"", parents=True)

        self.app.push_screen(PathPrompt(f"New file in {folder + '/' if folder else '/'}",
                                        value=folder + "/" if folder else "", apply=create,
                                        hint="A path in the workspace; missing folders are made. Esc: cancel"),
                             lambda info: self._changed(info, f"created {info.path}" if info else ""))

    def action_new_folder(self) -> None:
        if not self.live_write("new folder"):
            return
        folder = self.current_folder()

        def create(rel: str) -> FileInfo:
            self._refuse_existing(rel)
            return self.vm.fs.mkdir(self.project_id, rel, parents=True)

        self.app.push_screen(PathPrompt(f"New folder in {folder + '/' if folder else '/'}",
                                        value=folder + "/" if folder else "", apply=create,
                                        hint="A path in the workspace; missing parents are made. Esc: cancel"),
                             lambda info: self._changed(info, f"created {info.path}/" if info else ""))

    def _refuse_existing(self, rel: str) -> None:
        try:
            info = self.vm.fs.stat(self.project_id, rel)
        except NotFoundError:
            return
        raise UsageError(f"{shown_path(info)} already exists")

    def action_rename(self) -> None:
        if not self.live_write("rename"):
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
            for x, y in zip(a, b):
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
        if not self.live_write("delete"):
            return
        info = self.require("delete")
        if info is None:
            return

        def gather() -> tuple[int, int, int, bool, str | None, bool]:
            files = folders = size = 0
            more = False
            if info.kind == "dir":
                entries, more = walk(self.vm.fs, self.project_id, None, info.path, cap=COUNT_CAP)
                for entry in entries:
                    if entry.kind == "dir":
                        folders += 1
                    else:
                        files += 1
                        size += entry.size
            head = self.vm.projects.get(self.project_id).head_checkpoint_id
            kept = False
            if head:
                try:
                    self.vm.fs.stat(self.project_id, info.path, at=head)
                    kept = True
                except NotFoundError:
                    pass
            return files, folders, size, more, head, kept

        self.run_blocking(gather, lambda facts: self._confirm_delete(info, *facts), group="write")

    def _confirm_delete(self, info: FileInfo, files: int, folders: int, size: int, more: bool, head: str | None,
                        kept: bool) -> None:
        from vmuser_tui.tui.screens.confirm import ConfirmScreen

        name = shown_path(info)
        body = Text("Lost from the live workspace:\n  ")
        body.append(name, style="bold")
        if info.kind == "dir":
            count = files + folders
            parts = [f"{n} {word}{'s' if n != 1 else ''}" for n, word in ((files, "file"), (folders, "folder")) if n]
            body.append(f" and the {'more than ' if more else ''}{count} entr{'y' if count == 1 else 'ies'} in it"
                        f" ({', '.join([*parts, human_size(size)])})", style="bold" if count else "")
        elif info.kind == "file":
            body.append(f" ({human_size(info.size)})")
        body.append(".\n\n")
        if kept:
            body.append(f"The newest checkpoint {head} holds it as it was then: restoring that brings it back; "
                        "changes since are lost.", style="dim")
        else:
            body.append("No newest checkpoint holds it: it is gone for good.", style="bold")

        def answer(yes: bool | None) -> None:
            if not yes:
                return
            self.query_one(StatusLine).message = f"deleting {name}…"  # a big folder takes a while
            self.run_blocking(lambda: self.vm.fs.rm(self.project_id, info.path, recursive=info.kind == "dir"),
                              lambda _none: self._deleted(info), group="write", task=f"deleting {name}")

        self.app.push_screen(ConfirmScreen(f"Delete {name}?", body, confirm_label="Delete"), answer)

    def _deleted(self, info: FileInfo) -> None:
        self.notify(f"deleted {shown_path(info)}")
        self.query_one(StatusLine).message = f"deleted {shown_path(info)}"
        self.close_find()
        self.refresh_folder(parent_of(info.path), select=parent_of(info.path) or None)

    def action_edit(self) -> None:
        if not self.live_write("edit"):
            return
        info = self.require("edit")
        if info is None:
            return
        if info.kind != "file":
            self.notify(f"{shown_path(info)} is a {'folder' if info.kind == 'dir' else info.kind}: select a file "
                        "to edit", severity="warning")
            return
        limit = self.vm.config.values.get("limits", {}).get("max_file_size")
        if limit and info.size > limit:  # it could not be saved back; and it is read whole
            self.notify(f"{info.path} is {human_size(info.size)}, over [limits] max_file_size", severity="warning")
            return
        import shutil

        argv = editor_argv()
        if shutil.which(argv[0]) is None:
            self.app.notify(f"editor {argv[0]!r} not found: set $EDITOR", severity="error",
                            details="vmuser runs $VISUAL, else $EDITOR, else vi; e.g. export EDITOR=nano")
            return
        self.run_blocking(lambda: self.vm.fs.read(self.project_id, info.path),
                          lambda original: self._edit(info, argv, original), group="write")

    def _edit(self, info: FileInfo, argv: list[str], original: bytes) -> None:
        """Edit a copy in a private temp folder (named as the file, for the editor's syntax
        mode); a changed copy goes back through the VFS (limits, the log, no symlink
        followed), unless the file changed meanwhile."""
        import os
        import subprocess
        import tempfile

        folder = tempfile.mkdtemp(prefix="vmuser-edit-")
        copy = os.path.join(folder, info.name)
        with open(copy, "wb") as fh:
            fh.write(original)
        try:
            with self.app.suspend():
                subprocess.run([*argv, copy], check=False)
        except Exception as exc:  # noqa: BLE001 - SuspendNotSupported (served over the web), an editor that fails
            self.notify(f"cannot run the editor here: {exc}", severity="error")
            _remove(folder)
            return
        with open(copy, "rb") as fh:
            edited = fh.read()
        if edited == original:
            _remove(folder)
            self.notify(f"{info.path}: not changed")
            return

        def save() -> FileInfo | None:
            if self.vm.fs.read(self.project_id, info.path) != original:
                return None  # changed on disk while it was edited: keep both
            return self.vm.fs.write(self.project_id, info.path, edited, mode=info.mode)

        def saved(new: FileInfo | None) -> None:
            if new is None:
                self.app.notify(f"{info.path} changed while you edited it; not overwritten", severity="error",
                                details=f"Your edited copy is kept: {copy}")
                return
            _remove(folder)
            self.notify(f"saved {info.path} ({human_size(new.size)})")
            self.refresh_folder(parent_of(info.path), select=info.path)

        def failed(err: VmuserError) -> None:
            self.app.notify(f"{info.path} not saved: {err}", severity="error",
                            details=f"Your edited copy is kept: {copy}")

        self.run_blocking(save, saved, failed=failed, group="write", task=f"saving {info.path}")

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
        self.entries = None
        self.reload()

    def action_back(self) -> None:
        if self.finding():
            self.close_find()
            return
        self.app.pop_screen()


def _remove(folder: str) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


class PathPrompt(PromptScreen):
    """A workspace path asked for, checked as it is typed, and applied (``apply(path)``, in
    a worker) before the dialog closes: a refused path or a VFS error shows in the dialog
    itself. Dismisses with ``apply``'s result, or None (Escape)."""

    def __init__(self, title: str, *, value: str, apply: Callable[[str], Any], hint: str) -> None:
        super().__init__(title, value=value, hint=hint, allow_empty=False)
        self.apply = apply

    def on_mount(self) -> None:
        box = self.query_one("#prompt-input", Input)
        box.focus()
        box.cursor_position = len(box.value)

    @staticmethod
    def problem(text: str) -> tuple[str | None, str]:
        """``(message, path)``: the path in canonical form, or why it is refused."""
        from vmuser_tui.core.pathcheck import normalize

        try:
            return None, normalize(text)
        except VmuserError as err:
            return str(err), ""

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        text = event.value.strip()
        message = self.problem(text)[0] if text and not text.endswith("/") else None
        self.query_one("#prompt-error", Static).update(Text(message or ""))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        event.prevent_default()  # PromptScreen's own handler would dismiss at once
        if self.busy:
            return
        text = event.value.strip()
        error = self.query_one("#prompt-error", Static)
        if not text or text.endswith("/"):
            error.update("type a name, or press Esc to cancel")
            return
        message, rel = self.problem(text)
        if message:
            error.update(Text(message))
            return
        error.update(Text("…", style="dim"))

        def job() -> Any:
            try:
                return self.apply(rel)
            except OSError as exc:  # e.g. permission denied: said in the dialog as the VFS's own errors are
                raise UsageError(f"{rel}: {exc.strerror or exc}") from None

        self.run_blocking(job, self.dismiss, group="apply", task="working",
                          failed=lambda err: error.update(Text(str(err))))


class CheckpointPicker(VmuserModal["str | None"]):
    """Pick what the files screen browses: the live workspace (dismisses with ``""``) or a
    checkpoint (its id), newest first; None when cancelled."""

    CSS_PATH = css("files")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="pick.cancel"),
    ]

    def __init__(self, project_id: str, current: str | None) -> None:
        super().__init__()
        self.project_id = project_id
        self.current = current
        self.items: list[Checkpoint | None] = [None]  # None: the live workspace

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Label("Browse which files?", id="dialog-title")
            yield LazyTable(self._columns(), self._cells, lambda c: c.id if c else "", id="pick-table")
            yield Static(Text("Enter: browse it   Esc: cancel   (● what is shown now)"), classes="dialog-hint")

    def on_mount(self) -> None:
        table = self.query_one("#pick-table", LazyTable)
        table.set_rows(self.items)
        table.focus()
        self.run_blocking(lambda: self.vm.checkpoints.list(self.project_id), self._loaded)

    def _columns(self) -> list[Column]:
        checkpoints = [c for c in self.items if c is not None]
        return [
            Column("mark", "", 1),
            Column("id", "Checkpoint", text_width((c.id for c in checkpoints), floor=len("live workspace"))),
            Column("when", "When", 11),
            Column("size", "Size", text_width({human_size(c.total_size) for c in checkpoints}, floor=4)),
            Column("what", "Description", text_width((c.description or c.kind for c in checkpoints), floor=11,
                                                     cap=200), flex=True),
        ]

    def _cells(self, cp: Checkpoint | None, widths: dict[str, int]) -> list:
        here = (cp.id if cp else None) == self.current
        mark = Text("●" if here else " ", style="bold green")
        if cp is None:
            return [mark, Text("live workspace", style="bold"), "now", "", Text("the files as they are", style="dim")]
        what = Text(clip(cp.description, widths["what"])) if cp.description else Text(cp.kind, style="dim")
        return [mark, cp.id, short_time(cp.created_at), human_size(cp.total_size), what]

    def _loaded(self, checkpoints: list[Checkpoint]) -> None:
        self.items = [None, *checkpoints]
        table = self.query_one("#pick-table", LazyTable)
        table.set_columns(self._columns())
        table.set_rows(self.items, cursor_key=self.current or "")

    def on_lazy_table_row_selected(self, event: LazyTable.RowSelected) -> None:
        event.stop()
        if 0 <= event.cursor_row < len(self.items):
            cp = self.items[event.cursor_row]
            self.dismiss(cp.id if cp else "")

    def action_cancel(self) -> None:
        self.dismiss(None)
