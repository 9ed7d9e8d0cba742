"""Compare two trees: added, deleted, modified, renamed, type- and mode-changed entries.

The walk descends only into subtrees whose hashes differ (Merkle), so the cost follows
the size of the change, not of the tree. Exact renames (a deleted and an added file with
the same blob) are paired, as git's rename detection does for 100% similarity.
Line counts and unified diffs come from :mod:`difflib`; a file with a NUL byte in its
first 8000 bytes, or that is not UTF-8, is binary (git's heuristic).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from vmuser_tui.core.store.trees import DIR, FILE, Entry
from vmuser_tui.core.text import printable

ADDED, DELETED, MODIFIED, RENAMED, TYPE_CHANGED = "A", "D", "M", "R", "T"
TEXT_DIFF_LIMIT = 2 * 1024 * 1024  # bytes per side; larger files get counts of 0 and 'large'

TreeGetter = Callable[[str], list[Entry]]
ContentGetter = Callable[[str, Entry], bytes]
"""``content(path, entry) -> bytes`` for one side of a diff."""


@dataclass
class Change:
    """One changed path. ``status`` is A/D/M/R/T; ``old_path`` is set for renames.
    ``additions``/``deletions`` count lines (0 for binary or large files)."""

    path: str
    status: str
    old: Entry | None
    new: Entry | None
    old_path: str | None = None
    additions: int = 0
    deletions: int = 0
    binary: bool = False
    large: bool = False

    @property
    def entry(self) -> Entry:
        """The entry the change is about: the new one, or the old one for a deletion
        (a Change always has at least one)."""
        entry = self.new or self.old
        assert entry is not None, "a Change has an old or a new entry"
        return entry

    @property
    def mode_changed(self) -> bool:
        return bool(self.old and self.new and self.old.mode != self.new.mode)

    def label(self, arrow: str = "→") -> str:
        """The change's path as one line of text: ``'src/new.py'``, or for a rename
        ``'src/old.py → src/new.py'`` (``arrow``: the CLI passes ``'->'``). Control and
        bidi characters in the names are shown as escapes (:func:`~vmuser_tui.core.text.printable`),
        so a name cannot steer the terminal nor split the line. The one formatter of a
        change's name for the CLI and the TUI (which may colour around it: the new path is
        always the label's last ``len(printable(path))`` characters)."""
        if self.old_path:
            return f"{printable(self.old_path)} {arrow} {printable(self.path)}"
        return printable(self.path)

    def to_json(self) -> dict:
        """The shape of ``checkpoint diff --json``'s ``changes`` items."""
        return {
            "path": self.path,
            "status": self.status,
            "old_path": self.old_path,
            "additions": self.additions,
            "deletions": self.deletions,
            "binary": self.binary,
            "old_mode": f"{self.old.mode:o}" if self.old else None,
            "new_mode": f"{self.new.mode:o}" if self.new else None,
            "kind": self.entry.kind,
        }


def _in_scope(path: str, paths: list[str] | None) -> bool:
    if not paths:
        return True
    return any(path == p or path.startswith(p + "/") or p.startswith(path + "/") for p in paths)


def _leaves(get_tree: TreeGetter, entry: Entry, path: str):
    """Yield ``(path, entry)`` for a whole subtree (dirs included, parents first).

    The walks in this module keep their own stacks instead of recursing, so a tree
    thousands of folders deep (a legal 4096-byte path) cannot exhaust Python's recursion limit."""
    yield path, entry
    if entry.kind != DIR:
        return
    stack = [(path, iter(get_tree(entry.hash)))]
    while stack:
        base, children = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            continue
        child_path = f"{base}/{child.name}"
        yield child_path, child
        if child.kind == DIR:
            stack.append((child_path, iter(get_tree(child.hash))))


def diff_trees(
    get_a: TreeGetter, root_a: str, get_b: TreeGetter, root_b: str, *, paths: list[str] | None = None
) -> list[Change]:
    """Entry-level changes from tree ``root_a`` to ``root_b``, sorted by path.

    Directories appear only when added or deleted empty, or when they replace a
    non-directory; otherwise their contents speak. ``paths`` limits the result to those
    paths and what is below them.
    """
    changes: list[Change] = []

    def walk(ha: str | None, hb: str | None, prefix: str):
        """Compare two trees; yields ``(ha, hb, path)`` for each pair of subtrees to compare
        before going on (the loop below runs them: a stack, not recursion)."""
        if ha == hb:
            return
        a = {e.name: e for e in get_a(ha)} if ha else {}
        b = {e.name: e for e in get_b(hb)} if hb else {}
        for name in sorted(a.keys() | b.keys()):
            path = f"{prefix}/{name}" if prefix else name
            if not _in_scope(path, paths):
                continue
            ea, eb = a.get(name), b.get(name)
            if ea == eb:
                continue
            if ea and eb and ea.kind == DIR and eb.kind == DIR:
                if ea.mode != eb.mode:
                    changes.append(Change(path, MODIFIED, ea, eb))
                yield ea.hash, eb.hash, path
            elif ea and eb and ea.kind == eb.kind:
                changes.append(Change(path, MODIFIED, ea, eb))
            elif ea and eb:  # kind changed: file <-> dir <-> symlink
                if ea.kind == DIR:
                    _subtree(get_a, ea, path, DELETED, include_self=False)
                    changes.append(Change(path, TYPE_CHANGED, None, eb))
                elif eb.kind == DIR:
                    changes.append(Change(path, TYPE_CHANGED, ea, None))
                    _subtree(get_b, eb, path, ADDED, include_self=False)
                else:
                    changes.append(Change(path, TYPE_CHANGED, ea, eb))
            elif ea:
                _subtree(get_a, ea, path, DELETED)
            elif eb:
                _subtree(get_b, eb, path, ADDED)

    def _subtree(get: TreeGetter, entry: Entry, path: str, status: str, include_self: bool = True) -> None:
        for p, e in _leaves(get, entry, path):
            if not _in_scope(p, paths) or (p == path and not include_self):
                continue
            if e.kind == DIR:
                if get(e.hash):
                    continue  # its contents speak for it
            pair = (None, e) if status == ADDED else (e, None)
            changes.append(Change(p, status, *pair))

    stack = [walk(root_a, root_b, "")]
    while stack:
        sub = next(stack[-1], None)
        if sub is None:
            stack.pop()
        else:
            stack.append(walk(*sub))
    changes = _pair_renames(changes)
    changes.sort(key=lambda c: c.path)
    return changes


_INVERSE = {ADDED: DELETED, DELETED: ADDED, MODIFIED: MODIFIED, RENAMED: RENAMED, TYPE_CHANGED: TYPE_CHANGED}


def invert(change: Change) -> Change:
    """The same change seen from the other side (B -> A): A<->D, renames reversed."""
    if change.status == RENAMED and change.old_path is not None:
        return Change(change.old_path, RENAMED, change.new, change.old, change.path,
                      change.deletions, change.additions, change.binary, change.large)
    return Change(change.path, _INVERSE[change.status], change.new, change.old, None,
                  change.deletions, change.additions, change.binary, change.large)


def differing_flats(
    get_a: TreeGetter, root_a: str, get_b: TreeGetter, root_b: str
) -> tuple[dict[str, Entry], dict[str, Entry]]:
    """Flat ``{path: Entry}`` maps of both trees, limited to where they differ.

    Subtrees with equal hashes on both sides are skipped whole (Merkle), so the cost
    follows the size of the change. Every entry inside a differing subtree is listed,
    directories included, which is what :func:`vmuser_tui.core.store.restore.plan` needs.
    """
    flat_a: dict[str, Entry] = {}
    flat_b: dict[str, Entry] = {}

    todo: list[tuple[str | None, str | None, str]] = [(root_a, root_b, "")] if root_a != root_b else []
    while todo:  # a stack, not recursion: see _leaves
        ha, hb, prefix = todo.pop()
        a = {e.name: e for e in get_a(ha)} if ha else {}
        b = {e.name: e for e in get_b(hb)} if hb else {}
        for name in a.keys() | b.keys():
            ea, eb = a.get(name), b.get(name)
            if ea == eb:
                continue
            path = f"{prefix}/{name}" if prefix else name
            if ea is not None:
                flat_a[path] = ea
            if eb is not None:
                flat_b[path] = eb
            da = ea.hash if ea is not None and ea.kind == DIR else None
            db = eb.hash if eb is not None and eb.kind == DIR else None
            if da != db and (da or db):
                todo.append((da, db, path))
    return flat_a, flat_b


def flat_changes(
    flat_a: dict[str, Entry], flat_b: dict[str, Entry], *, paths: list[str] | None = None
) -> list[Change]:
    """The changes :func:`diff_trees` finds, made from the flat maps :func:`differing_flats`
    returns for the same two trees, so a caller that needs both (a restore: its plan and
    its report) walks the trees once. ``paths`` limits the result as in :func:`diff_trees`.

    Same rules: a folder on both sides is a change only when its mode changed; a folder on
    one side only is listed only when it is empty (its contents speak for it); a kind change
    to or from a folder is a ``T`` with that side left None and the folder's contents added
    or deleted; exact renames are paired in the order the tree walk meets them (parents
    first, names sorted), then the result is sorted by path."""
    # every entry of a folder on one side only is in that side's map: a parent in this set has children
    parents_a = {p.rpartition("/")[0] for p in flat_a}
    parents_b = {p.rpartition("/")[0] for p in flat_b}
    changes: list[Change] = []
    for path in sorted(flat_a.keys() | flat_b.keys(), key=lambda p: p.split("/")):
        if not _in_scope(path, paths):
            continue
        ea, eb = flat_a.get(path), flat_b.get(path)
        if ea == eb:
            continue
        if ea and eb:
            if ea.kind == DIR and eb.kind == DIR:
                if ea.mode != eb.mode:
                    changes.append(Change(path, MODIFIED, ea, eb))
            elif ea.kind == eb.kind:
                changes.append(Change(path, MODIFIED, ea, eb))
            elif ea.kind == DIR:
                changes.append(Change(path, TYPE_CHANGED, None, eb))
            elif eb.kind == DIR:
                changes.append(Change(path, TYPE_CHANGED, ea, None))
            else:
                changes.append(Change(path, TYPE_CHANGED, ea, eb))
        elif ea:
            if not (ea.kind == DIR and path in parents_a):
                changes.append(Change(path, DELETED, ea, None))
        elif eb and not (eb.kind == DIR and path in parents_b):
            changes.append(Change(path, ADDED, None, eb))
    changes = _pair_renames(changes)
    changes.sort(key=lambda c: c.path)
    return changes


def _pair_renames(changes: list[Change]) -> list[Change]:
    """Turn a deleted and an added file with the same blob into one rename."""
    deleted: dict[str, list[Change]] = {}
    for c in changes:
        if c.status == DELETED and c.old and c.old.kind == FILE:
            deleted.setdefault(c.old.hash, []).append(c)
    out, used = [], set()
    for c in changes:
        if c.status == ADDED and c.new and c.new.kind == FILE and deleted.get(c.new.hash):
            gone = deleted[c.new.hash].pop(0)
            used.add(id(gone))
            out.append(Change(c.path, RENAMED, gone.old, c.new, old_path=gone.path))
        else:
            out.append(c)
    return [c for c in out if id(c) not in used]


def is_binary(data: bytes) -> bool:
    """git's heuristic: a NUL in the first 8000 bytes; also anything that is not UTF-8."""
    if b"\0" in data[:8000]:
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _lines(data: bytes) -> list[str]:
    return data.decode("utf-8").splitlines(keepends=True)


def count_lines(change: Change, content_a: ContentGetter, content_b: ContentGetter) -> None:
    """Fill ``additions``, ``deletions``, ``binary`` and ``large`` of a file change in place."""
    old = change.old if change.old and change.old.kind == FILE else None
    new = change.new if change.new and change.new.kind == FILE else None
    if old is None and new is None:
        return
    if (old and old.size > TEXT_DIFF_LIMIT) or (new and new.size > TEXT_DIFF_LIMIT):
        change.large = True
        return
    a = content_a(change.old_path or change.path, old) if old else b""
    b = content_b(change.path, new) if new else b""
    if is_binary(a) or is_binary(b):
        change.binary = True
        return
    if change.status == RENAMED and a == b:
        return
    import difflib  # (loaded by the commands that count lines: listing checkpoints does not)

    for line in difflib.unified_diff(_lines(a), _lines(b), n=0):
        if line.startswith("+") and not line.startswith("+++"):
            change.additions += 1
        elif line.startswith("-") and not line.startswith("---"):
            change.deletions += 1


def unified(change: Change, content_a: ContentGetter, content_b: ContentGetter, *, context: int = 3) -> str:
    """The unified text diff of one change (git-style headers); a one-line note for
    binary, large, symlink-only or mode-only changes."""
    old = change.old if change.old and change.old.kind == FILE else None
    new = change.new if change.new and change.new.kind == FILE else None
    a_path = change.old_path or change.path
    header = ((f"--- a/{a_path}\n" if old else "--- /dev/null\n")
              + (f"+++ b/{change.path}\n" if new else "+++ /dev/null\n"))
    if change.mode_changed and old and new and old.hash == new.hash:
        return f"mode changed {old.mode:o} -> {new.mode:o}\n"
    if old is None and new is None:
        return f"{change.status} {change.path} ({change.entry.kind})\n"
    if (old and old.size > TEXT_DIFF_LIMIT) or (new and new.size > TEXT_DIFF_LIMIT):
        return f"large file ({max(e.size for e in (old, new) if e):,} bytes): not shown\n"
    a = content_a(a_path, old) if old else b""
    b = content_b(change.path, new) if new else b""
    if is_binary(a) or is_binary(b):
        return f"Binary files differ ({len(a):,} -> {len(b):,} bytes)\n"
    import difflib

    body = "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
        for line in list(difflib.unified_diff(_lines(a), _lines(b), n=context))[2:]
    )
    if not body:
        return "renamed, content unchanged\n" if change.status == RENAMED else "no content change\n"
    return header + body
