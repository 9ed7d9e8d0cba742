"""``vmuser project import``: bring a project exported by :mod:`vmuser_tui.core.export` into
this data dir.

Judged whole before anything is written (as ``project create --import`` and restore do):

1. the file is copied to a private staging file in the data dir (so it cannot change
   between the checks and the copy) and opened read-only;
2. its header: a vmuser export, of a format this vmuser reads (a newer one is refused with
   the versions and "upgrade"); SQLite's ``integrity_check``; row counts and the digest
   (:func:`vmuser_tui.core.transfer_format.digest`) as the header states them;
3. every tree: decompressed within a bound, re-hashed, decoded by the store's own
   :func:`~vmuser_tui.core.store.trees.decode` (no ``/``, ``..``, NUL or duplicate names),
   every name a valid path component (:func:`~vmuser_tui.core.pathcheck.normalize`), at most
   ``[limits] max_entries_per_dir`` entries, every entry naming an object in the file, of
   the size its blob holds and at most ``[limits] max_file_size``;
4. every blob re-hashed (packed, chunked, compressed alike) with its declared sizes checked
   against its bytes before decompression (a zstd frame's declared size first, so a forged
   size cannot make it allocate gigabytes), the total at most ``[limits] max_import_size``;
5. the rows: one project, checkpoints of it with known kinds, JSON that parses, root trees
   present; the project id not already here (else refused, naming ``--as-new``).

Then the workspace is restored from the file (the project's head if exported, else its
newest checkpoint) into a temporary folder under ``workspaces/`` named for its owner
(:func:`vmuser_tui.core.workspace_orphans.temp_name`), and one write transaction inserts
objects (``INSERT OR IGNORE``: content the data dir holds already is stored once), packs
(new ids), the project, its checkpoints and its log, renames the folder into place and
commits. A failure anywhere rolls back and removes the folder; a kill leaves a folder that
start-up recovery reclaims and no rows.

Errors are one line: StoreError (the file is damaged, forged or from a newer vmuser),
UsageError (no such file), StateError (the project is here already), LimitError.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zstandard

from vmuser_tui.core import clock, container_user, oplog, transfer_format, workspace_orphans
from vmuser_tui.core.errors import InvalidPathError, LimitError, StateError, StoreError, UsageError
from vmuser_tui.core.ids import PROJECT_ID_RE, new_project_id, new_short_id
from vmuser_tui.core.pathcheck import is_reserved, normalize
from vmuser_tui.core.store import restore as rs
from vmuser_tui.core.store.objects import CDC, CHUNKS, LISTS, PACKED, RAW, ZSTD, ObjectStore, chunked_hash
from vmuser_tui.core.store.trees import DIR, FILE, decode

Say = Callable[[str], None]
HASH_RE = re.compile(r"^[0-9a-f]{64}$")
CHECKPOINT_ID_RE = re.compile(r"^[0-9a-z][0-9a-z-]{0,63}$")
KINDS = ("manual", "auto", "pre-restore")
MAX_PACK_BYTES = 64 * 1024 * 1024  # capture's packs hold 256 KiB; anything near this is forged
TREE_LINE_BYTES = 400  # a generous bound of one encoded entry (64-hex hash, 255-byte name, fields)


class _Refused(StoreError):
    """A file refused by a check (its message is already the whole line)."""


@dataclass
class ImportResult:
    """What an import did: the new ``project_id`` and ``name``; ``source_project_id``; rows
    added (``checkpoints``, ``log_entries``); ``blobs_new`` / ``blobs_shared`` (content
    already stored here, not stored twice); ``workspace`` and the checkpoint it was
    ``restored_from``; ``notes`` (lines for the user); ``seconds``."""

    project_id: str
    name: str
    source_project_id: str
    source_host: str
    source_version: str
    as_new: bool
    checkpoints: int
    log_entries: int
    blobs_new: int
    blobs_shared: int
    trees_new: int
    workspace: str
    restored_from: str | None
    seconds: float
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return dict(self.__dict__)


@dataclass
class _Verified:
    header: dict[str, str]
    project: dict[str, Any]
    checkpoints: list[dict[str, Any]]
    content_bytes: int


class _FileDB:
    """Just enough of :class:`~vmuser_tui.core.db.Database` for an ObjectStore reading the file."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn


def _refuse(path: Path, why: str) -> _Refused:
    return _Refused(f"refusing to import {path}: {why}; nothing was imported")


def _rows(conn: sqlite3.Connection, sql: str, params: tuple = ()) -> list[dict[str, Any]]:
    cur = conn.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur]


# -- 1 and 2: the file and its header -------------------------------------------------------------
def stage(path: Path, data_dir: Path) -> Path:
    """Copy ``path`` to a private file in ``data_dir`` (mode 0600); returns it. UsageError
    when ``path`` is missing or not a file."""
    if not path.exists():
        raise UsageError(f"no file {path}; give the file `vmuser project export` wrote")
    if not path.is_file():
        raise UsageError(f"{path} is not a file; give the file `vmuser project export` wrote")
    staged = data_dir / f".import-{os.getpid()}-{secrets.token_hex(4)}.tmp"
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with open(path, "rb") as src, os.fdopen(fd, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    except OSError as exc:
        with contextlib.suppress(OSError):
            staged.unlink()
        raise UsageError(f"cannot read {path} ({exc.strerror or exc}); check its permissions") from None
    return staged


def read_header(conn: sqlite3.Connection, path: Path) -> dict[str, str]:
    """The header of an export. Raises StoreError: not SQLite, not an export, damaged, or
    written in a newer format (refused before anything else is looked at: a newer format
    may hold tables this vmuser does not know)."""
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        if "not a database" in str(exc) or "file is encrypted" in str(exc):
            raise _refuse(path, "it is not a vmuser export (not an SQLite file)") from None
        raise _refuse(path, f"it is damaged or truncated ({exc}); export it again") from None
    if "header" not in tables:
        raise _refuse(path, "it is not a vmuser export (an SQLite file without a header table)")
    try:
        header = {str(k): str(v) for k, v in conn.execute("SELECT key, value FROM header")}
    except sqlite3.DatabaseError as exc:
        raise _refuse(path, f"it is damaged or truncated ({exc}); export it again") from None
    fmt = header.get("format", "")
    if not fmt.isdigit() or not 0 < len(fmt) < 10:
        raise _refuse(path, "it is not a vmuser export (its header has no format number)")
    if int(fmt) > transfer_format.FORMAT:
        version = header.get("vmuser_version", "?")[:40]
        raise _Refused(f"{path} was written by vmuser {version} (format {fmt}); this vmuser reads up to format "
                       f"{transfer_format.FORMAT}: upgrade vmuser (pip install -U vmuser-tui)")
    missing = [k for k in transfer_format.HEADER_KEYS if k not in header]
    if missing:
        raise _refuse(path, f"its header lacks {', '.join(missing)} (truncated or edited); export it again")
    return header


def check_file(conn: sqlite3.Connection, path: Path, header: dict[str, str]) -> None:
    """SQLite's integrity check, the row counts and the digest the header states."""
    problems = [r[0] for r in conn.execute("PRAGMA integrity_check(5)")]
    if problems != ["ok"]:
        raise _refuse(path, f"it fails SQLite's integrity check ({problems[0]}); export it again")
    try:
        counts = json.loads(header["counts"])
        for table in ("checkpoints", "operation_log", "blobs", "packs", "trees"):
            n = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]  # noqa: S608 - fixed names
            if n != counts[table]:
                raise _refuse(path, f"it holds {n:,} {table} rows where its header says {counts[table]:,} "
                              "(truncated or edited); export it again")
    except (ValueError, KeyError, TypeError):
        raise _refuse(path, "its header's counts cannot be read (edited)") from None
    if transfer_format.digest(conn, header) != header["digest"]:
        raise _refuse(path, "its content does not match the digest in its header (damaged or edited); export it again")


# -- 3 and 4: objects -------------------------------------------------------------------------------
def _decompress(dctx: zstandard.ZstdDecompressor, data: bytes, size: int, what: str, path: Path) -> bytes:
    """A zstd frame that declares exactly ``size`` bytes, decompressed to exactly that."""
    try:
        declared = zstandard.frame_content_size(data)
        if declared != size:
            raise _refuse(path, f"{what} declares {declared:,} bytes where {size:,} are stated")
        raw = dctx.decompress(data, max_output_size=size)
    except zstandard.ZstdError as exc:
        raise _refuse(path, f"{what} cannot be decompressed ({exc})") from None
    if len(raw) != size:
        raise _refuse(path, f"{what} holds {len(raw):,} bytes where {size:,} are stated")
    return raw


def check_trees(conn: sqlite3.Connection, path: Path, roots: set[str], limits: dict,
                say: Say) -> tuple[set[str], dict[str, int]]:
    """Every tree of the file (see the module docstring). Returns ``(tree hashes, {blob hash:
    the size tree entries claim for it})``."""
    dctx = zstandard.ZstdDecompressor()
    max_entries, max_file = limits["max_entries_per_dir"], limits["max_file_size"]
    bound = max_entries * TREE_LINE_BYTES
    trees: set[str] = set()
    subtrees: set[str] = set()
    claims: dict[str, int] = {}
    for n, (digest, data) in enumerate(conn.execute("SELECT hash, data FROM trees")):
        where = f"tree {str(digest)[:12]}"
        if not isinstance(digest, str) or not HASH_RE.match(digest):
            raise _refuse(path, f"a tree is named {str(digest)[:20]!r}, not a sha256")
        if not isinstance(data, bytes):
            raise _refuse(path, f"{where} is not stored as bytes")
        try:
            declared = zstandard.frame_content_size(data)
            if not 0 <= declared <= bound:
                raise _refuse(path, f"{where} declares {declared:,} bytes, over what [limits] max_entries_per_dir "
                              "allows")
            raw = dctx.decompress(data, max_output_size=bound)
        except zstandard.ZstdError as exc:
            raise _refuse(path, f"{where} cannot be decompressed ({exc})") from None
        if hashlib.sha256(raw).hexdigest() != digest:
            raise _refuse(path, f"{where} does not match its hash (forged or damaged)")
        try:
            entries = decode(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise _refuse(path, f"{where} is forged ({exc})") from None
        if len(entries) > max_entries:
            raise _refuse(path, f"{where} holds {len(entries):,} entries, over [limits] max_entries_per_dir")
        for e in entries:
            try:
                normalize(f"x/{e.name}")  # one name as it stands below a folder: NFC, no control chars...
                if digest in roots and is_reserved(e.name):
                    raise InvalidPathError(f"{e.name!r} is vmuser's reserved name")
                if normalize(f"x/{e.name}") != f"x/{e.name}":
                    raise InvalidPathError(f"{e.name!a} is not NFC-normalized")
            except InvalidPathError as exc:
                raise _refuse(path, f"{where} holds an invalid name ({exc})") from None
            if not HASH_RE.match(e.hash):
                raise _refuse(path, f"{where} names {e.name!r} by {e.hash[:20]!r}, not a sha256")
            if e.kind == DIR:
                subtrees.add(e.hash)
                continue
            if e.kind == FILE and e.size > max_file:
                raise _refuse(path, f"{where} declares {e.name!r} of {e.size:,} bytes, over [limits] max_file_size "
                              f"({max_file:,})")
            if claims.setdefault(e.hash, e.size) != e.size:
                raise _refuse(path, f"{where} declares {e.name!r} of {e.size:,} bytes where another entry with "
                              f"its content says {claims[e.hash]:,}")
        trees.add(digest)
        if n and n % 20000 == 0:
            say(f"verifying trees: {n:,}")
    lost = (subtrees | roots) - trees
    if lost:
        raise _refuse(path, f"a tree names tree {min(lost)[:12]}, which the file does not hold (forged or truncated)")
    return trees, claims


def check_blobs(conn: sqlite3.Connection, path: Path, claims: dict[str, int], limits: dict, say: Say) -> int:
    """Re-hash every blob of the file; check every claim of the trees against its size.
    Returns the raw bytes of the content (chunk lists left out)."""
    dctx = zstandard.ZstdDecompressor()
    max_file, max_total = limits["max_file_size"], limits["max_import_size"]
    sizes: dict[str, tuple[int, str]] = {}
    total = 0
    for digest, size, codec in conn.execute("SELECT hash, size, codec FROM blobs"):
        if not isinstance(digest, str) or not HASH_RE.match(digest):
            raise _refuse(path, f"a blob is named {str(digest)[:20]!r}, not a sha256")
        if codec not in (RAW, ZSTD, CHUNKS, PACKED, CDC):
            raise _refuse(path, f"blob {digest[:12]} has the unknown codec {str(codec)[:20]!r}")
        if not isinstance(size, int) or not 0 <= size <= max_file:
            raise _refuse(path, f"blob {digest[:12]} declares {size!r} bytes, over [limits] max_file_size "
                          f"({max_file:,})")
        sizes[digest] = (size, codec)
        if codec not in LISTS:
            total += size
    if total > max_total:
        raise _refuse(path, f"it holds {total:,} bytes of content, over [limits] max_import_size ({max_total:,})")
    for blob, claimed in claims.items():
        held = sizes.get(blob)
        if held is None:
            raise _refuse(path, f"a tree names blob {blob[:12]}, which the file does not hold (forged or truncated)")
        if held[0] != claimed:
            raise _refuse(path, f"a tree declares {claimed:,} bytes for blob {blob[:12]}, which holds {held[0]:,}")
    done = 0
    unpacked = f"SELECT hash, size, codec, data FROM blobs WHERE codec != '{PACKED}'"
    for digest, size, codec, data in conn.execute(unpacked):
        where = f"blob {digest[:12]}"
        if not isinstance(data, bytes):
            raise _refuse(path, f"{where} is not stored as bytes")
        if codec in LISTS:
            if len(data) % 32:
                raise _refuse(path, f"{where} holds a damaged chunk list")
            pieces = [data[i : i + 32] for i in range(0, len(data), 32)]
            if codec == CHUNKS and chunked_hash(pieces) != digest:
                raise _refuse(path, f"{where} does not match its hash (forged or damaged)")
            parts = [sizes.get(p.hex()) for p in pieces]
            if any(p is None or p[1] in LISTS for p in parts):
                raise _refuse(path, f"{where} names a chunk the file does not hold")
            if sum(p[0] for p in parts if p is not None) != size:
                raise _refuse(path, f"{where} declares {size:,} bytes where its chunks hold another size")
            if codec == CDC:  # its hash is its content's: read it through, every chunk checked
                try:
                    for _ in ObjectStore(_FileDB(conn)).iter_blob(digest):
                        pass
                except StoreError:
                    raise _refuse(path, f"{where} does not match its hash (forged or damaged)") from None
            continue
        raw = bytes(data) if codec == RAW else _decompress(dctx, data, size, where, path)
        if len(raw) != size or hashlib.sha256(raw).hexdigest() != digest:
            raise _refuse(path, f"{where} does not match its hash (forged or damaged)")
        done += 1
        if done % 20000 == 0:
            say(f"verifying blobs: {done:,}")
    current: tuple[int, bytes] | None = None
    for digest, size, pack_id, offset in conn.execute(
            f"SELECT hash, size, pack_id, pack_offset FROM blobs WHERE codec = '{PACKED}' ORDER BY pack_id"):
        where = f"blob {digest[:12]}"
        if current is None or current[0] != pack_id:
            row = conn.execute("SELECT codec, size, data FROM packs WHERE id = ?", (pack_id,)).fetchone()
            if row is None:
                raise _refuse(path, f"{where} is in pack {pack_id!r}, which the file does not hold")
            p_codec, p_size, p_data = row
            if not isinstance(p_data, bytes):
                raise _refuse(path, f"pack {pack_id} is not stored as bytes")
            if not isinstance(p_size, int) or not 0 <= p_size <= MAX_PACK_BYTES or p_codec not in (RAW, ZSTD):
                raise _refuse(path, f"pack {pack_id} declares {p_size!r} bytes ({str(p_codec)[:10]}), not a pack "
                              "vmuser writes")
            raw = bytes(p_data) if p_codec == RAW else _decompress(dctx, p_data, p_size, f"pack {pack_id}", path)
            if len(raw) != p_size:
                raise _refuse(path, f"pack {pack_id} holds {len(raw):,} bytes where {p_size:,} are stated")
            current = (pack_id, raw)
        if not isinstance(offset, int) or offset < 0 or offset + size > len(current[1]):
            raise _refuse(path, f"{where} lies outside its pack")
        if hashlib.sha256(current[1][offset : offset + size]).hexdigest() != digest:
            raise _refuse(path, f"{where} does not match its hash (forged or damaged)")
    return total


# -- 5: rows ----------------------------------------------------------------------------------------
def _json(value: Any, kind: type, what: str, path: Path) -> Any:
    try:
        out = json.loads(value)
    except (TypeError, ValueError):
        out = None
    if not isinstance(out, kind):
        raise _refuse(path, f"{what} is not a JSON {kind.__name__}")
    return out


def check_rows(conn: sqlite3.Connection, path: Path, header: dict[str, str]) -> tuple[dict, list[dict]]:
    """The project row and its checkpoints (oldest first), checked."""
    projects = _rows(conn, f"SELECT {', '.join(transfer_format.PROJECT_COLUMNS)} FROM project")
    if len(projects) != 1:
        raise _refuse(path, f"it holds {len(projects)} project rows, not one")
    project = projects[0]
    pid = project["id"]
    if not isinstance(pid, str) or not PROJECT_ID_RE.match(pid) or pid != header["project_id"]:
        raise _refuse(path, f"its project id {str(pid)[:40]!r} is not a vmuser project id or not its header's")
    if not isinstance(project["name"], str) or not project["name"].strip():
        raise _refuse(path, "its project has no name")
    _json(project["tags"], list, "the project's tags", path)
    checkpoints = _rows(conn, f"SELECT {', '.join(transfer_format.CHECKPOINT_COLUMNS)} FROM checkpoints "
                              "ORDER BY created_at, id")
    ids = set()
    for cp in checkpoints:
        where = f"checkpoint {str(cp['id'])[:20]!r}"
        if not isinstance(cp["id"], str) or not CHECKPOINT_ID_RE.match(cp["id"]):
            raise _refuse(path, f"{where} has an id vmuser does not write")
        if cp["project_id"] != pid:
            raise _refuse(path, f"{where} belongs to another project")
        if cp["kind"] not in KINDS:
            raise _refuse(path, f"{where} has the unknown kind {str(cp['kind'])[:20]!r}")
        for col, kind in (("tags", list), ("annotations", list), ("state", dict)):
            _json(cp[col], kind, f"the {col} of {where}", path)
        try:
            clock.parse(cp["created_at"])
        except (ValueError, TypeError):
            raise _refuse(path, f"{where} has no valid creation time") from None
        ids.add(cp["id"])
    for cp in checkpoints:
        if cp["parent_id"] not in ids:
            cp["parent_id"] = None  # (export re-points them; a parent left out by hand is a root)
    if not checkpoints:
        raise _refuse(path, "it holds no checkpoint")
    return project, checkpoints


def verify(conn: sqlite3.Connection, path: Path, limits: dict, say: Say) -> _Verified:
    """Every check of the module docstring, in order; nothing is written."""
    say("checking the file")
    header = read_header(conn, path)
    try:
        check_file(conn, path, header)
        project, checkpoints = check_rows(conn, path, header)
        roots = {cp["root_tree"] for cp in checkpoints}
        say("verifying trees")
        _, claims = check_trees(conn, path, roots, limits, say)
        say("verifying blobs")
        total = check_blobs(conn, path, claims, limits, say)
    except sqlite3.DatabaseError as exc:  # a damaged page met late, or a table without its columns
        raise _refuse(path, f"it is damaged or not an export of this format ({exc})") from None
    return _Verified(header, project, checkpoints, total)


# -- the import -------------------------------------------------------------------------------------
def _free_name(conn: sqlite3.Connection, name: str) -> str:
    """``name``, or ``name (2)``, ``name (3)``... when a project here has it already."""
    candidate, n = name, 1
    while conn.execute("SELECT 1 FROM projects WHERE name = ?", (candidate,)).fetchone():
        n += 1
        candidate = f"{name} ({n})"
    return candidate


def _restore_into(conn: sqlite3.Connection, root: str, folder: Path, outside_symlinks: str) -> list[str]:
    """Write tree ``root`` of the file into the new ``folder`` with the restore's own
    plan, checks and writer; returns notes (links left out...)."""
    store = ObjectStore(_FileDB(conn))
    target = dict(store.walk(root))
    plan = rs.plan(target, {})
    rs.check(store, plan, folder)
    result = rs.apply(store, folder, plan, checked=True, outside_symlinks=outside_symlinks,
                      owner=container_user.workspace_owner(folder))
    return [f"not restored: {p} ({why})" for p, why in [*result.refused, *result.failed]]


def run(ctx, path: Path, *, name: str | None = None, as_new: bool = False, say: Say = lambda line: None,
        validate_name: Callable[[str], str]) -> ImportResult:
    """Import the export at ``path`` into ``ctx``'s data dir; see the module docstring."""
    started = time.perf_counter()
    db = ctx.db
    path = Path(path).expanduser()
    limits = ctx.config.values["limits"]
    new_name = validate_name(name) if name is not None else None
    staged = stage(path, ctx.data_dir)
    # immutable: the staged copy is private and never changes (no locks, no -shm even for a WAL file)
    conn = sqlite3.connect(staged.absolute().as_uri() + "?mode=ro&immutable=1", uri=True, isolation_level=None,
                           check_same_thread=False)
    folder: Path | None = None
    try:
        v = verify(conn, path, limits, say)
        source_id = v.project["id"]
        here = db.query_one("SELECT name FROM projects WHERE id = ?", (source_id,))
        if here and not as_new:
            raise StateError(f"project {source_id} ({here['name']}) is already in this data dir (imported before?); "
                             "nothing was imported: pass --as-new to import a copy under a new id")
        ids = [cp["id"] for cp in v.checkpoints]
        if not as_new:
            for i in range(0, len(ids), 500):
                part = ids[i : i + 500]
                clash = db.query_one(f"SELECT id FROM checkpoints WHERE id IN ({','.join('?' * len(part))}) LIMIT 1",
                                     tuple(part))
                if clash:
                    raise StateError(f"checkpoint {clash['id']} of {path} is already in this data dir; nothing was "
                                     "imported: pass --as-new to import a copy under new ids")
        count = db.conn.execute("SELECT COUNT(*) FROM projects").fetchone()[0]
        if count >= limits["max_projects"]:
            raise LimitError(f"this data directory holds {count} projects, the limit ([limits] max_projects); "
                             "delete some first (nothing was imported)")
        pid = new_project_id(source_id.rsplit("-", 1)[0]) if as_new else source_id
        while as_new and db.query_one("SELECT 1 FROM projects WHERE id = ?", (pid,)):
            pid = new_project_id(source_id.rsplit("-", 1)[0])
        idmap = {source_id: pid}
        if as_new:
            idmap.update({cid: new_short_id() for cid in ids})
        by_id = {cp["id"]: cp for cp in v.checkpoints}
        head = v.project["head_checkpoint_id"]
        restored = by_id[head] if head in by_id else v.checkpoints[-1]
        # The workspace first, from the file: the data dir's write lock is held only for the rows.
        say(f"restoring the workspace from checkpoint {restored['id']}")
        final = ctx.workspaces_dir / pid
        if os.path.lexists(final):
            raise StateError(f"the folder {final} is in the way (left by an import that was killed?); run "
                             "`vmuser gc` to reclaim it, then import again (nothing was imported)")
        folder = ctx.workspaces_dir / workspace_orphans.temp_name(pid)
        folder.parent.mkdir(parents=True, exist_ok=True)
        folder.mkdir()
        notes = _restore_into(conn, restored["root_tree"], folder,
                              ctx.config.get("limits", "outside_symlinks"))
        conn.close()
        say("storing the objects and rows")
        try:
            result = _insert(ctx, staged, v, pid, idmap, new_name, folder, final, restored["id"], path)
        except sqlite3.IntegrityError as exc:  # a row the checks let through but this data dir's schema refuses
            raise _refuse(path, f"a row of it does not fit this data dir ({exc})") from None
        result.notes = notes
        result.seconds = round(time.perf_counter() - started, 3)
        return result
    except BaseException:
        if folder is not None:  # (_insert removes the folder itself once it has renamed it)
            shutil.rmtree(folder, ignore_errors=True)
        raise
    finally:
        with contextlib.suppress(sqlite3.Error):
            conn.close()
        for leftover in (staged, Path(f"{staged}-wal"), Path(f"{staged}-shm"), Path(f"{staged}-journal")):
            with contextlib.suppress(OSError):
                leftover.unlink()


_TOKEN = re.compile(r"[0-9a-z][0-9a-z-]*")


def _remap(text: str, idmap: dict[str, str]) -> str:
    """``text`` with every old id (a whole token) replaced by its new one."""
    if len(idmap) <= 1 and not any(k in text for k in idmap):
        return text
    return _TOKEN.sub(lambda m: idmap.get(m.group(0), m.group(0)), text)


def _insert(ctx, staged: Path, v: _Verified, pid: str, idmap: dict[str, str], new_name: str | None,
            folder: Path, final: Path, restored_id: str, path: Path) -> ImportResult:
    """The one write transaction (see the module docstring). Objects go ATTACH + INSERT ...
    SELECT: megabytes of content never pass through Python. The rows that are rewritten
    (new ids, no sessions) go through sqlite-utils' ``insert_all``, inside this transaction
    (sqlite-utils 4 nests its own as a SAVEPOINT)."""
    import sqlite_utils

    db = ctx.db
    main = db.conn
    main.execute("ATTACH DATABASE ? AS x", (str(staged),))
    renamed = False
    try:
        now = int(time.time())
        with db.write() as conn:
            # checked again under the write lock: another import of the same file may have
            # committed since the checks before the restore (two `project import` at once)
            here = conn.execute("SELECT name FROM main.projects WHERE id = ?", (pid,)).fetchone()
            if here:
                raise StateError(f"project {pid} ({here[0]}) is already in this data dir (imported meanwhile?); "
                                 "nothing was imported: pass --as-new to import a copy under a new id")
            before = {t: conn.execute(f"SELECT COUNT(*) FROM main.{t}").fetchone()[0] for t in ("blobs", "trees")}
            offset = conn.execute("SELECT COALESCE(MAX(id), 0) FROM main.packs").fetchone()[0]
            # a pack all of whose members are here already would only take space: left out
            conn.execute(
                "INSERT INTO main.packs (id, codec, size, data, created_at) "
                "SELECT p.id + ?, p.codec, p.size, p.data, ? "
                "FROM x.packs p WHERE EXISTS (SELECT 1 FROM x.blobs b WHERE b.pack_id = p.id AND NOT EXISTS "
                "(SELECT 1 FROM main.blobs m WHERE m.hash = b.hash))", (offset, now))
            conn.execute(
                "INSERT OR IGNORE INTO main.blobs (hash, size, stored_size, codec, data, created_at, pack_id, "
                "pack_offset) SELECT hash, size, stored_size, codec, data, ?, pack_id + ?, pack_offset FROM x.blobs",
                (now, offset))
            conn.execute("INSERT OR IGNORE INTO main.trees (hash, data, created_at) SELECT hash, data, ? FROM x.trees",
                         (now,))
            added = {t: conn.execute(f"SELECT COUNT(*) FROM main.{t}").fetchone()[0] - before[t]
                     for t in ("blobs", "trees")}
            total_blobs = conn.execute("SELECT COUNT(*) FROM x.blobs").fetchone()[0]
            name = _free_name(conn, new_name or v.project["name"].strip())
            stamp = clock.now_iso()
            p = v.project
            conn.execute(
                "INSERT INTO projects (id, name, description, workspace, managed, image, status, pinned, tags, "
                "head_checkpoint_id, keep_until, created_at, updated_at, last_active_at) "
                "VALUES (?,?,?,?,1,?,'active',?,?,?,?,?,?,?)",
                (pid, name, p["description"] or "", str(final), p["image"], int(bool(p["pinned"])), p["tags"],
                 idmap.get(restored_id, restored_id), p["keep_until"], p["created_at"], stamp, stamp))
            utils = sqlite_utils.Database(conn)
            utils.table("checkpoints").insert_all(
                ({**cp, "id": idmap.get(cp["id"], cp["id"]), "project_id": pid,
                  "parent_id": idmap.get(cp["parent_id"], cp["parent_id"]) if cp["parent_id"] else None,
                  "description": _remap(cp["description"] or "", idmap),
                  # sessions and container images stay on the host that made them
                  "session_id": None, "image_id": None} for cp in v.checkpoints), batch_size=500)
            log = conn.execute(f"SELECT {', '.join(transfer_format.LOG_COLUMNS[1:])} FROM x.operation_log ORDER BY id")
            names = transfer_format.LOG_COLUMNS[1:]
            entries = [dict(zip(names, r, strict=True)) for r in log]
            for e in entries:
                e["project_id"] = pid
                e["details"] = _remap(e["details"], idmap) if isinstance(e["details"], str) else e["details"]
            if entries:
                utils.table("operation_log").insert_all(entries, batch_size=500)
            h = v.header
            oplog.record(conn, "project.import", project_id=pid, name=name, file=str(path),
                         source_project=h["project_id"], source_host=h["source_host"],
                         source_version=h["vmuser_version"], format=int(h["format"]), as_new=pid != h["project_id"],
                         checkpoints=len(v.checkpoints), blobs_new=added["blobs"],
                         blobs_shared=total_blobs - added["blobs"], restored_from=idmap.get(restored_id, restored_id))
            workspace_orphans.finish(folder, final)  # last: a failed commit below removes it again
            renamed = True
    except BaseException:
        if renamed:
            shutil.rmtree(final, ignore_errors=True)
        raise
    finally:
        with contextlib.suppress(sqlite3.Error):
            main.execute("DETACH DATABASE x")
    return ImportResult(
        project_id=pid, name=name, source_project_id=h["project_id"], source_host=h["source_host"],
        source_version=h["vmuser_version"], as_new=pid != h["project_id"], checkpoints=len(v.checkpoints),
        log_entries=len(entries), blobs_new=added["blobs"], blobs_shared=total_blobs - added["blobs"],
        trees_new=added["trees"], workspace=str(final), restored_from=idmap.get(restored_id, restored_id),
        seconds=0.0)
