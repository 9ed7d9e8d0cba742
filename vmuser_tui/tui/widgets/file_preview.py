"""The files screen's right pane: the selected entry's metadata (two lines) over a preview
of its content, syntax-coloured text or a hex dump of a binary file's first bytes.

:func:`read_preview` reads and highlights a file (the expensive part) and runs in a thread
worker; :class:`FilePreview` shows what it returns, and remembers which entry it shows
(:attr:`FilePreview.shown`) so a screen can tell a changed entry from the same one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import RichLog, Static

from vmuser_tui.core.models import FileInfo
from vmuser_tui.core.text import printable, printable_lines
from vmuser_tui.tui.widgets.cells import clip, human_size, lines, short_time

PREVIEW_LIMIT = 256 * 1024  # bytes of a file read for its preview
MAX_PREVIEW_LINES = 4000


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



def read_preview(fs, project_id: str, info: FileInfo, at: str | None, dark: bool = True) -> Preview:
    """Read (at most PREVIEW_LIMIT bytes of) the file ``info`` through the VFS ``fs``, at
    checkpoint ``at`` (None: the live workspace), and highlight it. Runs in a thread
    worker; the VFS's errors (VmuserError) propagate."""
    raw = fs.read(project_id, info.path, at=at, limit=PREVIEW_LIMIT)
    truncated = info.size > len(raw)
    # a live file read whole: its hash as a checkpoint stores it (files past 4 MiB are
    # stored in chunks, hashed otherwise; those are never read whole here)
    digest = hashlib.sha256(raw).hexdigest() if info.hash is None and not truncated else None
    if is_binary(raw, truncated):
        return Preview(info, None, True, raw[:128], truncated, digest)
    code = raw.decode("utf-8", errors="replace")
    return Preview(info, highlight(info.name, code, dark), False, b"", truncated, digest)


class FilePreview(Vertical):
    """Metadata (``#meta``) over the preview (``#preview``) of one entry."""

    #: the entry shown (or being read), None for the root or nothing
    shown: FileInfo | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="meta", classes="nowrap")
        yield RichLog(id="preview", wrap=False, markup=False, highlight=False, auto_scroll=False)

    @property
    def log_view(self) -> RichLog:
        return self.query_one("#preview", RichLog)

    def show_root(self, label: str) -> None:
        """The root (or a placeholder line) is selected: ``label`` in bold, no preview."""
        self.shown = None
        self.query_one("#meta", Static).update(Text(label, style="bold"))

    def show_meta(self, info: FileInfo, digest: str | None = None) -> None:
        """Path, then kind · size · mode · hash (``digest``: a live file's, computed) · mtime."""
        line1 = Text(clip(info.path, 200), style="bold", no_wrap=True, overflow="ellipsis")
        line2 = Text(no_wrap=True, overflow="ellipsis", style="dim")
        facts = [info.kind]
        if info.kind == "file":
            facts.append(human_size(info.size))
        facts.append(f"mode {info.mode:o}")
        hashed = info.hash or digest
        if hashed:
            facts.append(f"hash {hashed[:12]}")
        if info.mtime:
            facts.append(f"modified {short_time(info.mtime)}")
        line2.append(" · ".join(facts))
        self.query_one("#meta", Static).update(lines(line1, line2))

    def clear(self) -> None:
        self.log_view.clear()

    def show_entry(self, info: FileInfo) -> None:
        """A folder or a link: its metadata and a line about it (nothing to read)."""
        self.shown = info
        self.show_meta(info)
        log = self.log_view
        log.clear()
        if info.kind == "symlink":
            log.write(Text(f"symbolic link to {printable(info.target)}", style="italic"))
        elif info.kind == "dir":
            log.write(Text("directory: Enter or space expands it", style="dim italic"))

    def show_loading(self, info: FileInfo) -> None:
        """A file whose read has started: its metadata and "loading…"."""
        self.shown = info
        self.show_meta(info)
        log = self.log_view
        log.clear()
        log.write(Text("loading…", style="dim italic"))

    def show_failed(self, info: FileInfo, err: Exception) -> None:
        log = self.log_view
        log.clear()
        log.write(Text(printable(f"cannot read {info.path}: {err}"), style="red"))

    def show_preview(self, preview: Preview) -> None:
        """A read file: its text (or hex dump), and the hash computed while reading it."""
        log = self.log_view
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
