"""Read small files whole and hash (and pack) a group of them: the per-file work of a capture.

Its own module, with light imports (no service, no SQL of its own beyond one lookup), so
that a hashing *process* (:mod:`.hashproc`) runs exactly the code the capture's threads
run: the same reads, the same checks against the scan's stat, the same packs. Moved here
from :mod:`.capture` (which re-exports the names) in s21.

A group is up to :data:`~vmuser_tui.core.store.capture.GROUP_FILES` small files; the new
ones (not yet in ``blobs``) are compressed together into one pack (restic's and git's
packs), see :mod:`.objects`. Errors: OSError for a real read error (EACCES), left to the
caller to name the file; a file gone or changing is a verdict, not an error.
"""

from __future__ import annotations

import hashlib
import os
import stat as statmod
import time

from vmuser_tui.core.store import objects as obj
from vmuser_tui.core.store.scan import GONE_ERRNOS, StatInfo

GONE, CHANGING = "gone", "changing"
#: Seconds to wait before each new read of a file that changed while it was read: a file
#: rewritten in place is read again until one read sees it whole (its stat the same before
#: and after), and left out (listed in ``changing``) when none of 6 does, ~0.15 s in all.
RETRY_DELAYS = (0.0, 0.0005, 0.002, 0.008, 0.03, 0.1)
# O_NONBLOCK: a file swapped for a fifo since the scan must not block the capture on open
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


def _open(path: str) -> int | None:
    """A read-only fd on ``path`` that never follows a symlink, or None when the path is
    gone (deleted, a parent replaced by a file, or now a symlink: :data:`GONE_ERRNOS`).
    Other errors (EACCES: a real permission problem) are raised."""
    try:
        return os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        if exc.errno in GONE_ERRNOS:
            return None
        raise



def is_at(fd: int, path: str) -> bool:
    """Whether the open ``fd`` is the file at ``path`` (absolute, with no symlink in it:
    the capture builds it from the workspace's real path) reached through no symlink: the
    kernel's own name for it (``/proc/self/fd``) is ``path`` itself.

    Why (s22): ``O_NOFOLLOW`` guards only the last component. A session can swap a folder
    for a link to a host folder after the scan; a file read again because it changed
    since the scan is recorded as it is *now*, so without this a host file (a key) came
    into the checkpoint. A file deleted or renamed since it was opened fails too (its name
    changed): the caller leaves it out as vanished. ~5 us, so only reads that do not
    check the scan's stat (which a file outside cannot match: its inode and ctime differ)
    and big files pay it."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}") == path
    except OSError:
        return False


def _read_all(fd: int, hint: int) -> bytes:
    """Everything from ``fd``'s current offset to its end. Reading ``hint + 1`` bytes
    first means a file of ``hint`` bytes is read with one ``read`` call (a short read of
    a regular file is its end): 50,000 small files, 50,000 system calls saved."""
    want = hint + 1
    first = os.read(fd, want)
    if len(first) < want:
        return first
    parts = [first]
    while True:
        part = os.read(fd, 1 << 20)
        if not part:
            return b"".join(parts)
        parts.append(part)


def _settled(fd: int, exc: OSError) -> StatInfo | str:
    """Why a read of ``fd`` failed with ``exc``: :data:`GONE` when the fd is no longer a
    regular file (a folder or fifo took the file's place: EISDIR, EAGAIN); else re-raise."""
    if not statmod.S_ISREG(os.fstat(fd).st_mode):
        return GONE
    raise exc


def _read_file(path: str, expect: StatInfo) -> tuple[bytes, StatInfo | str]:
    """Read a small file whole through one fd: ``(bytes, the StatInfo they belong to)``,
    or ``(b"", GONE)`` when it vanished since the scan, ``(b"", CHANGING)`` when every
    read of :data:`RETRY_DELAYS` overlapped a change.

    A read is whole when the fd's stat after it (size, mtime, ctime, inode) equals the
    stat before it and the byte count equals the size. Before the first read the scan's
    stat ``expect`` stands in for an ``fstat`` (ctime cannot be set back, so an equal stat
    after the read means no change since the scan): one extra system call a file, and
    the common case returns ``expect`` itself. A file changed or replaced since the scan
    is read again (:func:`_read_settled`) and recorded as it is now. Never follows a
    symlink; raises OSError for other errors (EACCES)."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        if exc.errno in GONE_ERRNOS:
            return b"", GONE
        raise
    try:
        size = expect[0]
        raw = os.read(fd, size + 1)  # a short read of a regular file is its end: one call
        if len(raw) > size:
            raw += _read_all(fd, 1 << 20)
        st = os.fstat(fd)
    except OSError:
        raw, st = b"", None  # e.g. EISDIR: a folder took its place; decided below
    finally:
        os.close(fd)
    if (st is not None and len(raw) == size == st.st_size and st.st_mtime_ns == expect[1]
            and st.st_ctime_ns == expect[2] and st.st_ino == expect[3]):
        return raw, expect
    return _read_settled(path)


def _read_settled(path: str) -> tuple[bytes, StatInfo | str]:
    """Read ``path`` until one read sees it unchanged (fstat before and after), waiting
    :data:`RETRY_DELAYS` between tries: see :func:`_read_file`."""
    for delay in RETRY_DELAYS:
        if delay:
            time.sleep(delay)
        fd = _open(path)
        if fd is None:
            return b"", GONE
        try:
            st = os.fstat(fd)
            if not statmod.S_ISREG(st.st_mode) or not is_at(fd, path):  # a folder on the way swapped for a link
                return b"", GONE
            before = StatInfo.of(st)
            try:
                raw = _read_all(fd, before.size)
            except OSError as exc:
                return b"", _settled(fd, exc)
            st = os.fstat(fd)
        finally:
            os.close(fd)
        info = StatInfo.of(st)
        if info[:4] == before[:4] and len(raw) == info.size:
            return raw, info
    return b"", CHANGING



def _existing(conn, table: str, digests: list[str]) -> set[str]:
    """Which of ``digests`` are already stored in ``table`` (blobs or trees)."""
    found: set[str] = set()
    for i in range(0, len(digests), 500):
        part = digests[i : i + 500]
        marks = ",".join("?" * len(part))
        found.update(r[0] for r in conn.execute(f"SELECT hash FROM {table} WHERE hash IN ({marks})", part))
    return found


def hash_small(items: list[tuple[str, StatInfo]], level: int | None, conn
               ) -> tuple[list[str], list[int], list[StatInfo | str], tuple | None]:
    """Read and hash small files ``[(absolute path, the scan's StatInfo)]``; with ``level``,
    pack the new ones (``conn``, a SQLite connection, says which the store holds; None:
    pack them all).

    Returns ``([sha256 hex], [bytes read], [verdict], pack or None)``, one entry a file;
    a verdict is the StatInfo the bytes belong to (the scan's own object when unchanged),
    or :data:`GONE` / :data:`CHANGING`; a pack is ``(codec, raw size, stored bytes,
    [(hash, offset, size)])``. Raises OSError for other read errors (EACCES)."""
    sha256 = hashlib.sha256
    reads = [_read_file(full, expect) for full, expect in items]
    hexes = [sha256(raw).hexdigest() for raw, _ in reads]
    sizes = [len(raw) for raw, _ in reads]
    verdicts = [how for _, how in reads]
    if level is None:
        return hexes, sizes, verdicts, None
    have = _existing(conn, "blobs", hexes) if conn is not None else set()
    new = [(h, raw) for h, (raw, how) in zip(hexes, reads, strict=True) if isinstance(how, StatInfo)]
    return hexes, sizes, verdicts, pack_new(new, have, level)


def pack_new(blobs: list[tuple[str, bytes]], have: set[str], level: int) -> tuple | None:
    """One pack of the ``(sha256 hex, raw bytes)`` blobs not in ``have`` (each once; ``have``
    grows by them), compressed at zstd ``level``: ``(codec, raw size, stored bytes,
    [(hash, offset, size)])``, or None when every blob is stored already."""
    members, parts, offset = [], [], 0
    for h, raw in blobs:
        if h in have:
            continue
        have.add(h)
        members.append((h, offset, len(raw)))
        parts.append(raw)
        offset += len(raw)
    if not members:
        return None
    codec, data = obj.pack(b"".join(parts), level)
    return codec, offset, data, members
