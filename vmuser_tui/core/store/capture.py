"""Capture a workspace into the store: scan, hash and compress in threads, write objects.

Pipeline (restic's order: data first, then index, then snapshot): new blobs are written
in batches, each batch its own short ``BEGIN IMMEDIATE`` transaction, so the database
lock is never held across file reads; the trees, the stat cache and the caller's
checkpoint row go in one final transaction. A crash before that leaves only unreachable
blobs, which ``gc`` removes. A row in ``capture_locks`` tells a concurrent ``gc`` which
fresh blobs it must not touch. hashlib and zstandard release the GIL, so threads scale.

Over 600 lines on purpose: the write order above (batches, the final transaction, the
lock row, files that vanish or keep changing mid-capture) is one invariant, and reading it
in one file is how it is kept; scanning (``scan.py``), the live change monitor
(``live.py``) and the object store (``objects.py``) are already modules of their own.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import stat as statmod
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from vmuser_tui.core import procs
from vmuser_tui.core.errors import StoreError
from vmuser_tui.core.gcpause import no_cyclic_gc
from vmuser_tui.core.ids import new_short_id
from vmuser_tui.core.store import cdc, dirscan, hashproc
from vmuser_tui.core.store import objects as obj
from vmuser_tui.core.store.live import LiveState
from vmuser_tui.core.store.scan import RACY_WINDOW_NS, IgnoreFn, ScanResult, StatInfo, scan, scan_steps
from vmuser_tui.core.store.smallfiles import (  # noqa: F401 - re-exported: their home was here
    CHANGING,
    GONE,
    RETRY_DELAYS,
    _existing,
    _open,
    _read_file,
    _settled,
    hash_small,
    is_at,
)
from vmuser_tui.core.store.trees import Entry, TreeIndex, build, encode, sort_key
from vmuser_tui.core.store.writeback import Writeback

if TYPE_CHECKING:  # (loaded when files are hashed: a no-change checkpoint needs neither, ~5 ms of start-up)
    from concurrent.futures import Future

BATCH_BYTES = 32 * 1024 * 1024
#: Files whose stat-cache rows a batch carries at most: small files compress ~10x, so a
#: first checkpoint of 200,000 of them is under :data:`BATCH_BYTES` in all, and flushing
#: on bytes alone held every path, hash and cache row until one final batch (the peak RSS
#: of a 200,000-file first checkpoint was ~120 MiB higher for it).
BATCH_PATHS = 4096
Progress = Callable[[int, int, int, int], None]
"""``progress(files_done, files_total, bytes_done, bytes_total)``; while the scan still
lists (a first checkpoint hashes as it lists: :func:`hash_pending`), ``bytes_total`` is 0
and ``files_total`` the files listed so far."""


class ScanError(Exception):
    """The scan that :func:`hash_pending` advances stopped with ``error`` (an OSError: the
    workspace itself cannot be listed)."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass
class CaptureResult:
    """Outcome of :func:`capture`. Sizes in bytes. ``new_bytes`` is what was stored
    (compressed) for new blobs; ``skipped`` lists ``(path, reason)``; ``vanished`` the
    paths that went away while the capture ran and ``changing`` the files that changed on
    every read: both left out of the tree and of the stat cache."""

    root: str
    file_count: int
    total_size: int
    new_blobs: int = 0
    new_bytes: int = 0
    hashed_files: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    scan: ScanResult | None = None
    vanished: list[str] = field(default_factory=list)
    changing: list[str] = field(default_factory=list)


def load_stat_cache(database, project_id: str) -> dict[str, tuple]:
    """The project's stat cache as ``{path: (size, mtime_ns, ctime_ns, inode, mode, hash)}``."""
    rows = database.conn.execute(
        "SELECT path, size, mtime_ns, ctime_ns, inode, mode, hash FROM stat_cache WHERE project_id = ?",
        (project_id,),
    )
    return {r[0]: r[1:] for r in rows}


def _read_up_to(fd: int, size: int) -> bytes:
    """At most ``size`` bytes from ``fd``'s current offset (fewer at its end)."""
    parts, left = [], size
    while left > 0:
        part = os.read(fd, min(left, 1 << 24))
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts)



def _big_file(path: str, full: str, expect: StatInfo) -> Iterator[list[tuple]]:
    """The tasks of a big file: its content-defined chunks (:mod:`.cdc`), read in order
    through one fd, one task ``[(path, full, raw, file hash or None, last, True, how)]``
    each, the last one (held back until the end is read) carrying the file's identity
    hash and the verdict ``how``: the scan's ``expect`` when the fd's stat after the read
    equals it and the byte count its size, :data:`CHANGING` when not (the caller reads
    the file again, :func:`_read_chunked`), :data:`GONE` when it vanished or is no longer
    a regular file. Raises StoreError for other read errors (EACCES), naming the file.

    Cut points depend on the bytes before them, so a file is read in order (the
    chunking is ~6 GB/s and off the GIL); its chunks are hashed and packed in the pool."""
    def one(raw: bytes, file_hash: str | None, last: bool, how: StatInfo | str) -> list[tuple]:
        return [(path, full, raw, file_hash, last, True, how)]

    try:
        fd = _open(full)
    except OSError as exc:
        raise StoreError(f"cannot read {full}: {exc.strerror}; fix its permissions or add it "
                         "to .vmuserignore") from None
    if fd is None or not is_at(fd, full):  # gone, or reached through a folder swapped for a link
        if fd is not None:
            os.close(fd)
        yield one(b"", None, True, GONE)
        return
    try:
        chunks = cdc.Chunks(io.FileIO(fd, closefd=False))
        held: bytes | None = None
        try:
            for raw in chunks:
                if held is not None:
                    yield one(held, None, False, expect)
                held = raw
            st = os.fstat(fd)
        except OSError as exc:
            gone = _settled_or_none(fd, exc)
            if gone is None:
                raise StoreError(f"cannot read {full}: {exc.strerror}; fix its permissions or add it "
                                 "to .vmuserignore") from None
            yield one(held or b"", None, True, gone)
            return
        fine = (statmod.S_ISREG(st.st_mode) and chunks.size == st.st_size == expect[0]
                and (st.st_mtime_ns, st.st_ctime_ns, st.st_ino) == tuple(expect[1:4]))
        how = expect if fine else (CHANGING if statmod.S_ISREG(st.st_mode) else GONE)
        yield one(held or b"", chunks.hexdigest(), True, how)
    finally:
        os.close(fd)


def _settled_or_none(fd: int, exc: OSError) -> str | None:
    """:func:`_settled` for a generator: :data:`GONE`, or None for a real read error."""
    try:
        return str(_settled(fd, exc))
    except OSError:
        return None


def _read_chunked(path: str, level: int | None, keep: Callable[[tuple], None],
                  database=None) -> tuple[list[bytes], str, StatInfo | str]:
    """Read a big file that changed while it was read, again, through one fd, until one
    pass sees it unchanged (:data:`RETRY_DELAYS`). Each content-defined chunk's blob row
    ``(hash, size, codec, data)`` goes to ``keep`` as it is read (with ``level``; rows of
    a pass that turns out torn are unreferenced, and gc removes them). Returns ``(chunk
    digests, file hash, StatInfo)`` or ``([], "", GONE | CHANGING)``."""
    for delay in RETRY_DELAYS:
        if delay:
            time.sleep(delay)
        fd = _open(path)
        if fd is None:
            return [], "", GONE
        try:
            st = os.fstat(fd)
            if not statmod.S_ISREG(st.st_mode) or not is_at(fd, path):  # a folder on the way swapped for a link
                return [], "", GONE
            before, digests = StatInfo.of(st)[:4], []
            # Up to HELD_BYTES a try is one plain read into memory, chunked and packed once it
            # proved whole: chunking and packing as it reads made each try ~5-10x longer, long
            # enough for a file rewritten every few ms to be torn on every try
            # (test_capture_races); bigger files stream, packed as they are read.
            try:
                if st.st_size <= HELD_BYTES:
                    data = _read_up_to(fd, st.st_size + 1)  # one byte more shows a file that grew
                    st = os.fstat(fd)
                    chunks = cdc.Chunks(io.BytesIO(data))
                    pieces = list(chunks)
                else:
                    chunks = cdc.Chunks(io.FileIO(fd, closefd=False))
                    pieces = []
                    for raw in chunks:
                        digests.append(_chunk_row(raw, level, database, keep))
                    st = os.fstat(fd)
            except OSError as exc:
                return [], "", _settled(fd, exc)
        finally:
            os.close(fd)
        info = StatInfo.of(st)
        if info[:4] == before and chunks.size == info.size:
            digests += [_chunk_row(raw, level, database, keep) for raw in pieces]
            return digests, chunks.hexdigest(), info
    return [], "", CHANGING


#: A big file read again because it changed while read is held in memory up to this many
#: bytes, so each try is a plain read (see :func:`_read_chunked`); bigger ones stream.
HELD_BYTES = 64 * 1024 * 1024


def _chunk_row(raw: bytes, level: int | None, database, keep: Callable[[tuple], None] | None = None) -> bytes:
    """sha256 of a chunk; with ``level``, its blob row ``(hash, size, codec, data)`` goes
    to ``keep`` unless the store already holds it (then no time is spent compressing it:
    after an edit of a big file most of its chunks are stored already). A blob found
    here stays: gc removes no blob while a capture runs."""
    digest = hashlib.sha256(raw).digest()
    if level is not None and keep is not None:
        hexd = digest.hex()
        if database is None or database.conn.execute("SELECT 1 FROM blobs WHERE hash = ?", (hexd,)).fetchone() is None:
            keep((hexd, len(raw), *obj.pack(raw, level)))
    return digest


def _hash_group(pieces: list[tuple], level: int | None, database) -> tuple:
    """Read and hash a group of pieces; with ``level``, also pack what is new.

    A group is either one chunk of a big file, packed on its own: ``([(digest, raw
    length, codec, stored bytes, verdict)], None)``; or up to :data:`GROUP_FILES` small
    files, whose new contents (this thread's own connection says which are new) are
    compressed together into one pack: :func:`.smallfiles.hash_small`'s ``([hex], [bytes
    read], [verdict], pack or None)``, the same a hashing process (:mod:`.hashproc`)
    gives. Small files travel in groups so that 50,000 of them are 200 hand-offs and 200
    compressor calls, not 50,000.
    """
    if pieces[0][5]:  # a chunk of a big file, read by _big_file
        raw, how = pieces[0][2], pieces[0][6]
        rows: list[tuple] = []
        digest = _chunk_row(raw, level if isinstance(how, StatInfo) else None, database, rows.append)
        return [(digest, len(raw), *(rows[0][2:] if rows else ("", b"")), how)], None
    return hash_small([(full, expect) for _, full, _, _, _, _, expect in pieces], level,
                      database.conn if level is not None else None)


GROUP_FILES = 256
GROUP_BYTES = 256 * 1024  # raw bytes of small files a group (and so a pack) holds at most


def hash_pending(
    workspace: Path,
    result: ScanResult,
    *,
    store: obj.ObjectStore | None,
    workers: int = 0,
    progress: Progress | None = None,
    on_batch: Callable[[list[tuple], list[tuple], list[str]], None] | None = None,
    pool=None,
    hashes_out: dict[str, str] | None = None,
    steps: Iterator[None] | None = None,
    before_reads: Callable[[], None] | None = None,
) -> dict[str, str]:
    """Hash the files in ``result.pending`` (and, with ``store``, pack their blobs).
    With ``steps`` (:func:`~.scan.scan_steps` filling ``result``), the scan is advanced
    here, a folder at a time, whenever the files listed so far are all handed out, so
    hashing starts during the scan; its OSError is raised as :class:`ScanError`.
    ``before_reads()`` is called once before the first file is read (not at all when none
    is: the capture's lock, see :class:`_CaptureLock`).

    Returns ``{path: hash}``; the hashes are also written into ``result.flat``. With a
    store, ``on_batch(blobs, packs, paths)`` receives blob rows ``(hash, size, codec,
    data)``, packs ``(codec, size, data, members)`` and the paths whose hashes those
    complete, to write about :data:`BATCH_BYTES` at a time.
    Memory stays bounded: at most ``3 x workers`` groups are in flight.

    A file that vanished since the scan, or changed on every read, is left out of
    ``result`` (:meth:`ScanResult.leave_out`: listed in ``vanished`` or ``changing``); one
    that changed since the scan but read whole gets the stat and size of what was read.
    Raises StoreError for other read errors (EACCES), naming the file.
    """
    level = store.level if store is not None else None
    database = store.database if store is not None else None
    workers = (store.workers if store is not None else 0) or workers or os.cpu_count() or 2
    base = os.path.realpath(workspace)  # no link in it: reads check the kernel's name of each file (is_at)
    files_total = len(result.pending)
    bytes_total = sum(result.stats[p].size for p in result.pending)  # with steps: grows as files are listed
    files_done = bytes_done = 0
    hashes: dict[str, str] = {} if hashes_out is None else hashes_out
    chunk_digests: dict[str, list[bytes]] = {}
    blobs: list[tuple] = []
    packs: list[tuple] = []
    done_paths: list[str] = []
    batch_bytes = 0

    listing = [steps is not None]  # the scan still lists: the totals are not known yet

    def advance() -> bool:
        """One more folder of the scan; False once it is done (or without steps)."""
        if steps is None:
            return False
        try:
            more = next(steps, False) is None
        except OSError as exc:
            raise ScanError(exc) from None
        listing[0] = more
        return more

    def listed():
        """Each pending path once, in order, the scan advanced as they run out."""
        pending = result.pending
        i = 0
        while True:
            if i < len(pending):
                yield pending[i]
                i += 1
            elif not advance():
                return

    def tasks():
        nonlocal bytes_total
        group, group_bytes = [], 0
        for path in listed() if steps is not None else result.pending:
            info = result.stats[path]  # what the scan saw: each read is checked against it
            size = info.size
            if steps is not None:
                bytes_total += size
            full = f"{base}/{path}"  # os.path.join costs 1 µs a file; path is relative, validated
            if size > obj.CHUNK_THRESHOLD:
                yield from _big_file(path, full, info)
            else:
                group.append((path, full, 0, size, True, False, info))
                group_bytes += size
                if len(group) >= GROUP_FILES or group_bytes >= GROUP_BYTES:
                    yield group
                    group, group_bytes = [], 0
        if group:
            yield group

    def flush():
        nonlocal blobs, packs, done_paths, batch_bytes
        if (blobs or packs or done_paths) and on_batch:
            on_batch(blobs, packs, done_paths)
        blobs, packs, done_paths, batch_bytes = [], [], [], 0

    def keep_chunk(row: tuple) -> None:
        nonlocal batch_bytes
        blobs.append(row)
        batch_bytes += len(row[3])
        if batch_bytes >= BATCH_BYTES:
            flush()

    flat, stats = result.flat, result.stats

    def record(path: str, how: StatInfo | str, file_hash: str) -> None:
        """Note a file read whole (``how``: the stat its bytes belong to) or left out."""
        if isinstance(how, StatInfo):
            # the stat the bytes belong to: the stat cache promises only what was read
            seen = stats.get(path)
            if seen is not how:  # else the common case: the scan's own object came back
                if seen != how:
                    result.restat.add(path)
                stats[path] = how
            hashes[path] = file_hash
            done_paths.append(path)
            e = flat[path]
            # how.size == the bytes read; this int is the stat's own, not one more a file
            flat[path] = Entry(e.name, e.kind, how.mode, how.size, file_hash)
        else:  # vanished, or changed on every read: not in this checkpoint
            result.leave_out(path, how)

    def chunk(task: tuple, digest: bytes, raw_len: int, codec: str, data: bytes, how: StatInfo | str) -> bool:
        """Note one chunk of a big file; True when it was the file's last."""
        nonlocal batch_bytes
        path, full, _, whole_hash, last, _, _ = task
        if codec:  # a new chunk (one the store holds already comes back unpacked)
            blobs.append((digest.hex(), raw_len, codec, data))
            batch_bytes += len(data)
        chunk_digests.setdefault(path, []).append(digest)
        if not last:
            return False
        digests = chunk_digests.pop(path)
        file_hash = whole_hash or ""
        if how == CHANGING:  # changed while it was read: read it again, through one fd
            digests, file_hash, how = _read_chunked(full, level, keep_chunk, database)
        if isinstance(how, StatInfo) and store is not None:
            joined = b"".join(digests)
            blobs.append((file_hash, how.size, obj.CDC, joined))
            batch_bytes += len(joined)
        record(path, how, file_hash)
        return True

    it = tasks()
    while len(result.pending) < hashproc.MIN_FILES and advance():
        pass  # enough listed to say whether hashing processes pay off (or the scan is done)
    if steps is not None and len(result.pending) < hashproc.MIN_FILES:  # the scan is done: as scan() gives it
        listing[0] = False
        result.pending.sort()
        bytes_total = sum(result.stats[p].size for p in result.pending)
        steps = None
    if not result.pending and steps is None:
        return hashes  # nothing to read (a no-change checkpoint): no thread pool, no processes
    if before_reads is not None:
        before_reads()
    own_pool = None
    if pool is None and store is not None:
        pool = store.pool()
    if pool is None:
        from concurrent.futures import ThreadPoolExecutor

        pool = own_pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vmuser-hash")
    inflight: deque[tuple[list, Future]] = deque()
    procs = _start_procs(len(result.pending), workers, database, level)
    # Groups in flight: with processes, enough for each to go on while this thread waits
    # for a batch's write (writeback.submit waits for the one before: ~20-50 ms).
    depth = workers * 3 if procs is None else len(procs.children) * hashproc.QUEUED_GROUPS

    def fill():
        while len(inflight) < depth:
            group = next(it, None)
            if group is None:
                return
            if procs is not None and not group[0][5]:  # small files: a hashing process (its own GIL)
                inflight.append((group, procs.submit(group)))
            else:
                inflight.append((group, pool.submit(_hash_group, group, level, database)))

    failed = True
    try:
        fill()
        while inflight:
            group, fut = inflight.popleft()
            try:
                done = fut.result()
            except OSError as exc:
                where = exc.filename or group[0][1]
                raise StoreError(f"cannot read {where}: {exc.strerror}; fix its permissions or add it "
                                 "to .vmuserignore") from None
            fill()
            if not group[0][5]:  # small files: ([hex], [bytes read], [verdict], pack), in threads or processes
                hexes, sizes, verdicts, pack = done
                if pack is not None:
                    packs.append(pack)
                    batch_bytes += len(pack[2])
                for task, file_hash, how in zip(group, hexes, verdicts, strict=True):
                    path = task[0]
                    if how is None or how is task[6]:  # read with the very stat the scan saw: the common case
                        how = task[6]
                        hashes[path] = file_hash
                        done_paths.append(path)
                        e = flat[path]
                        flat[path] = Entry(e.name, e.kind, how.mode, how.size, file_hash)
                    else:
                        record(path, how, file_hash)
                files_done += len(group)
                bytes_done += sum(sizes)
            else:
                (chunk_row,), _ = done
                task, (digest, raw_len, codec, data, how) = group[0], chunk_row
                bytes_done += raw_len
                if chunk(task, digest, raw_len, codec, data, how):
                    files_done += 1
            if progress:  # once a group, not a file: a terminal's progress bar costs ~5 µs a call
                # While the scan still lists, the byte total is not known: 0 (a bar without an
                # end), not one that grows and keeps the bar nearly full; files: listed so far.
                progress(files_done, max(files_total, len(result.pending)), bytes_done,
                         0 if listing[0] else bytes_total)
            if batch_bytes >= BATCH_BYTES or len(done_paths) >= BATCH_PATHS:
                flush()
        flush()
        failed = False
    finally:
        for _, fut in inflight:
            fut.cancel()
        if procs is not None:
            procs.close(kill=failed)
        if own_pool is not None:
            own_pool.shutdown(wait=True)
    return hashes




#: Files a batch carries from which its write gets a bigger SQLite page cache
#: (:func:`_page_cache`), and that cache in KiB.
BIG_BATCH_FILES = 1024
WRITE_CACHE_KIB = 16 * 1024


@contextlib.contextmanager
def _page_cache(conn, big: bool) -> Iterator[None]:
    """With ``big``, give ``conn`` a :data:`WRITE_CACHE_KIB` page cache for one batch's
    write, then its own size back (SQLite frees the pages beyond it). A batch inserts
    ~4,000 blob rows at random places of the ``blobs`` key index (sha256 keys): with
    SQLite's default 2 MiB cache the index pages are evicted and read again and again
    once the store holds ~100,000 blobs (measured: 200,000 rows, 0.97 s -> 0.63 s of the
    writer's time, the bottleneck of a 200,000-file first checkpoint). Per batch, not
    per connection: the pool's connections live on in a long-running process."""
    if not big:
        yield
        return
    before = conn.execute("PRAGMA cache_size").fetchone()[0]
    conn.execute(f"PRAGMA cache_size = {-WRITE_CACHE_KIB}")
    try:
        yield
    finally:
        conn.execute(f"PRAGMA cache_size = {int(before)}")


def _start_procs(pending: int, workers: int, database, level: int | None) -> hashproc.HashProcs | None:
    """Hashing processes for ``pending`` files, one a core up to ``workers``, or None
    (threads then) for fewer than :data:`.hashproc.MIN_FILES` files or a single core."""
    count = min(workers, os.cpu_count() or 1)
    if pending < hashproc.MIN_FILES or count < 2:
        return None
    return hashproc.start(count, getattr(database, "path", None), level)


def write_objects(conn, store: obj.ObjectStore, rows: Sequence[tuple], packs: Sequence[tuple], now: int,
                  counters: dict[str, int]) -> None:
    """Insert a batch's blob rows ``(hash, size, codec, data)`` not stored yet and its packs
    ``(codec, size, data, members)`` inside the caller's write transaction; ``counters``
    ``{"blobs", "bytes"}`` grow by what was stored (bytes as stored, compressed). Used by
    the local and the engine capture alike, so both store exactly the same way."""
    have = _existing(conn, "blobs", [r[0] for r in rows])
    fresh = {}
    for h, size, codec, data in rows:
        if h not in have and h not in fresh:
            fresh[h] = (h, size, len(data), codec, data, now)
    conn.executemany("INSERT OR IGNORE INTO blobs(hash, size, stored_size, codec, data, created_at) "
                     "VALUES (?,?,?,?,?,?)", list(fresh.values()))
    counters["blobs"] += len(fresh)
    counters["bytes"] += sum(r[2] for r in fresh.values())
    # The hashing thread already left out what was stored when it packed; a member stored
    # since (another capture) is ignored on insert, and a pack none of whose members went in
    # is dropped. Not looking each member up again here saves 50,000 index lookups on a
    # first checkpoint of 50,000 files.
    for codec, size, data, members in packs:
        before = conn.total_changes
        pack_id = store.put_pack(conn, codec, size, data, members, now)
        added = conn.total_changes - before - 1
        if added <= 0:
            conn.execute("DELETE FROM packs WHERE id = ?", (pack_id,))
            continue
        counters["blobs"] += added
        counters["bytes"] += len(data)


class _CaptureLock:
    """A row in ``capture_locks`` while a capture runs, so ``gc`` spares its fresh blobs
    and removes no blob at all (see :mod:`.gc`).

    ``lazy``: the row is written by :meth:`take`, which :func:`hash_pending` calls before
    the capture first reads a file, that is before it can decide that a blob is already
    stored. A standalone capture that reads nothing (no change: every hash comes from the
    stat cache or a folder signature's tree, both gc roots) then writes nothing at all, and
    SQLite's last connection has no WAL frames to checkpoint, with an fsync, when it closes
    (~10 ms of a no-change `vmuser checkpoint create`, issue 15)."""

    def __init__(self, database, *, lazy: bool = False):
        self.database = database
        self.id = new_short_id(12)
        self.lazy = lazy
        self.taken = False

    def take(self) -> None:
        """Write the row (once)."""
        if self.taken:
            return
        with self.database.write() as conn:
            conn.execute(
                "INSERT INTO capture_locks(id, pid, host, started_at) VALUES (?,?,?,?)",
                (self.id, os.getpid(), procs.hostname(), int(time.time())),
            )
        self.taken = True

    def __enter__(self):
        if not self.lazy:
            self.take()
        return self

    def __exit__(self, *exc):
        if not self.taken:
            return
        try:
            with self.database.write() as conn:
                conn.execute("DELETE FROM capture_locks WHERE id = ?", (self.id,))
        except StoreError:
            pass  # a stale lock row is expired by gc; never mask the real error


def capture(
    database,
    store: obj.ObjectStore,
    project_id: str,
    workspace: Path,
    *,
    ignore: IgnoreFn | None = None,
    workers: int = 0,
    progress: Progress | None = None,
    finalize: Callable[[object, CaptureResult], None] | None = None,
    state: LiveState | None = None,
    rules_key: str | None = None,
) -> CaptureResult:
    """Capture ``workspace`` into ``store`` and return its root tree.

    With ``state`` (a :class:`~vmuser_tui.core.store.live.LiveState` kept by the caller
    across captures), only what the change monitor reports is stat'ed and hashed; without
    it, or when the state cannot vouch, the whole workspace is scanned (with the stat
    cache). Without ``state`` but with ``rules_key`` (the ignore rules' cache key), the
    scan skips unchanged folders whole (:mod:`.dirscan`: per-folder signatures, stored
    trees reused). ``finalize(conn, result)`` runs inside the final write transaction, after the
    trees and the stat cache are written, so a checkpoint row the caller inserts there
    commits atomically with them. A file that vanishes, or keeps changing, while it is
    captured is left out (``vanished``, ``changing``), never an error. Raises
    :class:`StoreError` for unreadable files (EACCES) and database errors; OSError (e.g.
    workspace missing) is turned into StoreError too.
    """
    # A capture makes a few objects per file and no cycles: with the cyclic collector on, its
    # full passes re-traverse them all again and again (~15% of a 200,000-file first checkpoint)
    with no_cyclic_gc():
        return _capture_with(database, store, project_id, workspace, state, ignore, workers, progress, finalize,
                             rules_key)


def _capture_with(database, store, project_id, workspace, state, ignore, workers, progress, finalize,
                  rules_key) -> CaptureResult:
    """:func:`capture` (see there), with the cyclic collector paused."""
    if state is None:
        if rules_key is not None:
            try:
                return _capture(database, store, project_id, workspace, None, ignore, workers, progress, finalize,
                                rules_key)
            except dirscan.StaleSignatures:
                with database.write() as conn:  # a reused tree is gone: forget them all, scan afresh
                    conn.execute("DELETE FROM stat_dirs WHERE project_id = ?", (project_id,))
        return _capture(database, store, project_id, workspace, None, ignore, workers, progress, finalize)
    with state.lock:
        try:
            return _capture(database, store, project_id, workspace, state, ignore, workers, progress, finalize)
        except BaseException:
            state.invalidate()  # half-applied changes: rebuild from a full scan next time
            raise


def _capture(database, store, project_id, workspace, state, ignore, workers, progress, finalize,
             rules_key: str | None = None) -> CaptureResult:
    # (a live state's index vouches for hashes outside the gc roots: its lock is taken at once)
    with _CaptureLock(database, lazy=state is None) as lock:
        counters = {"blobs": 0, "bytes": 0, "hashed": 0}

        def cache_params(paths: Sequence[str]) -> list[tuple]:
            """Stat-cache rows of ``paths`` (on the capture's thread: the scan result and
            the hashes are its own), and the hashes no longer needed forgotten. The rows
            of :func:`~.scan.cache_rows`, built in one pass (it was ~4 µs a file in three)."""
            stats, hashes = current[0].stats, current[1]
            take = hashes.pop if state is None else hashes.__getitem__  # only the live index keeps every hash
            racy = time.time_ns() - RACY_WINDOW_NS  # modified after this: smudged (size -1), re-read next time
            counters["hashed"] += len(paths)
            return [(project_id, p, st.size if st.mtime_ns < racy else -1, st.mtime_ns, st.ctime_ns, st.inode,
                     st.mode, take(p)) for p in paths for st in (stats[p],)]

        def write_batch(rows: list[tuple], packs: Sequence[tuple] = (), paths: Sequence[str] = ()) -> None:
            write_rows(rows, packs, cache_params(paths) if paths else [])

        def write_later(rows: list[tuple], packs: Sequence[tuple], paths: Sequence[str]) -> None:
            writeback.submit(write_rows, rows, packs, cache_params(paths) if paths else [],
                             size=sum(len(r[3]) for r in rows) + sum(len(p[2]) for p in packs))

        def write_rows(rows: list[tuple], packs: Sequence[tuple], cache_rows_: list[tuple]) -> None:
            now = int(time.time())
            with database.write() as conn, _page_cache(conn, len(cache_rows_) >= BIG_BATCH_FILES):
                # Stat-cache rows go with the blobs they promise, batch by batch, so the
                # writes overlap hashing instead of piling up at the end.
                if cache_rows_:
                    conn.executemany(
                        "INSERT OR REPLACE INTO stat_cache(project_id, path, size, mtime_ns, ctime_ns, inode, mode, "
                        "hash) VALUES (?,?,?,?,?,?,?,?)",
                        cache_rows_,
                    )
                write_objects(conn, store, rows, packs, now, counters)

        writeback = Writeback(store.pool)  # made on the first write: none for no change
        changed = state.changed() if state is not None else None
        removed: list[str] = []
        current: list = [None, None]  # (scan result, hashes) being written, for write_batch
        fast: dirscan.Built | None = None
        gone_dirs: list[str] = []
        try:
            if rules_key is not None:
                try:
                    walked = dirscan.walk(workspace, ignore)
                except OSError as exc:
                    raise _unreadable(workspace, exc) from None
                stored = dirscan.load_signatures(database.conn, project_id, rules_key)
                ds = dirscan.scan_dirty(database.conn, project_id, workspace, walked, stored, ignore, stepwise=True)
                found = ds.result
                current[:] = [found, {}]
                try:  # the dirty folders are listed inside hash_pending, hashed as they are
                    hashes = hash_pending(workspace, found, store=store, workers=workers, progress=progress,
                                          on_batch=write_later, hashes_out=current[1], steps=ds.steps,
                                          before_reads=lock.take)
                except ScanError as exc:
                    raise _unreadable(workspace, exc.error) from None
                fast = dirscan.build(ds, time.time_ns(), project_id, rules_key)
                removed, gone_dirs = dirscan.removed_paths(ds, stored)
                removed += gone_dirs
                trees, delta, stats = fast.trees, found, found.stats
            elif changed is None:
                cache = load_stat_cache(database, project_id)
                on_dir = state.start_full_scan() if state is not None else None
                found = ScanResult()
                current[:] = [found, {}]
                try:  # the scan advances inside hash_pending: its processes hash what is listed meanwhile
                    hashes = hash_pending(workspace, found, store=store, workers=workers, progress=progress,
                                          on_batch=write_later, hashes_out=current[1],
                                          steps=scan_steps(workspace, cache, found, ignore=ignore, on_dir=on_dir),
                                          before_reads=lock.take)
                except ScanError as exc:
                    raise _unreadable(workspace, exc.error) from None
                index, trees = TreeIndex.from_flat(found.flat)
                if state is not None:
                    state.adopt(found, index)
                removed = [p for p in cache if p not in found.stats]
                delta, stats = found, found.stats
            else:
                delta, dirty, removed = state.apply(changed, ignore)
                current[:] = [delta, {}]
                hashes = hash_pending(workspace, delta, store=store, workers=workers, progress=progress,
                                      on_batch=write_later, hashes_out=current[1])
                trees = state.finish(delta, hashes, dirty)
                removed = removed + delta.vanished + delta.changing  # the stat cache forgets them
                index, found, stats = state.index, None, state.stats
        except BaseException:
            with contextlib.suppress(Exception):
                writeback.wait()  # no write may still run once the capture has failed
            raise
        writeback.wait()  # every batch committed (its errors raised) before the final transaction
        # symlink targets are blobs too (git stores them the same way)
        link_rows = [(delta.flat[p].hash if p in delta.flat else hashlib.sha256(t).hexdigest(), len(t), obj.RAW, t)
                     for p, t in delta.symlinks.items()]
        result = CaptureResult(
            root=fast.root if fast is not None else index.root,
            file_count=fast.files if fast is not None else len(stats),
            total_size=fast.size if fast is not None else sum(s.size for s in stats.values()),
            hashed_files=counters["hashed"],
            skipped=delta.skipped,
            scan=found,
            vanished=delta.vanished,
            changing=delta.changing,
        )
        with database.write() as conn:
            if link_rows:
                write_batch(link_rows)
            wanted: dict[str, list[Entry] | None] = dict(trees)  # None: entries rebuilt from the index
            if state is not None and changed is not None:
                # Unchanged directories' trees were stored by earlier captures, unless gc
                # has since pruned them: make sure every tree of the index is present.
                for digest in index.hashes.values():
                    wanted.setdefault(digest, None)
            existing = _existing(conn, "trees", list(wanted) + (fast.reused_trees if fast is not None else []))
            if fast is not None and any(t not in existing for t in fast.reused_trees):
                raise dirscan.StaleSignatures  # rolls the final transaction back; capture() scans afresh
            for digest, entries in wanted.items():
                if digest not in existing:
                    if entries is None:
                        entries = _entries_for(index, digest)
                    store.put_tree_encoded(digest, encode(entries))
            if removed:
                # p itself, and "below p" as a key range ('/' + 1 is '0'): two statements the
                # primary key answers. One with LIKE (or with OR) scanned the project's whole
                # cache per path: 1.6 s for 2,400 removals in an 8,000-file workspace.
                conn.executemany("DELETE FROM stat_cache WHERE project_id = ? AND path = ?",
                                 [(project_id, p) for p in removed])
                conn.executemany("DELETE FROM stat_cache WHERE project_id = ? AND path >= ? AND path < ?",
                                 [(project_id, p + "/", p + "0") for p in removed])
            if fast is not None:
                _write_signatures(conn, project_id, fast, gone_dirs, stored)
            if finalize:
                finalize(conn, result)
        result.new_blobs = counters["blobs"]
        result.new_bytes = counters["bytes"]
        return result


def _unreadable(workspace: Path, exc: OSError) -> StoreError:
    return StoreError(f"cannot read workspace {workspace}: {exc.strerror}; does it still exist?")


def _write_signatures(conn, project_id: str, fast: dirscan.Built, gone_dirs: list[str],
                      stored: dict[str, dirscan.Stored]) -> None:
    """Store the dirty folders' signature rows and forget folders no longer listed (and
    what was below them), in the capture's final transaction (see :mod:`.dirscan`). A row
    equal to the one stored is not written again: a folder changed within the racy window
    stays unsigned, and a no-change checkpoint then writes nothing (no WAL to checkpoint)."""
    if gone_dirs:
        conn.executemany("DELETE FROM stat_dirs WHERE project_id = ? AND path = ?",
                         [(project_id, d) for d in gone_dirs])
        conn.executemany("DELETE FROM stat_dirs WHERE project_id = ? AND path >= ? AND path < ?",
                         [(project_id, d + "/", d + "0") for d in gone_dirs if d])
    rows = [r for r in fast.rows if stored.get(r[1]) != dirscan.Stored(r[3], r[4], r[5], r[6])]
    conn.executemany("INSERT OR REPLACE INTO stat_dirs(project_id, path, rules_key, sig, tree, files, bytes) "
                     "VALUES (?,?,?,?,?,?,?)", rows)


def _entries_for(index: TreeIndex, digest: str) -> list[Entry]:
    """The sorted entries of the indexed directory whose tree hash is ``digest``."""
    for path, h in index.hashes.items():
        if h == digest:
            return sorted(index.children[path].values(), key=lambda e: sort_key(e.name))
    raise StoreError(f"tree {digest[:12]} is not in the workspace index")


def live_tree(database, project_id: str, workspace: Path, *, ignore: IgnoreFn | None = None, workers: int = 0,
              pool=None):
    """Hash the live workspace without storing anything (for diffs against it).

    Returns ``(root hash, {tree hash: entries}, ScanResult)``. The stat cache is read but
    not updated: its entries promise that the blob is stored, which is not true here.
    """
    cache = load_stat_cache(database, project_id)
    try:
        found = scan(workspace, cache, ignore=ignore)
    except OSError as exc:
        raise StoreError(f"cannot read workspace {workspace}: {exc.strerror}; does it still exist?") from None
    hash_pending(workspace, found, store=None, workers=workers, pool=pool)
    root, trees = build(found.flat)
    return root, trees, found
