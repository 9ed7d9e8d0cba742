"""Tree entries and their canonical encoding (a Merkle tree, as git's trees).

A tree is one directory: its entries sorted by name. Its hash is the sha256 of the
canonical encoding, one line per entry::

    <kind> <mode octal> <size> <hash>\t<name>\n

so two directories with equal content have equal hashes, and a diff can skip them.
``kind`` is ``file``, ``dir`` or ``symlink``. For a file, ``hash`` names its blob; for a
symlink, the blob holding the link target; for a dir, the subtree.
"""

from __future__ import annotations

import hashlib
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
    """Inverse of :func:`encode`. Raises ValueError on malformed data."""
    out = []
    for line in data.decode("utf-8").splitlines():
        meta, name = line.split("\t", 1)
        kind, mode, size, digest = meta.split(" ")
        if kind not in KINDS:
            raise ValueError(f"unknown entry kind {kind!r}")
        out.append(Entry(name, kind, int(mode, 8), int(size), digest))
    return out


def tree_hash(entries: list[Entry]) -> tuple[str, bytes]:
    """``(sha256 hex, canonical bytes)`` of a tree whose entries are sorted by name."""
    data = encode(entries)
    return hashlib.sha256(data).hexdigest(), data


def sort_key(name: str) -> bytes:
    """Entries sort by the UTF-8 bytes of their names (stable across locales)."""
    return name.encode("utf-8", "surrogateescape")


EMPTY_TREE_HASH, _ = tree_hash([])


def build(flat: dict[str, Entry]) -> tuple[str, dict[str, list[Entry]]]:
    """Build Merkle trees from a flat ``{path: Entry}`` map of files, symlinks and dirs.

    Every parent directory of a listed path is implied; a listed ``dir`` entry with no
    children is an empty directory (its mode kept). Returns ``(root hash, {tree hash:
    sorted entries})`` for every tree, the root included.
    """
    children: dict[str, dict[str, Entry]] = {"": {}}
    dir_modes: dict[str, int] = {}
    for path, entry in flat.items():
        parent, _, name = path.rpartition("/")
        if entry.kind == DIR:
            dir_modes[path] = entry.mode
            children.setdefault(path, {})
        else:
            children.setdefault(parent, {})[name] = entry
        # make every ancestor known (an ancestor may be known while its own parent is not)
        while parent:
            children.setdefault(parent, {})
            parent = parent.rpartition("/")[0]
    trees: dict[str, list[Entry]] = {}
    hashes: dict[str, str] = {}
    # deepest directories first, so children are hashed before parents
    for path in sorted(children, key=lambda p: (-(p.count("/") + (1 if p else 0)), p)):
        entries = sorted(children[path].values(), key=lambda e: sort_key(e.name))
        digest, _ = tree_hash(entries)
        trees[digest] = entries
        hashes[path] = digest
        if path:
            parent, _, name = path.rpartition("/")
            children.setdefault(parent, {})[name] = Entry(name, DIR, dir_modes.get(path, 0o755), 0, digest)
    return hashes[""], trees
