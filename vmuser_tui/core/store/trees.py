"""Tree entries and their canonical encoding (a Merkle tree, as git's trees).

A tree is one directory: its entries sorted by name. Its hash is the sha256 of the
canonical encoding, one line per entry::

    <kind> <mode octal> <size> <hash>\t<name>\n

so two directories with equal content have equal hashes, and a diff can skip them.
``kind`` is ``file``, ``dir`` or ``symlink``. For a file, ``hash`` names its blob; for a
symlink, the blob holding the link target; for a dir, the subtree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

FILE, DIR, SYMLINK = "file", "dir", "symlink"
KINDS = (FILE, DIR, SYMLINK)


@dataclass(frozen=True, slots=True)
class Entry:
    """One tree entry. ``size`` is bytes (for a dir: 0); ``mode`` is permission bits (0o777 mask)."""

    name: str
    kind: str
    mode: int
    size: int
    hash: str


def encode(entries: list[Entry]) -> bytes:
    """Canonical bytes of a tree; ``entries`` must already be sorted by name."""
    return "".join(f"{e.kind} {e.mode:o} {e.size} {e.hash}\t{e.name}\n" for e in entries).encode("utf-8")


def decode(data: bytes) -> list[Entry]:
    """Inverse of :func:`encode`. Raises ValueError on malformed data: an unknown kind
    (a hard link, device or fifo cannot be expressed), a name that is not one plain name
    (empty, ``.``, ``..``, holding ``/`` or NUL), the same name twice, a negative size.

    These are the checks without which a path built from the tree would be ambiguous;
    the full path rules are applied where a tree is materialized (restore)."""
    out = []
    names: set[str] = set()
    for line in data.decode("utf-8").split("\n"):
        if not line:
            continue
        meta, name = line.split("\t", 1)
        kind, mode, size, digest = meta.split(" ")
        if kind not in KINDS:
            raise ValueError(f"unknown entry kind {kind!r}")
        if name in ("", ".", "..") or "/" in name or "\x00" in name:
            raise ValueError(f"entry name {name!r} is not one plain name")
        if name in names:
            raise ValueError(f"entry name {name!r} appears twice")
        names.add(name)
        entry = Entry(name, kind, int(mode, 8), int(size), digest)
        if entry.size < 0 or entry.mode < 0:
            raise ValueError(f"entry {name!r} has a negative size or mode")
        out.append(entry)
    return out


def tree_hash(entries: list[Entry]) -> tuple[str, bytes]:
    """``(sha256 hex, canonical bytes)`` of a tree whose entries are sorted by name."""
    import hashlib  # (once a tree: listing checkpoints loads this module but hashes nothing; ~2 ms)

    data = encode(entries)
    return hashlib.sha256(data).hexdigest(), data


def sort_key(name: str) -> bytes:
    """Entries sort by the UTF-8 bytes of their names (stable across locales)."""
    return name.encode("utf-8", "surrogateescape")


# tree_hash([]): the sha256 of no bytes (written out: computing it would load hashlib at import;
# tests/unit/test_trees.py checks it)
EMPTY_TREE_HASH = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def _parent(path: str) -> str:
    return path.rpartition("/")[0]


def _depth(path: str) -> int:
    return path.count("/") + 1 if path else 0


class TreeIndex:
    """Every directory of a workspace with its entries and Merkle hash, kept in memory so
    that after a change only the touched directories and their ancestors are re-hashed.

    ``children[dir][name]`` holds the entries (a sub-directory's entry carries its tree
    hash); ``hashes[dir]`` each directory's tree hash (``hashes[""]`` is the root);
    ``modes[dir]`` each directory's permission bits.
    """

    def __init__(self) -> None:
        self.children: dict[str, dict[str, Entry]] = {"": {}}
        self.modes: dict[str, int] = {}
        self.hashes: dict[str, str] = {}

    @classmethod
    def from_flat(cls, flat: dict[str, Entry]) -> tuple[TreeIndex, dict[str, list[Entry]]]:
        """Index a flat ``{path: Entry}`` map (parents implied); returns it and every tree."""
        index = cls()
        for path, entry in flat.items():
            if entry.kind == DIR:
                index.add_dir(path, entry.mode)
            else:
                index.set(path, entry)
        return index, index.rehash(list(index.children))

    @property
    def root(self) -> str:
        return self.hashes[""]

    def add_dir(self, path: str, mode: int) -> None:
        """Make ``path`` (and every missing ancestor) a directory."""
        self.modes[path] = mode
        while path and path not in self.children:
            self.children[path] = {}
            path = _parent(path)
        self.children.setdefault(path, {})

    def set(self, path: str, entry: Entry) -> None:
        """Put a file or symlink entry at ``path`` (its parent directories are implied)."""
        parent = _parent(path)
        if parent not in self.children:
            self.add_dir(parent, self.modes.get(parent, 0o755))
        self.children[parent][entry.name] = entry

    def remove(self, path: str) -> None:
        """Remove ``path`` and, for a directory, everything below it."""
        self.children.get(_parent(path), {}).pop(path.rpartition("/")[2], None)
        if path in self.children:
            prefix = path + "/"
            for d in [d for d in self.children if d == path or d.startswith(prefix)]:
                del self.children[d]
                self.modes.pop(d, None)
                self.hashes.pop(d, None)

    def rehash(self, dirty: Iterable[str]) -> dict[str, list[Entry]]:
        """Re-hash the directories in ``dirty`` and all their ancestors, deepest first;
        returns ``{tree hash: sorted entries}`` of the trees computed."""
        todo: set[str] = set()
        for d in dirty:
            while d not in todo:
                todo.add(d)
                if not d:
                    break
                d = _parent(d)
        trees: dict[str, list[Entry]] = {}
        for path in sorted(todo, key=lambda p: (-_depth(p), p)):
            if path not in self.children:
                continue  # removed meanwhile
            entries = sorted(self.children[path].values(), key=lambda e: sort_key(e.name))
            digest, _ = tree_hash(entries)
            trees[digest] = entries
            self.hashes[path] = digest
            if path:
                name = path.rpartition("/")[2]
                self.children[_parent(path)][name] = Entry(name, DIR, self.modes.get(path, 0o755), 0, digest)
        return trees


def build(flat: dict[str, Entry]) -> tuple[str, dict[str, list[Entry]]]:
    """Build Merkle trees from a flat ``{path: Entry}`` map of files, symlinks and dirs.

    Every parent directory of a listed path is implied; a listed ``dir`` entry with no
    children is an empty directory (its mode kept). Returns ``(root hash, {tree hash:
    sorted entries})`` for every tree, the root included.
    """
    index, trees = TreeIndex.from_flat(flat)
    return index.root, trees
