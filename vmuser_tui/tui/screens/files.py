"""Browse a checkpoint's tree (or the live workspace): directories load lazily as they
expand; the selected file is previewed with syntax colouring next to its metadata."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Header, RichLog, Static, Tree
from textual.widgets.tree import TreeNode

from vmuser_tui.core.models import FileInfo
from vmuser_tui.tui.screens.base import VmuserScreen
from vmuser_tui.tui.styles import css
from vmuser_tui.tui.widgets.cells import clip, human_size, lines, short_time
from vmuser_tui.tui.widgets.filetree import FileTree
from vmuser_tui.tui.widgets.status import StatusLine

PREVIEW_LIMIT = 256 * 1024
MAX_PREVIEW_LINES = 4000
MAX_CHILDREN = 5000
PREVIEW_GROUP = "preview"  # the worker group of the preview loads: the newest highlight wins


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


class FilesScreen(VmuserScreen):
    """The VFS explorer. ``w`` toggles between the checkpoint and the live workspace."""

    HELP_NAME = "files"
    CSS_PATH = css("files")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="files.back"),
        Binding("w", "toggle_workspace", "Workspace/checkpoint", id="files.workspace"),
        Binding("y", "copy", "Copy path", show=False, id="files.copy"),
        Binding("ctrl+r", "refresh", "Refresh", show=False, id="files.refresh"),
    ]

    def __init__(self, project_id: str, at: str | None) -> None:
        super().__init__()
        self.project_id = project_id
        self.at = at
        self.checkpoint_id = at  # what w toggles back to
        self.loaded = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="files-where", classes="nowrap")
        with Horizontal(id="files-panes"):
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

    def reload(self) -> None:
        self.loaded = True
        self.invalidate(PREVIEW_GROUP)
        where = f"checkpoint {self.at}" if self.at else "live workspace"
        self.sub_title = f"files · {where}"
        self.query_one("#files-where", Static).update(Text.assemble(
            ("Browsing ", "dim"), (where, "bold"), ("  (w: ", "dim"),
            ("live workspace" if self.at else "checkpoint", "dim"), (")", "dim")))
        self.show_meta(None)  # the root is highlighted again (no event when it already was)
        self.query_one("#preview", RichLog).clear()
        tree = self.query_one("#tree", Tree)
        tree.clear()
        tree.root.data = NodeData(None)
        tree.root.set_label(Text("/", style="bold"))
        self.load_children(tree.root, expand=True)

    # -- tree -------------------------------------------------------------------------
    def load_children(self, node: TreeNode, *, expand: bool = False) -> None:
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
                    node.add_leaf(Text(f"… {len(entries) - MAX_CHILDREN} more (vmuser fs ls)", style="dim"),
                                  data=NodeData(None, loaded=True))
                if not entries:
                    node.add_leaf(Text("(empty)", style="dim"), data=NodeData(None, loaded=True))
            if expand:
                node.expand()
            if node.is_root:
                status = self.query_one(StatusLine)
                status.message = (f"{len(entries)} entries · Enter expands · "
                                  f"{self.key('files.workspace', 'w')}: workspace ↔ checkpoint")
                self.query_one("#tree", Tree).move_cursor(node)

        def failed(err) -> None:
            node.set_label(Text.assemble(self._label(data.info) if data.info else "/", (" (error)", "red")))
            self.show_error(err)

        self.run_blocking(lambda: self.vm.fs.ls(self.project_id, path, at=at), done, failed=failed,
                          group=f"ls:{path}")

    @staticmethod
    def _label(info: FileInfo) -> Text:
        if info.kind == "dir":
            return Text(info.name + "/", style="bold")
        if info.kind == "symlink":
            return Text.assemble((info.name, "cyan"), (f" → {info.target}", "dim"))
        return Text(info.name)

    def on_tree_node_expanded(self, event: Tree.NodeExpanded) -> None:
        data: NodeData | None = event.node.data
        if data is not None and data.info is not None and not data.loaded:
            self.load_children(event.node)

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted) -> None:
        data: NodeData | None = event.node.data
        if data is None:
            return
        # Every highlight starts a new preview generation, folders and links included: a
        # file read still running for an earlier highlight must never land afterwards.
        self.invalidate(PREVIEW_GROUP)
        self.show_meta(data.info)
        preview = self.query_one("#preview", RichLog)
        if data.info is None or data.info.kind != "file":
            preview.clear()
            if data.info is not None and data.info.kind == "symlink":
                preview.write(Text(f"symbolic link to {data.info.target}", style="italic"))
            elif data.info is not None and data.info.kind == "dir":
                preview.write(Text("directory: Enter or space expands it", style="dim italic"))
            return
        info = data.info
        at = self.at
        dark = getattr(self.app.current_theme, "dark", True)

        def read() -> Preview:
            raw = self.vm.fs.read(self.project_id, info.path, at=at, limit=PREVIEW_LIMIT)
            truncated = info.size > len(raw)
            if is_binary(raw, truncated):
                return Preview(info, None, True, raw[:128], truncated)
            code = raw.decode("utf-8", errors="replace")
            return Preview(info, highlight(info.name, code, dark), False, b"", truncated)

        preview.clear()
        preview.write(Text("loading…", style="dim italic"))
        def failed(err) -> None:
            preview.clear()
            preview.write(Text(f"cannot read {info.path}: {err}", style="red"))

        self.run_blocking(read, self.show_preview, group=PREVIEW_GROUP, failed=failed)

    def show_meta(self, info: FileInfo | None) -> None:
        meta = self.query_one("#meta", Static)
        if info is None:
            meta.update(Text(f"/ of {f'checkpoint {self.at}' if self.at else 'the live workspace'}", style="bold"))
            return
        line1 = Text(clip(info.path, 200), style="bold", no_wrap=True, overflow="ellipsis")
        line2 = Text(no_wrap=True, overflow="ellipsis", style="dim")
        facts = [info.kind]
        if info.kind == "file":
            facts.append(human_size(info.size))
        facts.append(f"mode {info.mode:o}")
        if info.hash:
            facts.append(f"hash {info.hash[:12]}")
        if info.mtime:
            facts.append(f"modified {short_time(info.mtime)}")
        line2.append(" · ".join(facts))
        meta.update(lines(line1, line2))

    def show_preview(self, preview: Preview) -> None:
        log = self.query_one("#preview", RichLog)
        log.clear()
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

    # -- actions ----------------------------------------------------------------------
    def action_toggle_workspace(self) -> None:
        if self.at is not None:
            self.at = None
            self.reload()
            return
        if self.checkpoint_id is not None:
            self.at = self.checkpoint_id
            self.reload()
            return

        def head(project) -> None:
            if not project.head_checkpoint_id:
                self.notify("this project has no checkpoint yet", severity="warning")
                return
            self.at = self.checkpoint_id = project.head_checkpoint_id
            self.reload()

        self.run_blocking(lambda: self.vm.projects.get(self.project_id), head, group="head")

    def action_copy(self) -> None:
        node = self.query_one("#tree", Tree).cursor_node
        if node is None or node.data is None or node.data.info is None:
            return
        self.app.copy_to_clipboard(node.data.info.path)
        self.notify(f"copied {node.data.info.path} (OSC 52)")

    def action_refresh(self) -> None:
        self.reload()

    def action_back(self) -> None:
        self.app.pop_screen()
