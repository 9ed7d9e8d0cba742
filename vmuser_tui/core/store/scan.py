"""Walk a workspace and decide which files must be (re)hashed, using a stat cache.

The stat cache is git's index: per file ``(size, mtime_ns, ctime_ns, inode, mode,
hash)``. A file whose stat matches its cached entry is not read again. To stay correct
when a file changes within the timestamp granularity of the moment its entry was written
("racy git", git's Documentation/technical/racy-git.txt), entries for files modified
within :data:`RACY_WINDOW_NS` of that moment are stored *smudged* (size -1), so the next
scan re-hashes them.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat as statmod
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from vmuser_tui.core.pathcheck import _DRIVE_RE, is_reserved
from vmuser_tui.core.store.trees import DIR, FILE, SYMLINK, Entry

RACY_WINDOW_NS = 2_000_000_000
TMP_PREFIX = ".vmuser-tmp-"

#: errno values that mean "this path is no longer there as the scan saw it": it (or a
#: parent folder) was deleted, or replaced by a file or a symlink. A build's temp files do
#: this all the time; such a path is left out of the checkpoint, not an error.
GONE_ERRNOS = frozenset({errno.ENOENT, errno.ENOTDIR, errno.ELOOP, errno.ENXIO})

#: The longest path (bytes) the kernel takes by name: PATH_MAX (4096) less its NUL. A
#: session can make deeper trees (with relative calls); their files cannot be opened by
#: name, so a capture that met one failed whole, every time (s22). Such paths are left out
#: and named (:data:`TOO_LONG`), as names vmuser cannot store are.
MAX_NAMED_BYTES = 4095
TOO_LONG = f"path too long to read (over {MAX_NAMED_BYTES} bytes with the workspace's own path)"


def too_long(dir_bytes: int, name: str) -> bool:
    """Whether ``name`` in a folder whose absolute path takes ``dir_bytes`` bytes (with
    its '/') is past :data:`MAX_NAMED_BYTES`. One comparison for the common case (a name
    is at most 4 UTF-8 bytes a character)."""
    return dir_bytes + 4 * len(name) > MAX_NAMED_BYTES and \
        dir_bytes + len(name.encode("utf-8", "surrogateescape")) > MAX_NAMED_BYTES


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def open_listed(abs_dir: str, expect: tuple[int, int] | None) -> int:
    """A descriptor of the folder ``abs_dir`` to list (``os.scandir(fd)``; the caller
    closes it), verified to be the folder its parent's listing found: ``expect`` is that
    entry's ``(st_dev, st_ino)`` (None: the workspace itself, trusted as given).

    Why (s22): the workspace is shared with a session's container, which may swap a folder
    for a symlink to a host folder between the parent's listing and this one. A listing by
    path string follows that link (any component of the path may be the swapped one), and
    the capture then took the host's files, keys included, into the checkpoint, where a
    restore writes them back for the session to read. ``O_NOFOLLOW`` refuses a link in the
    last component (ELOOP); a folder reached through a swapped parent is another inode.
    Either way it raises ``OSError`` with an errno in :data:`GONE_ERRNOS`: the folder is
    left out as vanished, as when it was deleted."""
    fd = os.open(abs_dir, _DIR_FLAGS if expect is not None else os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    if expect is not None:
        st = os.fstat(fd)
        if (st.st_dev, st.st_ino) != expect:
            os.close(fd)
            raise OSError(errno.ENOENT, "the folder was swapped since its parent was listed", abs_dir)
    return fd


def open_below(base: str, rel: str) -> int:
    """A descriptor of the folder ``rel`` below ``base`` (trusted as given), each component
    opened from the one before with ``O_NOFOLLOW``, so no symlink on the way is followed
    (see :func:`open_listed`). Raises ``OSError`` (ELOOP, ENOTDIR, ENOENT: :data:`GONE_ERRNOS`)."""
    fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    for part in rel.split("/") if rel else ():
        try:
            sub = os.open(part, _DIR_FLAGS, dir_fd=fd)
        finally:
            os.close(fd)
        fd = sub
    return fd


IgnoreFn = Callable[[str, bool], bool]
"""``ignore(path, is_dir) -> bool``: True to leave the path (and, for a dir, everything below) out."""


class StatInfo(NamedTuple):
    """What the stat cache compares: sizes in bytes, times in ns since the epoch. A tuple
    (not a dataclass): a scan makes one per file, and it compares with a cache row as is."""

    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int
    mode: int

    @classmethod
    def of(cls, st: os.stat_result) -> StatInfo:
        return cls(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_mode & 0o777)


@dataclass
class ScanResult:
    """A workspace as found on disk.

    ``flat`` maps every path to its :class:`Entry`; files listed in ``pending`` still have
    an empty hash and must be hashed. ``stats`` holds each file's :class:`StatInfo`;
    ``cached`` the paths whose hash came from the stat cache; ``symlinks`` the raw link
    targets; ``skipped`` ``(path, reason)`` for what could not be captured; ``vanished``
    the paths that went away between being listed and being read (left out); ``changing``
    the files that changed every time they were read (left out, see capture); ``restat``
    the files read whole but with another stat than the scan saw (their ``stats`` entry
    is the stat read; a folder signature must not vouch for them, see dirscan).
    """

    flat: dict[str, Entry] = field(default_factory=dict)
    stats: dict[str, StatInfo] = field(default_factory=dict)
    pending: list[str] = field(default_factory=list)
    cached: set[str] = field(default_factory=set)
    symlinks: dict[str, bytes] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    dir_inodes: dict[str, int] = field(default_factory=dict)
    vanished: list[str] = field(default_factory=list)
    changing: list[str] = field(default_factory=list)
    restat: set[str] = field(default_factory=set)

    def leave_out(self, path: str, why: str) -> None:
        """Drop ``path`` (a file read after the scan, or a folder that could not be listed)
        from the result: it vanished or kept changing (``why``: ``"gone"`` or
        ``"changing"``). Its stat goes too, so the stat cache forgets it."""
        self.flat.pop(path, None)
        self.stats.pop(path, None)
        self.dir_inodes.pop(path, None)
        self.cached.discard(path)
        (self.vanished if why == "gone" else self.changing).append(path)

    @property
    def total_size(self) -> int:
        """Sum of file sizes in bytes."""
        return sum(s.size for s in self.stats.values())


_BAD_CHARS = re.compile(r"[\x00-\x1f\x7f\\]")


def _bad_name(name: str) -> str | None:
    """Why ``name`` (one path component found on disk) cannot be captured, or None.

    Runs once per file on every scan, so the common case (ASCII, which is always NFC and
    one byte a character) is decided by one C-level regex search.
    """
    if _BAD_CHARS.search(name):
        return "name contains a backslash or control character"
    if name.isascii():
        return "name longer than 255 bytes" if len(name) > 255 else None
    try:
        encoded = name.encode("utf-8")
    except UnicodeEncodeError:
        return "name is not valid UTF-8"
    if len(encoded) > 255:
        return "name longer than 255 bytes"
    if not unicodedata.is_normalized("NFC", name):
        return "name is not NFC-normalized"
    return None


def scan(
    workspace: Path,
    cache: dict[str, tuple],
    *,
    ignore: IgnoreFn | None = None,
    root: str = "",
    on_dir: Callable[[str, str], None] | None = None,
) -> ScanResult:
    """Walk ``workspace`` (or the sub-folder ``root`` of it) without following symlinks.

    ``cache`` maps path -> ``(size, mtime_ns, ctime_ns, inode, mode, hash)`` from the
    stat cache. Regular files, symlinks and directories are recorded; sockets, fifos and
    devices are skipped, as are names that are not valid portable paths. ``on_dir(rel,
    abs)`` is called for each directory *before* it is listed (a change monitor adds its
    watch there, so nothing that changes during the scan goes unseen). A path that
    vanishes while it is listed (deleted, or a parent replaced by a file) is left out and
    listed in ``vanished``. Raises OSError only when ``workspace`` itself (or ``root``)
    cannot be listed.
    """
    result = ScanResult()
    for _ in scan_steps(workspace, cache, result, ignore=ignore, root=root, on_dir=on_dir):
        pass
    result.pending.sort()
    return result


def scan_steps(
    workspace: Path,
    cache: dict[str, tuple],
    result: ScanResult,
    *,
    ignore: IgnoreFn | None = None,
    root: str = "",
    on_dir: Callable[[str, str], None] | None = None,
) -> Iterator[None]:
    """:func:`scan` one folder at a time, into ``result``: yields after each folder's
    entries are added, ``pending`` in the order found (not sorted). A capture hashes the
    files listed so far between two steps, on the same thread (threads for the scan and
    the hashing fought for the GIL: slower than one after the other), so its hashing
    processes start during the scan. Raises OSError as :func:`scan` does."""
    base = os.fspath(workspace)
    start = os.path.join(base, root) if root else base
    # (absolute path, relative path, (st_dev, st_ino) its parent's listing saw: None for the start)
    stack: list[tuple[str, str, tuple[int, int] | None]] = [(start, root, None)]
    while stack:
        abs_dir, rel_dir, expect = stack.pop()
        if on_dir is not None:
            on_dir(rel_dir, abs_dir)
        dir_fd = -1
        try:  # through a verified descriptor, never a path a swapped folder redirects: open_listed
            dir_fd = open_below(base, root) if expect is None else open_listed(abs_dir, expect)
            it = os.scandir(dir_fd)
        except OSError as exc:
            if dir_fd >= 0:
                os.close(dir_fd)
            if rel_dir == root:
                raise
            if exc.errno in GONE_ERRNOS:  # deleted (or swapped) since its parent was listed
                result.leave_out(rel_dir, "gone")
                continue
            result.skipped.append((rel_dir, f"cannot list: {exc.strerror}"))
            continue
        first, subdirs = len(result.pending), []
        dir_bytes = len(os.fsencode(abs_dir)) + 1
        try:
            with it:
                for de in it:
                    name = de.name
                    rel = f"{rel_dir}/{name}" if rel_dir else name
                    if too_long(dir_bytes, name):
                        result.skipped.append((rel, TOO_LONG))
                        continue
                    if (not rel_dir and is_reserved(name)) or name.startswith(TMP_PREFIX):
                        continue  # vmuser's own folder (in any spelling a filesystem folds), and temp files
                    if not rel_dir and _DRIVE_RE.match(name):
                        result.skipped.append((rel, "name starts like a Windows drive letter (c:...)"))
                        continue  # a path vmuser refuses to restore: never capture it
                    hit = cache.get(rel)
                    if hit is None:  # a cached path was checked when it was captured
                        why = _bad_name(name)
                        if why:
                            result.skipped.append((rel, why))
                            continue
                    try:
                        st = de.stat(follow_symlinks=False)
                    except OSError as exc:
                        if exc.errno in GONE_ERRNOS:
                            result.vanished.append(rel)
                        else:
                            result.skipped.append((rel, f"cannot stat: {exc.strerror}"))
                        continue
                    mode = st.st_mode
                    if statmod.S_ISDIR(mode):
                        if ignore and ignore(rel, True):
                            continue
                        result.flat[rel] = Entry(name, DIR, mode & 0o777, 0, "")
                        result.dir_inodes[rel] = st.st_ino
                        subdirs.append((f"{abs_dir}/{name}", rel, (st.st_dev, st.st_ino)))
                    elif statmod.S_ISREG(mode):
                        if ignore and ignore(rel, False):
                            continue
                        info = StatInfo(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, mode & 0o777)
                        result.stats[rel] = info
                        if hit is not None and hit[:5] == info:
                            result.flat[rel] = Entry(name, FILE, info.mode, info.size, hit[5])
                            result.cached.add(rel)
                        else:
                            result.flat[rel] = Entry(name, FILE, info.mode, info.size, "")
                            result.pending.append(rel)
                    elif statmod.S_ISLNK(mode):
                        if ignore and ignore(rel, False):
                            continue
                        try:
                            target = os.readlink(os.fsencode(name), dir_fd=dir_fd)
                        except OSError as exc:
                            if exc.errno in GONE_ERRNOS or exc.errno == errno.EINVAL:  # gone, or no longer a link
                                result.vanished.append(rel)
                            else:
                                result.skipped.append((rel, f"cannot read link: {exc.strerror}"))
                            continue
                        result.symlinks[rel] = target
                        digest = hashlib.sha256(target).hexdigest()
                        result.flat[rel] = Entry(name, SYMLINK, 0o777, len(target), digest)
                    else:
                        result.skipped.append((rel, "not a regular file, directory or symlink"))
        finally:
            os.close(dir_fd)
        # In name order, so the files are handed out in the same order every time (a
        # folder's files sorted, sub-folders visited in order), whatever order the
        # filesystem lists them in.
        result.pending[first:] = sorted(result.pending[first:])
        subdirs.sort(reverse=True)
        stack += subdirs
        yield


def cache_rows(result: ScanResult, hashes: dict[str, str], now_ns: int) -> list[tuple]:
    """Stat-cache rows ``(path, size, mtime_ns, ctime_ns, inode, mode, hash)`` for files
    hashed in this scan; racily-clean ones are smudged (size -1) so they are re-read."""
    rows = []
    for path, digest in hashes.items():
        info = result.stats[path]
        size = info.size if now_ns - info.mtime_ns > RACY_WINDOW_NS else -1
        rows.append((path, size, info.mtime_ns, info.ctime_ns, info.inode, info.mode, digest))
    return rows
