"""Capture an engine workspace (a volume on a Docker engine) through its helper container.

The same contract as :func:`vmuser_tui.core.store.capture.capture`, over the engine's API:

1. **One exec lists** the whole tree with stats (:mod:`~vmuser_tui.core.store.engine_listing`),
   compared with the same stat cache (table ``stat_cache``, keyed by project) as a local
   capture, so only files whose stat changed are read.
2. **The changed files come back as tar streams**, one exec per batch of paths
   (``tar -c --no-recursion -- paths...``, a batch ending when its argv would pass
   :data:`ARGV_BYTES`), read straight off the connection and hashed (and packed) as they
   come, with no local copy: memory holds at most a few groups in flight (restic's and
   git's order: data first). Never one API call per file (measured: minutes for 10,000).
3. **Torn reads are caught as locally**: the same exec stats the batch again after the tar
   (to stderr); a file whose size, mtime, ctime or inode differ from the listing changed
   around its read and is read again (at most ``len(RETRY_DELAYS)`` rounds, then left out
   as ``changing``); one missing from the stream, or no longer a regular file there, is
   ``vanished``.
4. Blobs are written in batches, each its own transaction; trees, the stat-cache rows of
   removed paths and the caller's ``finalize`` in one final transaction, as locally.

Files are stored exactly as a local capture stores them (small files in packs, files over
:data:`~vmuser_tui.core.store.objects.CHUNK_THRESHOLD` as content-defined chunks plus a
``cdc`` chunk list, :mod:`~vmuser_tui.core.store.cdc`, cut from the tar member as it
streams), so the same files give the same tree hashes on every engine and locally.
Raises StoreError (listing or read failed) and VmuserError (engine unreachable).
"""

from __future__ import annotations

import hashlib
import stat as statmod
import tarfile
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future

from vmuser_tui.core.errors import StoreError
from vmuser_tui.core.store import cdc
from vmuser_tui.core.store import objects as obj
from vmuser_tui.core.store.capture import (
    BATCH_BYTES,
    GROUP_BYTES,
    GROUP_FILES,
    RETRY_DELAYS,
    CaptureResult,
    Progress,
    _CaptureLock,
    _chunk_row,
    _existing,
    load_stat_cache,
    write_objects,
)
from vmuser_tui.core.store.engine_listing import STAT_FORMAT, list_workspace, parse_stat_lines
from vmuser_tui.core.store.scan import IgnoreFn, ScanResult, StatInfo, cache_rows
from vmuser_tui.core.store.smallfiles import pack_new
from vmuser_tui.core.store.trees import Entry, TreeIndex, build, encode

#: Bytes of path arguments one tar exec gets at most (Linux allows 2 MiB of argv and
#: 128 KiB per argument; a batch stays well below).
ARGV_BYTES = 100 * 1024
# tar, then the same paths stat'ed again to stderr: the stat after the read (see step 3)
# The marker ends stderr: without it the answer was cut short (an engine under load has been
# seen to lose an exec's output), and a missing stat would read as a deleted file.
STAT_END = "@@vmuser-stat-end@@"
_TAR_SCRIPT = (f'cd /workspace || exit 3; tar -c -f - --no-recursion -- "$@"; s=$?; '
               f"stat -c '{STAT_FORMAT}' -- \"$@\" >&2; echo '{STAT_END}' >&2; exit $s")


def _batches(paths: list[str], limit: int = ARGV_BYTES) -> list[list[str]]:
    """``paths`` split so that each batch's argv stays under ``limit`` bytes."""
    out: list[list[str]] = []
    batch: list[str] = []
    size = 0
    for p in paths:
        n = len(p.encode("utf-8", "surrogateescape")) + 3
        if batch and size + n > limit:
            out.append(batch)
            batch, size = [], 0
        batch.append(p)
        size += n
    if batch:
        out.append(batch)
    return out


def _digest_group(raws: list[bytes], level: int | None, database) -> tuple[list[bytes], tuple | None]:
    """Hash small files (and, with ``level``, pack the new ones together, as
    :func:`~vmuser_tui.core.store.capture._hash_group` does): ``(digests, pack or None)``."""
    digests = [hashlib.sha256(raw).digest() for raw in raws]
    if level is None:
        return digests, None
    hexes = [d.hex() for d in digests]
    have = _existing(database.conn, "blobs", hexes)
    return digests, pack_new(list(zip(hexes, raws, strict=True)), have, level)


def _digest_chunk(raw: bytes, level: int | None, database) -> tuple[bytes, tuple | None]:
    """A chunk's digest and, with ``level``, its blob row unless the store holds it
    (:func:`~vmuser_tui.core.store.capture._chunk_row`)."""
    rows: list[tuple] = []
    digest = _chunk_row(raw, level, database, rows.append)
    return digest, rows[0] if rows else None


class _Reader:
    """Reads the pending files of a scan through tar streams and hashes them (see the
    module docstring, steps 2 and 3). ``on_batch(blobs, packs, paths)`` as in
    :func:`~vmuser_tui.core.store.capture.hash_pending`."""

    def __init__(self, ws, result: ScanResult, store: obj.ObjectStore | None, progress: Progress | None,
                 on_batch: Callable[[list[tuple], list[tuple], list[str]], None] | None) -> None:
        self.ws = ws
        self.result = result
        self.level = store.level if store is not None else None
        self.database = store.database if store is not None else None
        self.pool = store.pool() if store is not None else None
        self.workers = store.workers if store is not None else 4
        self.progress = progress
        self.on_batch = on_batch
        self.hashes: dict[str, str] = {}
        self.blobs: list[tuple] = []
        self.packs: list[tuple] = []
        self.batch_bytes = 0
        self.inflight: deque[tuple[list[tuple], Future | tuple]] = deque()
        self.files_total = len(result.pending)
        self.bytes_total = sum(result.stats[p].size for p in result.pending)
        self.files_done = self.bytes_done = 0

    # -- hashing, in the store's pool when there is one -----------------------------------
    def _submit(self, fn, *args) -> Future | tuple:
        if self.pool is None:
            return fn(*args)
        return self.pool.submit(fn, *args)

    def _settle(self, limit: int) -> None:
        while len(self.inflight) > limit:
            items, fut = self.inflight.popleft()
            out = fut.result() if isinstance(fut, Future) else fut
            if items and items[0][0] == "chunk":
                digest, row = out
                items[0][1].append(digest)
                if row is not None:
                    self._keep(row)
            else:
                digests, pack = out
                for (_, got, _), digest in zip(items, digests, strict=True):
                    got["digest"] = digest
                if pack is not None:
                    self.packs.append(pack)
                    self.batch_bytes += len(pack[2])
            if self.batch_bytes >= BATCH_BYTES:
                self.flush([])

    def _keep(self, row: tuple) -> None:
        self.blobs.append(row)
        self.batch_bytes += len(row[3])

    def flush(self, paths: list[str]) -> None:
        if (self.blobs or self.packs or paths) and self.on_batch is not None:
            self.on_batch(self.blobs, self.packs, paths)
        self.blobs, self.packs, self.batch_bytes = [], [], 0

    # -- one tar stream ----------------------------------------------------------------
    def _read_batch(self, paths: list[str]) -> tuple[dict[str, dict], dict[str, tuple[int, StatInfo]] | None]:
        """Stream ``paths`` as one tar; returns ``({path: what was read}, {path: stat after})``,
        the stats None when the answer was cut short (the batch is read again)."""
        got: dict[str, dict] = {}
        wanted = set(paths)
        group: list[tuple] = []
        group_bytes = 0
        limit = self.workers * 3

        def push_group() -> None:
            nonlocal group, group_bytes
            if group:
                self.inflight.append((group, self._submit(_digest_group, [g[2] for g in group], self.level,
                                                          self.database)))
                group, group_bytes = [], 0
                self._settle(limit)

        argv = ["sh", "-c", _TAR_SCRIPT, "sh", *(f"./{p}" for p in paths)]
        with self.ws.stream(argv) as out:
            try:
                with tarfile.open(fileobj=out, mode="r|", encoding="utf-8", errors="surrogateescape") as tar:
                    for member in tar:
                        name = member.name[2:] if member.name.startswith("./") else member.name
                        if name not in wanted or name in got:
                            continue
                        if not member.isreg():  # a folder or a link took its place: gone, as locally
                            continue
                        fobj = tar.extractfile(member)
                        assert fobj is not None
                        entry: dict = {"size": member.size, "mtime": member.mtime}
                        if member.size > obj.CHUNK_THRESHOLD:
                            push_group()
                            digests: list[bytes] = []
                            entry["chunks"] = digests
                            # the same content-defined chunks and identity as a local capture
                            chunks = cdc.Chunks(fobj)
                            for raw in chunks:
                                self.inflight.append(([("chunk", digests)], self._submit(
                                    _digest_chunk, raw, self.level, self.database)))
                                self._settle(limit)
                            if chunks.size != member.size:
                                raise tarfile.ReadError("unexpected end of data")
                            entry["hash"] = chunks.hexdigest()
                        else:
                            raw = fobj.read()
                            if len(raw) != member.size:
                                raise tarfile.ReadError("unexpected end of data")
                            group.append(("file", entry, raw))
                            group_bytes += len(raw)
                            if len(group) >= GROUP_FILES or group_bytes >= GROUP_BYTES:
                                push_group()
                        got[name] = entry
                        self._count(member.size)
            except tarfile.TarError:
                # tar died mid-stream (a file shrank while it was read): what came whole
                # stands, the file being read is read again next round
                pass
            push_group()
            self._settle(0)
        if out.exit_code == 3:
            raise StoreError(f"cannot read the workspace volume {self.ws.volume}: /workspace is missing")
        if STAT_END.encode() not in out.stderr:
            return got, None  # cut short: nothing can be said about what is missing
        return got, parse_stat_lines(bytes(out.stderr))

    def run(self) -> dict[str, str]:
        """Read every pending file; returns ``{path: hash}`` (also written into the
        result's ``flat`` and ``stats``; vanished and changing files left out)."""
        result = self.result
        todo = list(result.pending)
        for delay in RETRY_DELAYS:
            if not todo:
                break
            if delay:
                time.sleep(delay)
            again: list[str] = []
            cut = False
            for paths in _batches(todo):
                got, after = self._read_batch(paths)
                if after is None:
                    cut = True
                    again.extend(paths)
                    continue
                done: list[str] = []
                for path in paths:
                    expect = result.stats[path]
                    entry = got.get(path)
                    now = after.get(path)
                    if now is None or not statmod.S_ISREG(now[0]):  # gone, or no longer a file
                        result.leave_out(path, "gone")
                        if entry is None:
                            self._count(expect.size)
                        continue
                    if entry is None:  # the stream was cut short before it (or it was no file then)
                        result.stats[path] = now[1]
                        again.append(path)
                        continue
                    info = now[1]
                    if info[:4] != expect[:4] or entry["size"] != info.size:
                        result.stats[path] = info  # changed around its read: read it again
                        again.append(path)
                        continue
                    if "chunks" in entry:
                        file_hash = entry["hash"]
                        if self.level is not None:
                            joined = b"".join(entry["chunks"])
                            self._keep((file_hash, info.size, obj.CDC, joined))
                    else:
                        file_hash = entry["digest"].hex()
                    self.hashes[path] = file_hash
                    done.append(path)
                    e = result.flat[path]
                    result.flat[path] = Entry(e.name, e.kind, info.mode, info.size, file_hash)
                self.flush(done)
            todo = again
        if todo and cut:  # never a file left out for an answer the engine lost
            raise StoreError(f"the engine's answers about the workspace volume {self.ws.volume} were cut short "
                             f"{len(RETRY_DELAYS)} times; nothing was stored: retry (is the engine overloaded?)")
        for path in todo:
            result.leave_out(path, "changing")
        return self.hashes

    def _count(self, size: int) -> None:
        """Progress: one more file read (a file read again counts once more, within the total)."""
        self.files_done = min(self.files_done + 1, self.files_total)
        self.bytes_done += size
        if self.progress:
            self.progress(self.files_done, self.files_total, self.bytes_done, self.bytes_total)


def read_pending(ws, result: ScanResult, *, store: obj.ObjectStore | None, progress: Progress | None = None,
                 on_batch: Callable[[list[tuple], list[tuple], list[str]], None] | None = None) -> dict[str, str]:
    """Read and hash ``result.pending`` from the engine workspace ``ws``; with ``store``,
    pack the new blobs and hand them to ``on_batch``. Returns ``{path: hash}``."""
    return _Reader(ws, result, store, progress, on_batch).run()


def capture_engine(database, store: obj.ObjectStore, project_id: str, ws, *, ignore: IgnoreFn | None = None,
                   progress: Progress | None = None,
                   finalize: Callable[[object, CaptureResult], None] | None = None) -> CaptureResult:
    """Capture the engine workspace ``ws`` (an :class:`~vmuser_tui.core.runtime.engine_workspace.EngineWorkspace`)
    into ``store``; see the module docstring. ``result.hashed_files`` is the number of
    files whose bytes were read; ``finalize(conn, result)`` runs in the final transaction."""
    with _CaptureLock(database):
        counters = {"blobs": 0, "bytes": 0}
        cache = load_stat_cache(database, project_id)
        found, clock_ns = list_workspace(ws, cache, ignore)
        hashes: dict[str, str] = {}

        def write_batch(rows: list[tuple], packs: Sequence[tuple] = (), paths: Sequence[str] = ()) -> None:
            now = int(time.time())
            with database.write() as conn:
                if paths:  # the racy rule with the engine's clock: its files' mtimes come from it
                    conn.executemany(
                        "INSERT OR REPLACE INTO stat_cache(project_id, path, size, mtime_ns, ctime_ns, inode, mode, "
                        "hash) VALUES (?,?,?,?,?,?,?,?)",
                        [(project_id, *row) for row in cache_rows(found, {p: hashes[p] for p in paths}, clock_ns)])
                write_objects(conn, store, rows, packs, now, counters)

        reader = _Reader(ws, found, store, progress, write_batch)
        reader.hashes = hashes
        reader.run()
        index, trees = TreeIndex.from_flat(found.flat)
        removed = [p for p in cache if p not in found.stats]
        link_rows = [(hashlib.sha256(t).hexdigest(), len(t), obj.RAW, t) for t in found.symlinks.values()]
        result = CaptureResult(root=index.root, file_count=len(found.stats),
                               total_size=sum(s.size for s in found.stats.values()), hashed_files=len(hashes),
                               skipped=found.skipped, scan=found, vanished=found.vanished, changing=found.changing)
        with database.write() as conn:
            if link_rows:
                write_batch(link_rows)
            existing = _existing(conn, "trees", list(trees))
            for digest, entries in trees.items():
                if digest not in existing:
                    store.put_tree_encoded(digest, encode(entries))
            if removed:  # as capture does: the path, and everything below it, by key range
                conn.executemany("DELETE FROM stat_cache WHERE project_id = ? AND path = ?",
                                 [(project_id, p) for p in removed])
                conn.executemany("DELETE FROM stat_cache WHERE project_id = ? AND path >= ? AND path < ?",
                                 [(project_id, p + "/", p + "0") for p in removed])
            if finalize:
                finalize(conn, result)
        result.new_blobs = counters["blobs"]
        result.new_bytes = counters["bytes"]
        return result


def live_tree_engine(database, project_id: str, ws, *, ignore: IgnoreFn | None = None):
    """Hash the live engine workspace without storing anything (for diffs against it):
    ``(root hash, {tree hash: entries}, ScanResult)``. The stat cache is read, not updated
    (its rows promise stored blobs), as :func:`~vmuser_tui.core.store.capture.live_tree` does."""
    cache = load_stat_cache(database, project_id)
    found, _ = list_workspace(ws, cache, ignore)
    read_pending(ws, found, store=None)
    root, trees = build(found.flat)
    return root, trees, found
