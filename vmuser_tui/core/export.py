"""``vmuser project export``: write one project into one SQLite file (format:
:mod:`vmuser_tui.core.transfer_format`).

How: a new SQLite file is created next to the destination under a temporary name, the data
dir's database is ATTACHed to it read-only, and everything is copied in one read
transaction of the source (so a capture or gc in another process never shows half-done):

1. the checkpoints chosen (all; ``since``; or the ids given) and their parents re-pointed
   to their nearest chosen ancestor;
2. what they reach (gc's notion, :func:`vmuser_tui.core.store.gc.reachable`, for these
   roots only): trees are walked level by level, 500 per query, each decompressed once and
   checked against its hash; chunked files reach their chunks;
3. the rows: ``INSERT INTO ... SELECT`` from the attached source joined with temp tables of
   the needed hashes, so megabytes of content never pass through Python (sqlite-utils'
   ``insert_all`` would read every row into Python and write it back: measured 4x slower
   on the 10,000-checkpoint history, see benchmarks/export.py);
4. packs: copied whole when every byte is an exported blob, packed anew otherwise;
5. the header, with the digest; then the file is fsynced and renamed into place, so a
   failed or interrupted export never leaves a partial file under the name asked for.

Errors: NotFoundError (project, checkpoint), UsageError (destination: missing folder,
existing file without ``force``, a bad ``since``), StoreError (a tree or blob the
checkpoints need is missing or damaged: run ``vmuser check``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import zstandard

from vmuser_tui import __version__
from vmuser_tui.core import clock, procs, schema, transfer_format
from vmuser_tui.core.errors import StoreError, UsageError
from vmuser_tui.core.store.objects import LISTS_SQL, PACKED, pack

Say = Callable[[str], None]
BATCH = 500  # hashes per IN (...) query
# The hashes a tree's canonical encoding names (one line per entry, see store/trees.py),
# picked by two regexes in C: the walk then never builds an Entry per line.
_DIRS = re.compile(rb"^dir [0-7]+ [0-9]+ ([0-9a-f]{64})\t", re.M)
_BLOBS = re.compile(rb"^(?:file|symlink) [0-7]+ [0-9]+ ([0-9a-f]{64})\t", re.M)


@dataclass
class ExportResult:
    """What an export wrote: ``path`` (the file), counts of rows per table, ``bytes`` (the
    file's size), ``content_bytes`` (raw bytes of the content it holds), ``seconds``."""

    path: str
    project_id: str
    checkpoints: int
    blobs: int
    packs: int
    trees: int
    log_entries: int
    bytes: int
    content_bytes: int
    seconds: float
    repacked: int = 0  # packs shared with content left out, packed anew
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return dict(self.__dict__)


def check_destination(out: Path, force: bool) -> Path:
    """The absolute destination. Raises UsageError for a missing folder, a folder given as
    the file, or an existing file without ``force``."""
    out = Path(out).expanduser()
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"cannot write {out}: the folder {parent} does not exist; create it first")
    if out.is_dir():
        example = out / ("export" + transfer_format.SUFFIX)
        raise UsageError(f"cannot write {out}: it is a folder; give a file name, e.g. {example}")
    if out.exists() and not force:
        raise UsageError(f"{out} already exists; pass --force to replace it, or choose another name")
    return out.absolute()


def choose(conn: sqlite3.Connection, project_id: str, *, since: str | None, ids: Sequence[str]) -> list[dict]:
    """The checkpoint rows to export, oldest first, parents re-pointed to the nearest
    chosen ancestor (``checkpoint forget``'s rule). ``since``: stored ISO UTC; ``ids``: full ids."""
    cols = ", ".join(transfer_format.CHECKPOINT_COLUMNS)
    cur = conn.execute(f"SELECT {cols} FROM src.checkpoints WHERE project_id = ? ORDER BY created_at, rowid",
                       (project_id,))
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, r, strict=True)) for r in cur]
    parent = {r["id"]: r["parent_id"] for r in rows}
    chosen = [r for r in rows if (not ids or r["id"] in ids) and (since is None or r["created_at"] >= since)]
    keep = {r["id"] for r in chosen}
    if len(keep) != len(rows):
        for r in chosen:
            p, seen = r["parent_id"], set()
            while p is not None and p not in keep and p not in seen:  # (seen: a forged loop ends too)
                seen.add(p)
                p = parent.get(p)
            r["parent_id"] = p if p in keep else None
    return chosen


def reach(conn: sqlite3.Connection, roots: set[str], say: Say) -> tuple[set[str], set[str]]:
    """``(tree hashes, blob hashes)`` reachable from ``roots`` in ``src`` (chunks included).
    Raises StoreError for a missing or damaged tree."""
    trees: set[str] = set()
    blobs: set[bytes] = set()
    subtrees: set[bytes] = set()
    frontier = sorted(roots)
    dctx = zstandard.ZstdDecompressor()
    while frontier:
        for i in range(0, len(frontier), BATCH):
            part = frontier[i : i + BATCH]
            found = 0
            for digest, data in conn.execute(
                    f"SELECT hash, data FROM src.trees WHERE hash IN ({','.join('?' * len(part))})", part):
                found += 1
                try:
                    raw = dctx.decompress(data)
                except zstandard.ZstdError as exc:
                    raise StoreError(f"cannot export: tree {digest[:12]} is damaged ({exc}); "
                                     "run 'vmuser check'") from None
                if hashlib.sha256(raw).hexdigest() != digest:
                    raise StoreError(f"cannot export: tree {digest[:12]} does not match its hash; run 'vmuser check'")
                subtrees.update(_DIRS.findall(raw))
                blobs.update(_BLOBS.findall(raw))
            if found != len(part):
                have = {r[0] for r in conn.execute(
                    f"SELECT hash FROM src.trees WHERE hash IN ({','.join('?' * len(part))})", part)}
                lost = next(h for h in part if h not in have)
                raise StoreError(f"cannot export: tree {lost[:12]} is missing from the store; run 'vmuser check'")
        trees.update(frontier)
        nxt = {h.decode() for h in subtrees} - trees
        subtrees.clear()
        frontier = sorted(nxt)
        say(f"walking trees: {len(trees):,} trees, {len(blobs):,} files so far")
    found_blobs = {h.decode() for h in blobs}
    chunked = sorted(found_blobs)
    for i in range(0, len(chunked), BATCH):
        part = chunked[i : i + BATCH]
        for (data,) in conn.execute(f"SELECT data FROM src.blobs WHERE codec IN {LISTS_SQL} AND hash IN "
                                    f"({','.join('?' * len(part))})", part):
            found_blobs.update(bytes(data[j : j + 32]).hex() for j in range(0, len(data), 32))
    return trees, found_blobs


def _fill(conn: sqlite3.Connection, table: str, values: set[str]) -> None:
    conn.execute(f"CREATE TEMP TABLE {table} (hash TEXT PRIMARY KEY) WITHOUT ROWID")
    conn.executemany(f"INSERT INTO {table} VALUES (?)", ((v,) for v in sorted(values)))


def _copy_objects(conn: sqlite3.Connection, now: int) -> int:
    """Copy the needed trees, blobs and packs (temp tables ``need_trees``/``need_blobs``)
    into ``main``; returns how many packs were packed anew. Raises StoreError for a
    needed object the source lacks."""
    conn.execute(f"INSERT INTO main.trees ({', '.join(transfer_format.TREE_COLUMNS)}) "
                 "SELECT t.hash, t.data, t.created_at FROM temp.need_trees n JOIN src.trees t ON t.hash = n.hash")
    cols = ", ".join(transfer_format.BLOB_COLUMNS)
    conn.execute(f"INSERT INTO main.blobs ({cols}) SELECT {', '.join('b.' + c for c in transfer_format.BLOB_COLUMNS)} "
                 "FROM temp.need_blobs n JOIN src.blobs b ON b.hash = n.hash")
    lost = conn.execute("SELECT n.hash FROM temp.need_blobs n WHERE NOT EXISTS "
                        "(SELECT 1 FROM main.blobs b WHERE b.hash = n.hash) LIMIT 1").fetchone()
    if lost:
        raise StoreError(f"cannot export: blob {lost[0][:12]} is missing from the store; run 'vmuser check'")
    # A pack whose exported members fill it exactly is copied as it is; one holding other
    # bytes too (content of files not exported) is packed anew from its exported members.
    usage = conn.execute(
        "SELECT p.id, p.size, SUM(b.size) FROM (SELECT pack_id, SUM(size) AS size FROM main.blobs "
        f"WHERE codec = '{PACKED}' GROUP BY pack_id) b JOIN src.packs p ON p.id = b.pack_id GROUP BY p.id"
    ).fetchall()
    whole = [(pid,) for pid, size, used in usage if size == used]
    conn.execute("CREATE TEMP TABLE whole_packs (id INTEGER PRIMARY KEY)")
    conn.executemany("INSERT INTO temp.whole_packs VALUES (?)", whole)
    conn.execute(f"INSERT INTO main.packs ({', '.join(transfer_format.PACK_COLUMNS)}) "
                 "SELECT p.id, p.codec, p.size, p.data, p.created_at FROM temp.whole_packs w "
                 "JOIN src.packs p ON p.id = w.id")
    partial = [pid for pid, size, used in usage if size != used]
    dctx = zstandard.ZstdDecompressor()
    for pid in partial:
        codec, size, data = conn.execute("SELECT codec, size, data FROM src.packs WHERE id = ?", (pid,)).fetchone()
        try:
            raw = dctx.decompress(data, max_output_size=size) if codec == "zstd" else bytes(data)
        except zstandard.ZstdError as exc:
            raise StoreError(f"cannot export: pack {pid} is damaged ({exc}); run 'vmuser check'") from None
        members = conn.execute("SELECT hash, pack_offset, size FROM main.blobs WHERE pack_id = ? ORDER BY pack_offset",
                               (pid,)).fetchall()
        parts, moves, offset = [], [], 0
        for digest, off, n in members:
            parts.append(raw[off : off + n])
            moves.append((offset, digest))
            offset += n
        new_codec, stored = pack(b"".join(parts), 3)
        conn.execute("INSERT INTO main.packs (id, codec, size, data, created_at) VALUES (?,?,?,?,?)",
                     (pid, new_codec, offset, stored, now))
        conn.executemany("UPDATE main.blobs SET pack_offset = ? WHERE hash = ?", moves)
    missing = conn.execute(f"SELECT pack_id FROM main.blobs WHERE codec = '{PACKED}' AND pack_id NOT IN "
                           "(SELECT id FROM main.packs) LIMIT 1").fetchone()
    if missing:
        raise StoreError(f"cannot export: pack {missing[0]} is missing from the store; run 'vmuser check'")
    return len(partial)


def _attach_source(conn: sqlite3.Connection, db_path: Path, read_only_dir: bool) -> None:
    """ATTACH the data dir's database as ``src``, read-only (``mode=ro``; on a data dir that
    cannot be written, ``immutable=1`` when no ``-wal`` holds commits, as core.db does)."""
    uri = db_path.absolute().as_uri()
    try:
        conn.execute("ATTACH DATABASE ? AS src", (uri + "?mode=ro",))
        conn.execute("SELECT COUNT(*) FROM src.sqlite_master").fetchone()
    except sqlite3.OperationalError:
        if not read_only_dir:
            raise
        with contextlib.suppress(sqlite3.Error):
            conn.execute("DETACH DATABASE src")
        conn.execute("ATTACH DATABASE ? AS src", (uri + "?mode=ro&immutable=1",))


def export(db_path: Path, project_id: str, out: Path, *, since: str | None = None, ids: Sequence[str] = (),
           read_only_dir: bool = False, say: Say = lambda line: None) -> ExportResult:
    """Write project ``project_id`` (a full id) of the database at ``db_path`` to ``out``
    (checked with :func:`check_destination` first). ``since``: only checkpoints created at or
    after this stored ISO UTC time (and log entries from then on); ``ids``: only these full
    checkpoint ids. ``say(line)``: one line per phase. Returns an :class:`ExportResult`."""
    started = time.perf_counter()
    temp = out.with_name(f".{out.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    conn = sqlite3.connect(temp.absolute().as_uri() + "?mode=rwc", uri=True, isolation_level=None)
    os.chmod(temp, 0o600)  # it holds a project's files: the owner's only, as vmuser.db is
    try:
        # A fresh file written once: no rollback journal, no syncs until the one fsync at the end.
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA temp_store = MEMORY")
        conn.execute("PRAGMA cache_size = -65536")  # 64 MiB: the temp tables and the new b-trees
        transfer_format.create(conn)
        _attach_source(conn, db_path, read_only_dir)
        now = int(time.time())
        conn.execute("BEGIN")  # one read snapshot of the source for the whole copy
        say("choosing checkpoints")
        chosen = choose(conn, project_id, since=since, ids=ids)
        if not chosen:
            raise UsageError("nothing to export: no checkpoint of this project matches "
                             + ("--since" if since else "--checkpoint" if ids else "(it has none; take one first)"))
        roots = {r["root_tree"] for r in chosen}
        trees, blobs = reach(conn, roots, say)
        say(f"copying {len(trees):,} trees and {len(blobs):,} blobs")
        _fill(conn, "need_trees", trees)
        _fill(conn, "need_blobs", blobs)
        repacked = _copy_objects(conn, now)
        say("copying the project, its checkpoints and its log")
        cols = transfer_format.CHECKPOINT_COLUMNS
        conn.executemany(f"INSERT INTO main.checkpoints ({', '.join(cols)}) VALUES ({','.join('?' * len(cols))})",
                         [tuple(r[c] for c in cols) for r in chosen])
        pcols = ", ".join(transfer_format.PROJECT_COLUMNS)
        conn.execute(f"INSERT INTO main.project ({pcols}) SELECT {pcols} FROM src.projects WHERE id = ?", (project_id,))
        lcols = ", ".join(transfer_format.LOG_COLUMNS)
        conn.execute(f"INSERT INTO main.operation_log ({lcols}) SELECT {lcols} FROM src.operation_log "
                     "WHERE project_id = ? AND at >= ?", (project_id, since or ""))
        name = conn.execute("SELECT name FROM main.project").fetchone()[0]
        conn.execute("COMMIT")
        conn.execute("DETACH DATABASE src")
        counts = {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]  # noqa: S608 - fixed names
                  for t in ("checkpoints", "operation_log", "blobs", "packs", "trees")}
        counts["content_bytes"] = conn.execute(
            f"SELECT COALESCE(SUM(size), 0) FROM blobs WHERE codec NOT IN {LISTS_SQL}").fetchone()[0]
        header = {"format": str(transfer_format.FORMAT), "vmuser_version": __version__, "created_at": clock.now_iso(),
                  "source_host": procs.hostname(), "source_schema": str(schema.LATEST), "project_id": project_id,
                  "project_name": name, "selection": json.dumps({"since": since, "checkpoints": sorted(ids)}),
                  "counts": json.dumps(counts, sort_keys=True)}
        say("writing the header and its digest")
        header["digest"] = transfer_format.digest(conn, header)
        # sqlite-utils serves here: ten key/value rows into a table it can describe.
        import sqlite_utils

        sqlite_utils.Database(conn).table("header").insert_all(
            [{"key": k, "value": v} for k, v in header.items()])
        conn.close()
        fd = os.open(temp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, out)
    except BaseException as exc:
        with contextlib.suppress(sqlite3.Error):
            conn.close()
        with contextlib.suppress(OSError):
            os.unlink(temp)
        if isinstance(exc, sqlite3.OperationalError) and ("disk" in str(exc) or "full" in str(exc)):
            raise StoreError(f"cannot write {out}: {exc}; free some space there (nothing was written)") from None
        raise
    size = out.stat().st_size
    return ExportResult(path=str(out), project_id=project_id, checkpoints=counts["checkpoints"],
                        blobs=counts["blobs"], packs=counts["packs"], trees=counts["trees"],
                        log_entries=counts["operation_log"], bytes=size, content_bytes=counts["content_bytes"],
                        seconds=round(time.perf_counter() - started, 3), repacked=repacked)
