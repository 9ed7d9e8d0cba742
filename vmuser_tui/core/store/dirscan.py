"""A standalone scan that skips unchanged folders whole (issue 15, item 3).

A one-shot ``vmuser checkpoint create`` (no worker, so no change monitor) must stat every
file: that is git's floor too (``git status`` lstats every tracked path). What it need not
do is build Python objects, look up the stat cache, call the ignore rules and re-hash the
tree of every folder whose files did not change. So the walk here keeps, per folder, only
a sorted list of raw tuples ``(name, st_mode, size, mtime_ns, ctime_ns, inode)`` (folders:
``(name, st_mode, 0, 0, 0, 0)``) and compares its digest with the **folder signature** the
last standalone capture stored in ``stat_dirs`` (one row a folder, loaded in one query):

    sig = blake2b(marshal(raw entries, tree hashes of the listed sub-folders))

A folder whose signature matches, and whose sub-folders all match, keeps its stored tree
hash, file count and byte count: none of its files is looked up, hashed or turned into an
:class:`~vmuser_tui.core.store.trees.Entry`. Every other folder ("dirty") is handled as
:func:`vmuser_tui.core.store.scan.scan` handles it (stat cache, ignore rules, bad names,
symlinks), and only its tree is re-encoded.

What this relies on (the same promise as the stat cache, git's index): a file whose
``(size, mtime_ns, ctime_ns, inode, mode)`` are unchanged has unchanged content, and a
folder whose entry list and sub-trees are unchanged has an unchanged tree. Folder mtimes
are *not* relied on (on some filesystems, e.g. overlayfs lower layers or network mounts,
they do not move when an entry is renamed in place); every entry's own stat is compared.
A signature is only stored when it can vouch:

- no entry of the folder was modified within :data:`~vmuser_tui.core.store.scan.RACY_WINDOW_NS`
  of the capture's end (racy git: a same-size write within the timestamp granularity);
- every file hashed in this capture was read with the very stat the scan saw;
- nothing in it was skipped, vanished or could not be listed (so the outcome's
  ``skipped`` list is rebuilt by scanning it again);
- the rows belong to the same ignore rules (``rules_key``): other rules, other trees.

Trees a signature names are roots for ``gc`` (:mod:`.gc`), so they and their blobs stay.
If one is missing anyway (a damaged store), :class:`StaleSignatures` makes the caller
forget the project's signatures and capture again without them.
"""

from __future__ import annotations

import errno
import gc
import hashlib
import marshal
import os
import stat as statmod
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from vmuser_tui.core.pathcheck import _DRIVE_RE, is_reserved
from vmuser_tui.core.store.scan import (
    GONE_ERRNOS,
    RACY_WINDOW_NS,
    TMP_PREFIX,
    TOO_LONG,
    IgnoreFn,
    ScanResult,
    StatInfo,
    _bad_name,
    open_listed,
    too_long,
)
from vmuser_tui.core.store.trees import DIR, FILE, SYMLINK, Entry, sort_key, tree_hash

_S_IFMT, _S_IFDIR = 0o170000, 0o040000
FULL_LOAD_DIRS = 64  # dirty folders above which the whole stat cache is read in one query


class StaleSignatures(Exception):
    """A stored signature names a tree the store no longer holds: capture again without them."""


@dataclass
class Stored:
    """A folder's row in ``stat_dirs``: signature (None: do not trust), tree, and the
    files and bytes (regular files only, recursive) below it."""

    sig: bytes | None
    tree: str
    files: int
    size: int


@dataclass
class Walk:
    """One pass over the workspace. ``dirs``: folders in pre-order (``""`` the root);
    ``raw[d]``: sorted raw tuples; ``subdirs[d]``: listed (not ignored) sub-folders, sorted;
    ``bad``: folders that may not be signed; ``gone``: folders that vanished while listed;
    ``unlisted``: folders that could not be listed (captured empty, reported in ``skipped``).
    ``folded[d]``: what :func:`build` still needs of a dirty folder once :func:`scan_dirty`
    has listed it (its raw tuples are dropped then: they were ~120 bytes a file of a first
    checkpoint's peak RSS): the signature's hasher fed with the raw entries
    (:func:`sig_start`) and the newest mtime/ctime among them (ns)."""

    dirs: list[str] = field(default_factory=list)
    raw: dict[str, list[tuple]] = field(default_factory=dict)
    subdirs: dict[str, list[str]] = field(default_factory=dict)
    bad: set[str] = field(default_factory=set)
    gone: set[str] = field(default_factory=set)
    unlisted: set[str] = field(default_factory=set)
    folded: dict[str, tuple[object, int]] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    vanished: list[str] = field(default_factory=list)


def _parent(path: str) -> str:
    return path.rpartition("/")[0]


def walk(workspace: Path, ignore: IgnoreFn | None) -> Walk:
    """List and lstat every entry below ``workspace`` (symlinks never followed). The
    ignore rules are asked about folders only (to not descend into an ignored one); files
    are judged later, and only in dirty folders. Raises OSError when the workspace itself
    cannot be listed."""
    # One tuple per entry and no cycles: the cyclic GC, triggered every 700 allocations,
    # would re-traverse all of them over and over (a good part of the walk's own time).
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _walk(workspace, ignore)
    finally:
        if enabled:
            gc.enable()


def _walk(workspace: Path, ignore: IgnoreFn | None) -> Walk:
    out = Walk()
    base = os.fspath(workspace)
    # (absolute path, relative path, (st_dev, st_ino) its parent's listing saw: None for the root)
    stack: list[tuple[str, str, tuple[int, int] | None]] = [(base, "", None)]
    while stack:
        abs_dir, rel_dir, expect = stack.pop()
        dir_fd = -1
        try:  # a verified descriptor: a folder swapped for a link is never listed (open_listed)
            dir_fd = open_listed(abs_dir, expect)
            it = os.scandir(dir_fd)
        except OSError as exc:
            if dir_fd >= 0:
                os.close(dir_fd)
            if not rel_dir:
                raise
            parent = _parent(rel_dir)
            out.bad.add(parent)
            if exc.errno in GONE_ERRNOS:
                out.gone.add(rel_dir)
                out.vanished.append(rel_dir)
                continue
            out.skipped.append((rel_dir, f"cannot list: {exc.strerror}"))
            out.unlisted.add(rel_dir)
            out.bad.add(rel_dir)
            out.dirs.append(rel_dir)
            out.raw[rel_dir], out.subdirs[rel_dir] = [], []
            continue
        out.dirs.append(rel_dir)
        raw: list[tuple] = []
        subs: list[str] = []
        prefix = f"{rel_dir}/" if rel_dir else ""
        dir_bytes = len(os.fsencode(abs_dir)) + 1
        try:
            with it:
                for de in it:
                    name = de.name
                    if name.startswith(TMP_PREFIX):
                        continue
                    if too_long(dir_bytes, name):
                        out.skipped.append((prefix + name, TOO_LONG))
                        out.bad.add(rel_dir)
                        continue
                    if not rel_dir:
                        if is_reserved(name):
                            continue  # vmuser's own folder, in any spelling a filesystem folds
                        if _DRIVE_RE.match(name):
                            out.skipped.append((name, "name starts like a Windows drive letter (c:...)"))
                            out.bad.add(rel_dir)
                            continue
                    try:
                        st = de.stat(follow_symlinks=False)
                    except OSError as exc:
                        out.bad.add(rel_dir)
                        if exc.errno in GONE_ERRNOS:
                            out.vanished.append(prefix + name)
                        else:
                            out.skipped.append((prefix + name, f"cannot stat: {exc.strerror}"))
                        continue
                    mode = st.st_mode
                    if mode & _S_IFMT == _S_IFDIR:
                        raw.append((name, mode, 0, 0, 0, 0))
                        rel = prefix + name
                        why = _bad_name(name)  # folders are few: checked here, so a bad one is not entered
                        if why:
                            out.skipped.append((rel, why))
                            out.bad.add(rel_dir)
                        elif ignore is None or not ignore(rel, True):
                            subs.append(rel)
                            stack.append((f"{abs_dir}/{name}", rel, (st.st_dev, st.st_ino)))
                    else:
                        raw.append((name, mode, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino))
        finally:
            os.close(dir_fd)
        raw.sort()
        subs.sort(key=sort_key)
        out.raw[rel_dir], out.subdirs[rel_dir] = raw, subs
    return out


def signature(raw: list[tuple], subtrees: list[str]) -> bytes:
    """The digest a folder's raw entries and sub-trees are compared by (marshal version 2:
    no back-references, so equal values always give equal bytes):
    ``blake2b(marshal.dumps((raw, subtrees), 2), digest_size=20)``."""
    return sig_finish(sig_start(raw), subtrees)


# marshal version 2 writes a tuple as "(" + its length (4 bytes, little-endian) + its items,
# so the signature's bytes can be fed in two parts: the raw entries as soon as the folder
# is listed, the sub-trees once they are hashed (tests/unit/test_i15_first_memory.py).
_PAIR = b"(\x02\x00\x00\x00"


def sig_start(raw: list[tuple]):
    """A blake2b hasher fed with the first part of a folder's :func:`signature`."""
    h = hashlib.blake2b(_PAIR, digest_size=20)
    h.update(marshal.dumps(raw, 2))
    return h


def sig_finish(start, subtrees: list[str]) -> bytes:
    """The :func:`signature` from :func:`sig_start`'s hasher (left as it is) and the sub-trees."""
    h = start.copy()
    h.update(marshal.dumps(subtrees, 2))
    return h.digest()


def load_signatures(conn, project_id: str, rules_key: str) -> dict[str, Stored]:
    """The project's folder rows, in one query; a row stored under other ignore rules than
    ``rules_key`` comes without its signature (its tree is another one)."""
    rows = conn.execute("SELECT path, sig, tree, files, bytes, rules_key FROM stat_dirs WHERE project_id = ?",
                        (project_id,))
    return {r[0]: Stored(r[1] if r[5] == rules_key else None, r[2], r[3], r[4]) for r in rows}


def clean_dirs(w: Walk, stored: dict[str, Stored]) -> dict[str, Stored]:
    """The folders whose stored signature still holds (children decided before parents)."""
    clean: dict[str, Stored] = {}
    for d in reversed(w.dirs):
        row = stored.get(d)
        if row is None or row.sig is None or d in w.bad:
            continue
        subs = w.subdirs[d]
        if any(s not in clean for s in subs):
            continue
        if signature(w.raw[d], [clean[s].tree for s in subs]) == row.sig:
            clean[d] = row
    return clean


def _cache_rows(conn, project_id: str, dirty: list[str], total: int) -> dict[str, tuple]:
    """Stat-cache rows ``{path: (size, mtime_ns, ctime_ns, inode, mode, hash)}`` of the
    direct children of the ``dirty`` folders: one query for the whole cache when many are
    dirty (a first checkpoint), else one per folder, filtered by SQLite."""
    sql = "SELECT path, size, mtime_ns, ctime_ns, inode, mode, hash FROM stat_cache WHERE project_id = ?"
    if len(dirty) > FULL_LOAD_DIRS or len(dirty) * 2 > total:
        return {r[0]: r[1:] for r in conn.execute(sql, (project_id,))}
    out: dict[str, tuple] = {}
    for d in dirty:
        if d:
            rows = conn.execute(sql + " AND path >= ? AND path < ? AND instr(substr(path, ?), '/') = 0",
                                (project_id, d + "/", d + "0", len(d) + 2))
        else:
            rows = conn.execute(sql + " AND instr(path, '/') = 0", (project_id,))
        out.update((r[0], r[1:]) for r in rows)
    return out


@dataclass
class DirtyScan:
    """What :func:`scan_dirty` returns: ``result`` (the dirty folders' direct children, as
    :func:`~vmuser_tui.core.store.scan.scan` would list them), ``children[d]`` their paths
    per folder, ``dirty`` folders in pre-order, ``clean`` the reused rows, and ``cache``
    the stat-cache rows read (to find what was removed)."""

    result: ScanResult
    children: dict[str, list[str]]
    dirty: list[str]
    clean: dict[str, Stored]
    cache: dict[str, tuple]
    walk: Walk
    steps: Iterator[None] | None = None


def scan_dirty(conn, project_id: str, workspace: Path, w: Walk, stored: dict[str, Stored],
               ignore: IgnoreFn | None, *, stepwise: bool = False) -> DirtyScan:
    """Decide the clean folders and list the dirty ones' entries into a :class:`ScanResult`
    (files to hash in ``pending``), as :func:`~vmuser_tui.core.store.scan.scan` does.

    With ``stepwise``, the dirty folders are not listed yet: ``steps`` lists one a step
    (as :func:`~vmuser_tui.core.store.scan.scan_steps` does; ``pending`` in folder order,
    each folder's files sorted), for a capture to hash the files listed so far meanwhile;
    the result is whole once ``steps`` is exhausted."""
    clean = clean_dirs(w, stored)
    dirty = [d for d in w.dirs if d not in clean]
    cache = _cache_rows(conn, project_id, dirty, len(w.dirs)) if dirty else {}
    result = ScanResult()
    result.skipped.extend(w.skipped)
    result.vanished.extend(w.vanished)
    children: dict[str, list[str]] = {}
    steps = _list_dirty(workspace, w, dirty, cache, result, children, ignore)
    ds = DirtyScan(result, children, dirty, clean, cache, w)
    if stepwise:
        ds.steps = steps
    else:
        for _ in steps:
            pass
        result.pending.sort()
    return ds


def _list_dirty(workspace: Path, w: Walk, dirty: list[str], cache: dict[str, tuple], result: ScanResult,
                children: dict[str, list[str]], ignore: IgnoreFn | None) -> Iterator[None]:
    """List the ``dirty`` folders' entries into ``result`` and ``children``, yielding
    after each folder; at the end the walk's raw tuples are dropped."""
    base = os.fspath(workspace)
    listed = set(w.dirs)
    perms: dict[int, int] = {}  # st_mode -> permission bits, one int object per mode (not per file)
    # In name order (the walk's pre-order follows the filesystem's listing order): the
    # files, and so the stat-cache rows written batch by batch, come nearly sorted, and
    # SQLite appends to its key index instead of splitting pages all over it (inserted in
    # listing order, the database of a 50,000-file first checkpoint was 1% bigger).
    for d in sorted(dirty):
        first = len(result.pending)
        kids: list[str] = []
        children[d] = kids
        prefix = f"{d}/" if d else ""
        raw = w.raw.pop(d)
        w.folded[d] = (sig_start(raw), max((max(r[3], r[4]) for r in raw), default=0))
        for name, mode, size, mtime, ctime, ino in raw:
            rel = prefix + name
            if mode & _S_IFMT == _S_IFDIR:
                if rel not in listed:
                    continue  # a bad name (reported by the walk), ignored, or vanished while listed
                result.flat[rel] = Entry(name, DIR, mode & 0o777, 0, "")
                kids.append(rel)
                continue
            hit = cache.get(rel)
            if hit is None:  # a cached path was checked when it was captured
                why = _bad_name(name)
                if why:
                    result.skipped.append((rel, why))
                    w.bad.add(d)
                    continue
            if statmod.S_ISREG(mode):
                if ignore and ignore(rel, False):
                    continue
                perm = perms.get(mode)
                if perm is None:
                    perm = perms[mode] = mode & 0o777
                info = StatInfo(size, mtime, ctime, ino, perm)
                result.stats[rel] = info
                kids.append(rel)
                if hit is not None and hit[:5] == info:
                    result.flat[rel] = Entry(name, FILE, info.mode, size, hit[5])
                    result.cached.add(rel)
                else:
                    result.flat[rel] = Entry(name, FILE, info.mode, size, "")
                    result.pending.append(rel)
            elif statmod.S_ISLNK(mode):
                if ignore and ignore(rel, False):
                    continue
                try:
                    target = os.readlink(os.fsencode(f"{base}/{rel}"))
                except OSError as exc:
                    w.bad.add(d)
                    if exc.errno in GONE_ERRNOS or exc.errno == errno.EINVAL:  # gone, or no longer a link
                        result.vanished.append(rel)
                    else:
                        result.skipped.append((rel, f"cannot read link: {exc.strerror}"))
                    continue
                result.symlinks[rel] = target
                result.flat[rel] = Entry(name, SYMLINK, 0o777, len(target), hashlib.sha256(target).hexdigest())
                kids.append(rel)
            else:
                result.skipped.append((rel, "not a regular file, directory or symlink"))
                w.bad.add(d)
        if len(result.pending) - first > 1:  # raw tuples are sorted by name already; kept as a guard
            result.pending[first:] = sorted(result.pending[first:])
        yield
    w.raw.clear()  # the clean folders' too: build needs only the dirty ones' folded form


@dataclass
class Built:
    """Trees of the dirty folders after hashing: ``trees`` ``{hash: entries}`` to store,
    ``root``, ``files``/``size`` (regular files, bytes) of the whole workspace, ``rows``
    for ``stat_dirs`` and the maximal clean folders' trees (``reused``, to check stored)."""

    root: str
    trees: dict[str, list[Entry]]
    files: int
    size: int
    rows: list[tuple]
    reused_trees: list[str]


def build(ds: DirtyScan, now_ns: int, project_id: str, rules_key: str) -> Built:
    """Encode the dirty folders' trees, deepest first, with the clean ones' stored trees
    (a file hashed with another stat than the scan saw, ``result.restat``, keeps its
    folder unsigned). Returns what the final transaction writes."""
    w, result = ds.walk, ds.result
    flat = result.flat
    tree_of: dict[str, str] = {}
    counts: dict[str, tuple[int, int]] = {}
    trees: dict[str, list[Entry]] = {}
    rows: list[tuple] = []
    racy_after = now_ns - RACY_WINDOW_NS
    left_out = set(result.vanished) | set(result.changing)
    restat = result.restat
    for d, row in ds.clean.items():
        tree_of[d], counts[d] = row.tree, (row.files, row.size)
    reused = [d for d in ds.clean if d and _parent(d) not in ds.clean] + ([""] if "" in ds.clean else [])
    for d in reversed(ds.dirty):
        entries: list[Entry] = []
        files = size = 0
        signable = d not in w.bad
        for rel in ds.children[d]:
            e = flat.get(rel)
            if e is None:  # left out while hashed
                signable = False
                continue
            if e.kind == DIR:
                if rel not in tree_of:
                    signable = False
                    continue
                e = Entry(e.name, DIR, e.mode, 0, tree_of[rel])
                n, s = counts[rel]
                files, size = files + n, size + s
            elif e.kind == FILE:
                files, size = files + 1, size + e.size
                if rel in restat:
                    signable = False  # read with another stat than the scan saw
            entries.append(e)
        start, newest = w.folded[d]
        if signable and newest > racy_after:
            signable = False
        if signable and any(s in left_out for s in w.subdirs[d]):
            signable = False
        entries.sort(key=lambda e: sort_key(e.name))
        digest, _ = tree_hash(entries)
        trees[digest] = entries
        tree_of[d], counts[d] = digest, (files, size)
        sig = sig_finish(start, [tree_of[s] for s in w.subdirs[d] if s in tree_of]) if signable else None
        if signable and any(s not in tree_of for s in w.subdirs[d]):
            sig = None
        rows.append((project_id, d, rules_key, sig, digest, files, size))
    files, size = counts[""]
    return Built(tree_of[""], trees, files, size, rows, [tree_of[d] for d in reused])


def removed_paths(ds: DirtyScan, stored: dict[str, Stored]) -> tuple[list[str], list[str]]:
    """``(stat-cache paths to forget, stat_dirs folders to forget)``: cached direct
    children of dirty folders that are no longer captured, and folders stored before that
    are not listed now (the caller deletes everything below those too)."""
    result = ds.result
    dirty = set(ds.dirty)
    gone_files = [p for p in ds.cache if _parent(p) in dirty and p not in result.stats]
    listed = set(ds.walk.dirs)
    gone_dirs = [d for d in stored if d not in listed]
    return gone_files + result.vanished + result.changing, gone_dirs
