"""The object tables: blobs (file content) and trees, addressed by sha256.

Blobs are stored once however many checkpoints use them, zstd-compressed when that
saves space (``codec`` zstd, else raw). Files larger than :data:`CHUNK_THRESHOLD` are
split into chunks, each its own blob, and the file's blob holds the concatenated 32-byte
chunk digests, so an edit of a big file stores only the chunks that changed (restic
stores a file as a list of blobs too). Two kinds of chunk list:

- codec ``cdc`` (since issue 15): content-defined chunks (:mod:`.cdc`), so an insert
  near the start of a big file re-stores one or two chunks, not all after it;
- codec ``chunks`` (earlier versions, still read): fixed :data:`CHUNK_SIZE` chunks.

Either way a big file's hash is ``sha256(b"chunks\\0" + the sha256 of each 1 MiB
piece)`` (:func:`chunked_hash` of the fixed pieces, :func:`.cdc.file_hash`), whatever
its chunks: for a ``chunks`` list that is the hash of the list itself, for a ``cdc``
list it is checked against the content read. A plain file's hash is the sha256 of its
bytes. Small files are stored in packs: several files' bytes compressed
together as one zstd frame (a ``packs`` row), each blob row pointing at its offset
(codec ``packed``), as restic and git do; reading one decompresses its pack once.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from typing import TYPE_CHECKING

import zstandard

from vmuser_tui.core.errors import StoreError
from vmuser_tui.core.store.cdc import FileHasher
from vmuser_tui.core.store.trees import Entry, decode, encode, tree_hash

if TYPE_CHECKING:  # pragma: no cover - imported when the first capture needs the pool
    from concurrent.futures import ThreadPoolExecutor

CHUNK_SIZE = 1024 * 1024
CHUNK_THRESHOLD = 4 * CHUNK_SIZE
RAW, ZSTD, CHUNKS, PACKED, CDC = "raw", "zstd", "chunks", "packed", "cdc"
LISTS = (CHUNKS, CDC)  # codecs whose data is a list of chunk digests
LISTS_SQL = "('chunks', 'cdc')"  # the same, for ``codec IN ...`` in SQL
PACK_CACHE = 16  # decompressed packs kept (each at most PACK_BYTES)
HASH_MISMATCH = "content does not match its hash"

_local = threading.local()


def _compressor(level: int) -> zstandard.ZstdCompressor:
    """One compressor per thread and level (ZstdCompressor is not thread-safe)."""
    cache = getattr(_local, "compressors", None)
    if cache is None:
        cache = _local.compressors = {}
    if level not in cache:
        cache[level] = zstandard.ZstdCompressor(level=level)
    return cache[level]


def _decompressor() -> zstandard.ZstdDecompressor:
    d = getattr(_local, "decompressor", None)
    if d is None:
        d = _local.decompressor = zstandard.ZstdDecompressor()
    return d


def pack(raw: bytes, level: int) -> tuple[str, bytes]:
    """Compress ``raw`` for storage: ``(codec, stored bytes)``; raw when zstd does not help."""
    if len(raw) < 64:
        return RAW, raw
    packed = _compressor(level).compress(raw)
    if len(packed) >= len(raw):
        return RAW, raw
    return ZSTD, packed


def unpack(codec: str, data: bytes, size: int) -> bytes:
    """Inverse of :func:`pack`. Raises :class:`StoreError` for an unknown codec."""
    if codec == RAW:
        return bytes(data)
    if codec == ZSTD:
        return _decompressor().decompress(data, max_output_size=size)
    raise StoreError(f"unknown blob codec {codec!r}; the database may be from a newer vmuser")


def chunked_hash(digests: list[bytes]) -> str:
    """The content hash of a chunked file from its chunk digests (raw 32 bytes each)."""
    return hashlib.sha256(b"chunks\0" + b"".join(digests)).hexdigest()


def _damaged(digest: str, why: str) -> str:
    return f"blob {digest[:12]} is damaged ({why}); run 'vmuser check' to see what it affects"


class ObjectStore:
    """Read and write blobs and trees through a :class:`vmuser_tui.core.db.Database`.

    Writers call the ``put_*`` methods inside ``db.write()`` transactions; ``INSERT OR
    IGNORE`` makes writing an object that exists a no-op (content addressing).
    """

    TREE_CACHE = 8192  # decoded trees kept in memory (they are immutable: caching is always safe)

    def __init__(self, database, level: int = 3, workers: int = 0):
        self.database = database
        self.level = level
        self.workers = workers or os.cpu_count() or 2
        self._trees: OrderedDict[str, list[Entry]] = OrderedDict()
        self._packs: OrderedDict[int, bytes] = OrderedDict()
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def pool(self) -> ThreadPoolExecutor:
        """The hashing thread pool, kept for the store's life so that its threads (and the
        SQLite connection each one opens) are reused, not made anew per capture."""
        with self._pool_lock:
            if self._pool is None:
                from concurrent.futures import ThreadPoolExecutor

                self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="vmuser-hash")
            return self._pool

    def close(self) -> None:
        """Stop the hashing threads."""
        with self._pool_lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None

    @property
    def conn(self):
        return self.database.conn

    # -- blobs ---------------------------------------------------------------
    def put_blob_packed(self, digest: str, size: int, codec: str, data: bytes) -> None:
        """Store an already packed blob (from :func:`pack`) unless it exists."""
        self.conn.execute(
            "INSERT OR IGNORE INTO blobs(hash, size, stored_size, codec, data, created_at) VALUES (?,?,?,?,?,?)",
            (digest, size, len(data), codec, data, int(time.time())),
        )

    def put_blob(self, raw: bytes) -> str:
        """Store ``raw`` as one blob (no chunking); returns its sha256 hex."""
        digest = hashlib.sha256(raw).hexdigest()
        codec, data = pack(raw, self.level)
        self.put_blob_packed(digest, len(raw), codec, data)
        return digest

    def has_blob(self, digest: str) -> bool:
        """True when a blob with this hash is stored."""
        return self.conn.execute("SELECT 1 FROM blobs WHERE hash = ?", (digest,)).fetchone() is not None

    def _row(self, digest: str) -> tuple[str, int, bytes]:
        row = self.conn.execute(
            "SELECT codec, size, data, pack_id, pack_offset FROM blobs WHERE hash = ?", (digest,)
        ).fetchone()
        if row is None:
            raise StoreError(f"blob {digest[:12]} is missing from the store; run 'vmuser check'")
        if row[0] == PACKED:
            data = self._pack(row[3])
            return RAW, row[1], data[row[4] : row[4] + row[1]]
        return row[0], row[1], row[2]

    def _pack(self, pack_id: int) -> bytes:
        """The decompressed bytes of a pack (cached: neighbours are often read together)."""
        data = self._packs.get(pack_id)
        if data is not None:
            self._packs.move_to_end(pack_id)
            return data
        row = self.conn.execute("SELECT codec, size, data FROM packs WHERE id = ?", (pack_id,)).fetchone()
        if row is None:
            raise StoreError(f"pack {pack_id} is missing from the store; run 'vmuser check'")
        try:
            data = unpack(row[0], row[2], row[1])
        except zstandard.ZstdError as exc:
            raise StoreError(f"pack {pack_id} is damaged ({exc}); run 'vmuser check'") from None
        self._packs[pack_id] = data
        if len(self._packs) > PACK_CACHE:
            self._packs.popitem(last=False)
        return data

    def forget_cached_packs(self) -> None:
        """Drop decompressed packs from memory (gc removed some; ids may be reused)."""
        self._packs.clear()

    def put_pack(self, conn, codec: str, size: int, data: bytes, members: list[tuple[str, int, int]], now: int) -> int:
        """Store a pack and its member blobs ``[(hash, offset, size)]`` (inside the caller's
        write transaction); returns the pack id. Members already stored are left as they are."""
        cur = conn.execute("INSERT INTO packs(codec, size, data, created_at) VALUES (?,?,?,?)",
                           (codec, size, data, now))
        pack_id = cur.lastrowid
        conn.executemany(
            "INSERT OR IGNORE INTO blobs(hash, size, stored_size, codec, data, created_at, pack_id, pack_offset) "
            "VALUES (?,?,0,?,x'',?,?,?)",
            [(h, n, PACKED, now, pack_id, off) for h, off, n in members],
        )
        return pack_id

    def iter_blob(self, digest: str, *, verify: bool = True) -> Iterator[bytes]:
        """Yield the content of a blob in pieces (a chunked file chunk by chunk, so memory
        stays bounded).

        With ``verify`` (the default) every piece is checked against its hash before it is
        yielded: a plain blob's bytes against ``digest``, a chunked file's chunk list against
        ``digest`` and each chunk against its own digest, so a caller never sees a damaged
        byte, even one that stops after the first piece (git's and restic's habit of
        checking content on every read). Raises :class:`StoreError` naming the blob when it
        is missing or damaged; ``vmuser check`` reads with ``verify=False`` to give its own
        verdict.
        """
        codec, size, data = self._row(digest)
        if codec in LISTS:
            digests = [bytes(data[i : i + 32]) for i in range(0, len(data), 32)]
            if verify and (len(data) % 32 or (codec == CHUNKS and chunked_hash(digests) != digest)):
                raise StoreError(_damaged(digest, "its chunk list does not match its hash"))
            # A cdc list is bound to its hash through the content: checked once all is read
            # (each chunk is checked on its own before it is yielded, so no damaged byte
            # is ever seen; a reader that stops early has seen only checked chunks).
            whole = FileHasher() if verify and codec == CDC else None
            last: tuple[bytes, bytes] | None = None  # a run of equal chunks (zeros) is checked once
            for raw in digests:
                if last is not None and last[0] == raw:
                    piece = last[1]
                else:
                    c_codec, c_size, c_data = self._row(raw.hex())
                    piece = self._unpack(raw.hex(), c_codec, c_data, c_size)
                    if verify and hashlib.sha256(piece).digest() != raw:
                        raise StoreError(_damaged(digest, f"chunk {raw.hex()[:12]}: {HASH_MISMATCH}"))
                    last = (raw, piece)
                if whole is not None:
                    whole.update(piece)
                yield piece
            if whole is not None and (whole.hexdigest() != digest or whole.size != size):
                raise StoreError(_damaged(digest, "its chunks do not add up to its content hash"))
        else:
            piece = self._unpack(digest, codec, data, size)
            if verify and hashlib.sha256(piece).hexdigest() != digest:
                raise StoreError(_damaged(digest, HASH_MISMATCH))
            yield piece

    @staticmethod
    def _unpack(digest: str, codec: str, data: bytes, size: int) -> bytes:
        """:func:`unpack`, with a damaged zstd frame reported as a :class:`StoreError`."""
        try:
            return unpack(codec, data, size)
        except zstandard.ZstdError as exc:
            raise StoreError(_damaged(digest, f"cannot decompress: {exc}")) from None

    def read_blob(self, digest: str, limit: int | None = None) -> bytes:
        """The content of a blob, verified (see :meth:`iter_blob`); with ``limit``, at most
        that many bytes (for previews: only the pieces read are verified, so a preview of
        a big chunked file stays cheap). Raises :class:`StoreError` when missing or damaged."""
        out = bytearray()
        for piece in self.iter_blob(digest):
            out += piece
            if limit is not None and len(out) >= limit:
                return bytes(out[:limit])
        return bytes(out)

    def blob_size(self, digest: str) -> int:
        """Raw size in bytes of a stored blob."""
        row = self.conn.execute("SELECT size FROM blobs WHERE hash = ?", (digest,)).fetchone()
        if row is None:
            raise StoreError(f"blob {digest[:12]} is missing from the store; run 'vmuser check'")
        return row[0]

    # -- trees ---------------------------------------------------------------
    def put_tree(self, entries: list[Entry]) -> str:
        """Store a tree (entries sorted by name) unless it exists; returns its hash."""
        digest, data = tree_hash(entries)
        self.put_tree_encoded(digest, data)
        return digest

    def put_tree_encoded(self, digest: str, data: bytes) -> None:
        """Store a tree's canonical bytes under ``digest`` (zstd-compressed)."""
        self.conn.execute(
            "INSERT OR IGNORE INTO trees(hash, data, created_at) VALUES (?,?,?)",
            (digest, _compressor(self.level).compress(data), int(time.time())),
        )

    def has_tree(self, digest: str) -> bool:
        """True when a tree with this hash is stored."""
        return self.conn.execute("SELECT 1 FROM trees WHERE hash = ?", (digest,)).fetchone() is not None

    def get_tree(self, digest: str) -> list[Entry]:
        """The sorted entries of a stored tree. Raises :class:`StoreError` when missing or damaged."""
        cached = self._trees.get(digest)
        if cached is not None:
            return cached
        row = self.conn.execute("SELECT data FROM trees WHERE hash = ?", (digest,)).fetchone()
        if row is None:
            raise StoreError(f"tree {digest[:12]} is missing from the store; run 'vmuser check'")
        try:
            data = _decompressor().decompress(row[0])
            # A tree is named by the hash of its bytes; one that is not (a forged row) could
            # even contain itself, and a walk through it would never end.
            if hashlib.sha256(data).hexdigest() != digest:
                raise ValueError(HASH_MISMATCH)
            entries = decode(data)
        except (zstandard.ZstdError, ValueError, UnicodeDecodeError) as exc:
            raise StoreError(f"tree {digest[:12]} is damaged ({exc}); run 'vmuser check'") from None
        self._trees[digest] = entries
        if len(self._trees) > self.TREE_CACHE:
            self._trees.popitem(last=False)
        return entries

    def walk(self, root: str, prefix: str = "") -> Iterator[tuple[str, Entry]]:
        """Yield ``(path, entry)`` for every entry below tree ``root``, parents before children.

        Iterative (a stack of tree iterators), so a tree nested thousands of folders deep
        is walked like any other rather than exhausting Python's recursion limit."""
        stack = [(prefix, iter(self.get_tree(root)))]
        while stack:
            base, entries = stack[-1]
            entry = next(entries, None)
            if entry is None:
                stack.pop()
                continue
            path = f"{base}/{entry.name}" if base else entry.name
            yield path, entry
            if entry.kind == "dir":
                stack.append((path, iter(self.get_tree(entry.hash))))

    def lookup(self, root: str, path: str) -> Entry | None:
        """The entry at ``path`` (normalized, ``''`` for the root) in tree ``root``, or None."""
        if path == "":
            return Entry("", "dir", 0o755, 0, root)
        current = root
        parts = path.split("/")
        for i, name in enumerate(parts):
            found = next((e for e in self.get_tree(current) if e.name == name), None)
            if found is None:
                return None
            if i == len(parts) - 1:
                return found
            if found.kind != "dir":
                return None
            current = found.hash
        return None


__all__ = ["ObjectStore", "pack", "unpack", "chunked_hash", "CHUNK_SIZE", "CHUNK_THRESHOLD", "encode", "CDC", "LISTS"]
