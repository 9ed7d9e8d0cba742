"""``vmuser check``: verify the database and every stored object, as ``git fsck`` and
``restic check --read-data`` do, and say which checkpoints any damage reaches.

Passes, each streaming rows instead of loading a table:

1. ``PRAGMA integrity_check``: SQLite's own pages and indexes; then every text value of
   every table read as bytes and decoded (a flipped byte in a row's text passes SQLite's
   check, but no query can read that row any more).
2. blobs: each is read back through the object store (raw, zstd, packed: its pack
   decompressed once) and re-hashed; its size must match. A chunked file's chunks must
   exist and add up to its size; a fixed-chunk list (codec ``chunks``) must hash to its
   hash, a content-defined one (``cdc``) is read through and its content must.
3. trees: each must decode, re-encode to its own hash, and name only blobs and trees
   that exist.
4. checkpoints: each root tree must exist.

When something is damaged, trees that contain it (directly or below) are marked in
further passes over the trees table, and every checkpoint whose root is marked is
reported with the paths that cannot be restored. Nothing is written: the check runs in
one read transaction, so a capture or gc in another process neither disturbs it nor
shows up half-done.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field

import zstandard

from vmuser_tui.core.errors import StoreError
from vmuser_tui.core.store.cdc import FileHasher
from vmuser_tui.core.store.objects import CHUNKS, HASH_MISMATCH, LISTS, LISTS_SQL, ObjectStore, chunked_hash
from vmuser_tui.core.store.trees import DIR, Entry, tree_hash

#: ``progress(phase, done, total)``; phase is database, blobs, trees, checkpoints or affected.
Progress = Callable[[str, int, int], None]

BATCH = 500  # hashes per existence query
MAX_PATHS = 20  # damaged paths listed per affected checkpoint
_EVERY = 256  # rows between progress calls


@dataclass
class Damage:
    """One damaged object. ``kind``: database, pack, blob, tree, checkpoint or project; ``id``:
    the hash (blob, tree), pack number, checkpoint or project id, or database path;
    ``problem``: one line."""

    kind: str
    id: str
    problem: str

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class Affected:
    """A checkpoint that reaches damaged objects; ``paths`` (at most :data:`MAX_PATHS`)
    are the files or directories in it that cannot be restored as they were."""

    id: str
    project_id: str
    kind: str
    created_at: str
    paths: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class CheckReport:
    """What :func:`check` verified (counts) and found (``damaged``, ``affected``)."""

    blobs: int = 0
    packs: int = 0
    trees: int = 0
    checkpoints: int = 0
    damaged: list[Damage] = field(default_factory=list)
    affected: list[Affected] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing is damaged."""
        return not self.damaged

    def to_json(self) -> dict:
        return {
            "ok": self.ok,
            "checked": {"blobs": self.blobs, "packs": self.packs, "trees": self.trees, "checkpoints": self.checkpoints},
            "damaged": [d.to_json() for d in self.damaged],
            "affected_checkpoints": [a.to_json() for a in self.affected],
        }


def _problem(exc: BaseException) -> str:
    """The store's one-line message without its "run 'vmuser check'" advice (we are it)."""
    text = " ".join(str(exc).split())
    return text.split("; run 'vmuser check'")[0]


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _batches(items: Iterable, size: int = BATCH) -> Iterator[list]:
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class _Checker:
    def __init__(self, database, store: ObjectStore, progress: Progress | None):
        self.conn = database.conn
        self.path = database.path
        self.store = store
        self.progress = progress or (lambda phase, done, total: None)
        self.report = CheckReport()
        self.bad_blobs: set[str] = set()
        self.bad_trees: set[str] = set()  # damaged or missing

    def damage(self, kind: str, ident: str, problem: str) -> None:
        self.report.damaged.append(Damage(kind, ident, problem))
        if kind == "blob":
            self.bad_blobs.add(ident)
        elif kind == "tree":
            self.bad_trees.add(ident)

    def existing(self, table: str, digests: list[str]) -> set[str]:
        marks = ",".join("?" * len(digests))
        return {r[0] for r in self.conn.execute(f"SELECT hash FROM {table} WHERE hash IN ({marks})", digests)}

    def count(self, table: str) -> int:
        return self.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]

    # -- 1. SQLite ------------------------------------------------------------------
    def database(self) -> None:
        self.progress("database", 0, 0)
        for (line,) in self.conn.execute("PRAGMA integrity_check(100)"):
            if line != "ok":
                self.damage("database", str(self.path), line)

    def rows(self) -> None:
        """Every text value of every table must be UTF-8: SQLite's integrity check does not
        look (a flipped byte in a description passes it), and Python's sqlite3 cannot read
        such a row at all. Read as bytes (``CAST AS BLOB`` never fails) and decoded here,
        so the damaged rows are named: a checkpoint by its id, others by table and rowid."""
        tables = [r[0] for r in self.conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name")]
        for table in tables:
            info = self.conn.execute(f'PRAGMA table_info("{table}")').fetchall()
            cols = [c[1] for c in info if "BLOB" not in (c[2] or "").upper()]
            if not cols:
                continue
            key = "id" if any(c[1] == "id" for c in info) else "rowid"
            listed = ", ".join(f'CAST("{c}" AS BLOB)' for c in cols)
            try:
                cur = self.conn.execute(f'SELECT rowid, CAST({key} AS BLOB), {listed} FROM "{table}"')
            except sqlite3.OperationalError:  # WITHOUT ROWID: no rowid to name a row by
                continue
            bad = 0
            for rowid, ident, *values in cur:
                wrong = [c for c, v in zip(cols, values, strict=True) if isinstance(v, bytes) and not _utf8(v)]
                if not wrong:
                    continue
                bad += 1
                if bad > MAX_PATHS:
                    continue
                name = ident.decode("utf-8", "replace") if isinstance(ident, bytes) else str(ident)
                what = ", ".join(wrong)
                if table == "checkpoints" and "id" not in wrong:
                    self.damage("checkpoint", name, f"its row holds bytes that are not text ({what})")
                else:
                    self.damage("database", str(self.path),
                                f"table {table} row {rowid}: bytes that are not text ({what})")
            if bad > MAX_PATHS:
                self.damage("database", str(self.path), f"table {table}: {bad - MAX_PATHS} more such row(s)")

    # -- 2. blobs -------------------------------------------------------------------
    def blob(self, digest: str, codec: str, size: int) -> None:
        """Read one blob back through the store and compare hash and size."""
        try:
            if codec in LISTS:
                data = self.conn.execute("SELECT data FROM blobs WHERE hash = ?", (digest,)).fetchone()[0]
                digests = [bytes(data[i : i + 32]) for i in range(0, len(data), 32)]
                if len(data) % 32 or (codec == CHUNKS and chunked_hash(digests) != digest):
                    self.damage("blob", digest, "chunk list does not match its hash")
                    return
                chunks = [d.hex() for d in digests]
                sizes = {}
                for part in _batches(dict.fromkeys(chunks)):
                    marks = ",".join("?" * len(part))
                    sizes.update(self.conn.execute(f"SELECT hash, size FROM blobs WHERE hash IN ({marks})", part))
                missing = [c for c in chunks if c not in sizes]
                if missing:
                    self.damage(
                        "blob",
                        digest,
                        f"{len(missing)} of its {len(chunks)} chunks are missing (first {missing[0][:12]})",
                    )
                elif sum(sizes[c] for c in chunks) != size:
                    self.damage(
                        "blob", digest, f"its chunks add up to {sum(sizes[c] for c in chunks)} bytes, not {size}"
                    )
                elif codec != CHUNKS:  # a cdc list: its hash is the content's, read through
                    whole = FileHasher()
                    for chunk, piece in zip(digests, self.store.iter_blob(digest, verify=False), strict=True):
                        if hashlib.sha256(piece).digest() != chunk:
                            self.damage("blob", digest, f"its chunk {chunk.hex()[:12]} is damaged")
                            return
                        whole.update(piece)
                    if whole.hexdigest() != digest:
                        self.damage("blob", digest, "its chunks do not add up to its content hash")
                return
            hasher, n = hashlib.sha256(), 0
            for piece in self.store.iter_blob(digest, verify=False):
                hasher.update(piece)
                n += len(piece)
        except (StoreError, zstandard.ZstdError) as exc:
            self.damage("blob", digest, f"unreadable: {_problem(exc)}")
            return
        if hasher.hexdigest() != digest:
            self.damage("blob", digest, f"content does not match its hash ({codec}, {n} bytes)")
        elif n != size:
            self.damage("blob", digest, f"holds {n} bytes, its row says {size}")

    def blobs(self) -> None:
        total = self.count("blobs")
        done = 0
        self.progress("blobs", 0, total)
        # Pack by pack, so each pack is decompressed once (the store keeps it while its
        # members are read), then the blobs stored on their own.
        for (pack_id,) in self.conn.execute("SELECT id FROM packs ORDER BY id"):
            self.report.packs += 1
            members = self.conn.execute(
                "SELECT hash, codec, size FROM blobs WHERE pack_id = ? ORDER BY pack_offset", (pack_id,)
            ).fetchall()
            try:
                self.store._pack(pack_id)  # one verdict for the pack, not one per member
                lost = False
            except (StoreError, zstandard.ZstdError) as exc:
                self.damage("pack", str(pack_id), f"{_problem(exc)}; {len(members)} blob(s) lost with it")
                lost = True
            for digest, codec, size in members:
                if lost:
                    self.damage("blob", digest, f"lost with damaged pack {pack_id}")
                else:
                    self.blob(digest, codec, size)
                done += 1
                if done % _EVERY == 0:
                    self.progress("blobs", done, total)
            self.store.forget_cached_packs()
        for digest, pack_id in self.conn.execute(
            "SELECT hash, pack_id FROM blobs WHERE pack_id IS NOT NULL AND pack_id NOT IN (SELECT id FROM packs)"
        ):
            self.damage("blob", digest, f"its pack {pack_id} is missing")
            done += 1
        for digest, codec, size in self.conn.execute("SELECT hash, codec, size FROM blobs WHERE pack_id IS NULL"):
            self.blob(digest, codec, size)
            done += 1
            if done % _EVERY == 0:
                self.progress("blobs", done, total)
        self.report.blobs = done
        self.progress("blobs", done, total)

    # -- 3. trees -------------------------------------------------------------------
    def entries(self, digest: str) -> list[Entry] | None:
        """A tree's entries through the store, or None when it is damaged or missing."""
        try:
            return self.store.get_tree(digest)
        except StoreError:
            return None

    def trees(self) -> None:
        total = self.count("trees")
        self.progress("trees", 0, total)
        pending: dict[tuple[str, str], tuple[str, str]] = {}  # (table, hash) -> (tree, name) that needs it
        done = 0

        def flush() -> None:
            for table in ("blobs", "trees"):
                wanted = [h for t, h in pending if t == table]
                for part in _batches(wanted):
                    found = self.existing(table, part)
                    for h in part:
                        if h not in found and h not in (self.bad_blobs if table == "blobs" else self.bad_trees):
                            tree, name = pending[(table, h)]
                            self.damage(table[:-1], h, f"missing (tree {tree[:12]} lists it as {name!r})")
            pending.clear()

        for (digest,) in self.conn.execute("SELECT hash FROM trees"):
            done += 1
            try:
                entries = self.store.get_tree(digest)
            except StoreError as exc:
                problem = _problem(exc)
                # the store refuses a tree whose bytes do not hash to its name (see ObjectStore.get_tree)
                mismatch = problem.endswith(f"({HASH_MISMATCH})")
                self.damage("tree", digest, HASH_MISMATCH if mismatch else f"unreadable: {problem}")
                continue
            if tree_hash(entries)[0] != digest:
                self.damage("tree", digest, HASH_MISMATCH)
                continue
            for e in entries:
                pending.setdefault(("trees" if e.kind == DIR else "blobs", e.hash), (digest, e.name))
            if len(pending) >= BATCH:
                flush()
            if done % _EVERY == 0:
                self.progress("trees", done, total)
        flush()
        self.report.trees = done
        self.progress("trees", done, total)

    # -- 4. checkpoints -------------------------------------------------------------
    def checkpoints(self) -> None:
        total = self.count("checkpoints")
        self.progress("checkpoints", 0, total)
        done = 0
        rows = self.conn.execute("SELECT id, root_tree FROM checkpoints")
        while part := rows.fetchmany(BATCH):
            found = self.existing("trees", [r[1] for r in part])
            for cid, root in part:
                if root not in found and root not in self.bad_trees:
                    self.damage("tree", root, f"missing (root of checkpoint {cid})")
            done += len(part)
            self.progress("checkpoints", done, total)
        self.report.checkpoints = done
        # References between rows: a head or a parent whose row is gone (an older backup under
        # a replayed -wal, a stray tool). Nothing else finds them, and a missing head would
        # otherwise surface as "no checkpoint matches" at the next checkpoint.
        for pid, head in self.conn.execute(
                "SELECT id, head_checkpoint_id FROM projects p WHERE head_checkpoint_id IS NOT NULL "
                "AND NOT EXISTS (SELECT 1 FROM checkpoints c WHERE c.id = p.head_checkpoint_id)"):
            self.damage("project", pid, f"its head checkpoint {head} is missing")
        for cid, parent in self.conn.execute(
                "SELECT id, parent_id FROM checkpoints k WHERE parent_id IS NOT NULL "
                "AND NOT EXISTS (SELECT 1 FROM checkpoints c WHERE c.id = k.parent_id)"):
            self.damage("checkpoint", cid, f"its parent checkpoint {parent} is missing")

    # -- what the damage reaches ----------------------------------------------------
    def chunked_files(self) -> None:
        """A chunked file is damaged when one of its chunks is."""
        if not self.bad_blobs:
            return
        for digest, data in self.conn.execute(f"SELECT hash, data FROM blobs WHERE codec IN {LISTS_SQL}"):
            if digest in self.bad_blobs:
                continue
            bad = next(
                (data[i : i + 32].hex() for i in range(0, len(data), 32) if data[i : i + 32].hex() in self.bad_blobs),
                None,
            )
            if bad:
                self.damage("blob", digest, f"its chunk {bad[:12]} is damaged")

    def tainted(self) -> set[str]:
        """Trees that are damaged or hold something damaged at any depth: one more pass over
        the trees per directory level the damage climbs, holding only the marked hashes."""
        tainted = set(self.bad_trees)
        first = True
        while True:
            new = set()
            for (digest,) in self.conn.execute("SELECT hash FROM trees"):
                if digest in tainted:
                    continue
                for e in self.entries(digest) or ():
                    hit = e.hash in tainted if e.kind == DIR else first and e.hash in self.bad_blobs
                    if hit:
                        new.add(digest)
                        break
            first = False
            if not new:
                return tainted
            tainted |= new
            self.progress("affected", len(tainted), 0)

    def damaged_paths(self, root: str, tainted: set[str]) -> list[str]:
        """Paths below ``root`` that are damaged themselves (at most :data:`MAX_PATHS`)."""
        if root in self.bad_trees:
            return ["/"]
        out: list[str] = []
        stack = [(root, "")]
        while stack and len(out) < MAX_PATHS:
            digest, prefix = stack.pop()
            for e in self.entries(digest) or ():
                path = f"{prefix}/{e.name}" if prefix else e.name
                if e.kind == DIR:
                    if e.hash in self.bad_trees:
                        out.append(path + "/")
                    elif e.hash in tainted:
                        stack.append((e.hash, path))
                elif e.hash in self.bad_blobs:
                    out.append(path)
        return sorted(out[:MAX_PATHS])

    def affected(self) -> None:
        if not (self.bad_blobs or self.bad_trees):
            return
        tainted = self.tainted()
        for cid, pid, kind, created, root in self.conn.execute(
            "SELECT id, project_id, kind, created_at, root_tree FROM checkpoints ORDER BY created_at, id"
        ):
            if root in tainted:
                self.report.affected.append(Affected(cid, pid, kind, created, self.damaged_paths(root, tainted)))


def check(database, store: ObjectStore, *, progress: Progress | None = None) -> CheckReport:
    """Verify ``database`` (a :class:`~vmuser_tui.core.db.Database`) and every object in
    ``store``; returns a :class:`CheckReport`. Reads only, in one read transaction.

    ``progress(phase, done, total)`` is called now and then (``total`` 0: unknown). A
    database too damaged to read on is reported as ``database`` damage, not raised; a
    file that is not a vmuser database at all fails earlier, when it is opened.
    """
    checker = _Checker(database, store, progress)
    conn = checker.conn
    conn.execute("BEGIN")  # one snapshot for every pass (WAL readers block no writer)
    try:
        for step in (
            checker.database,
            checker.rows,
            checker.blobs,
            checker.trees,
            checker.checkpoints,
            checker.chunked_files,
            checker.affected,
        ):
            try:
                step()
            except sqlite3.DatabaseError as exc:  # a damaged page: report it, go on with the next pass
                what = "SQLite's integrity check" if step == checker.database else f"the {step.__name__} pass"
                checker.damage("database", str(database.path), f"{what} stopped: {exc}")
    finally:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
    return checker.report
