"""The files screen's find (``/``): every name of the browsed tree walked once, then matched
as the user types; the box above the tree and the results in the tree's place.

:func:`walk` lists a tree through the VFS (in a thread worker); :class:`FindIndex` holds
what it found and matches a text against it; :class:`FindBox` is the text box and
:class:`FoundTable` the results, one path a row.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Input

from vmuser_tui.core.models import FileInfo
from vmuser_tui.tui.widgets.cells import clip_left
from vmuser_tui.tui.widgets.lazytable import Column, LazyTable, text_width

FIND_CAP = 200_000  # entries a find walks at most
FIND_DEBOUNCE_ABOVE = 20_000  # entries; beyond this the find waits for a pause in typing


def shown_path(info: FileInfo | None) -> str:
    """A path as the files screen shows it: folders end in ``/``, the root is ``/``."""
    if info is None or not info.path:
        return "/"
    return info.path + ("/" if info.kind == "dir" else "")


def walk(fs, project_id: str, at: str | None, top: str = "", cap: int = FIND_CAP) -> tuple[list[FileInfo], bool]:
    """Every entry under ``top`` through the VFS ``fs`` (folders first level by level), at
    most ``cap``; and whether there were more. Runs in a thread worker."""
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


class FindIndex:
    """The entries of one tree (``at``: a checkpoint id, None: the live workspace), as
    :func:`walk` returned them, and their lowercased names (or paths) to match against."""

    def __init__(self, entries: list[FileInfo], more: bool, at: str | None) -> None:
        self.entries = entries
        self.more = more  # the walk stopped at FIND_CAP
        self.at = at
        self._names: list[str] = []
        self._by_path: bool | None = None  # _names hold paths (True) or names (False)

    def __len__(self) -> int:
        return len(self.entries)

    def match(self, needle: str) -> list[FileInfo]:
        """The entries whose name (or, with a ``/`` in ``needle``, path) holds the lowercased
        ``needle``, sorted by path."""
        by_path = "/" in needle
        if by_path != self._by_path:
            self._names = [(i.path if by_path else i.name).lower() for i in self.entries]
            self._by_path = by_path
        found = [info for info, name in zip(self.entries, self._names, strict=True) if needle in name]
        found.sort(key=lambda i: i.path)
        return found


class FindBox(Input):
    """The find's text box.

    Textual's Input claims the keys it types (its ancestors' bindings of those keys do not
    fire while it has the focus), but it cannot tell that the key named ``slash`` types a
    character, so the screen's ``/`` (find) would fire in place of typing one; a ``/`` in
    the text matches paths. Claimed here."""

    def check_consume_key(self, key: str, character: str | None) -> bool:
        return key == "slash" or super().check_consume_key(key, character)


class FoundTable(LazyTable):
    """The entries found, one path a row (long paths keep their end); the column header
    counts them."""

    def __init__(self, **kwargs) -> None:
        super().__init__([Column("path", "Path", 10, flex=True)], self._cells, lambda i: i.path, **kwargs)
        self.found: list[FileInfo] = []

    @staticmethod
    def _cells(info: FileInfo, widths: dict[str, int]) -> list:
        text = shown_path(info)
        return [Text(clip_left(text, widths["path"]), style="bold" if info.kind == "dir" else "")]

    def show(self, found: list[FileInfo]) -> None:
        self.found = found
        self.set_columns([Column("path", f"{len(found)} found", text_width((shown_path(i) for i in found),
                                                                          floor=10, cap=300), flex=True)])
        self.set_rows(found)

    def entry(self, row: int) -> FileInfo | None:
        """The entry on ``row``, or None."""
        return self.found[row] if 0 <= row < len(self.found) else None
