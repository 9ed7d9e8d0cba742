"""The file format of ``vmuser project export``: one SQLite file holding one project.

Tables (format :data:`FORMAT`; any change to them is a new format number, and
:mod:`vmuser_tui.core.import_project` refuses a number above the one it knows):

- ``header(key, value)``: text values; the keys of :data:`HEADER_KEYS`. ``format`` (int),
  ``vmuser_version``, ``created_at`` (ISO UTC), ``source_host``, ``source_schema`` (the
  data dir's schema version), ``project_id``, ``project_name``, ``selection`` (JSON:
  ``since``, ``checkpoints``), ``counts`` (JSON: rows per table and the raw bytes of the
  content) and ``digest``.
- ``project`` (one row), ``checkpoints``, ``operation_log``: the rows of the data dir's
  tables of the same names, column for column (:data:`PROJECT_COLUMNS`...). A checkpoint
  whose parent was not exported names its nearest exported ancestor (or none), as
  ``checkpoint forget`` re-points them.
- ``blobs``, ``packs``, ``trees``: the object store's own rows (see
  :mod:`vmuser_tui.core.store.objects`), only those the exported checkpoints reach. A pack
  is copied whole only when every byte of it belongs to an exported blob; otherwise its
  exported members are packed anew, so the file never carries bytes of files it does not
  list (another project's, a checkpoint left out).

``digest`` is the sha256 of :func:`digest` over the file's rows: every header value but
itself, every metadata row, and every object's hash and sizes. Objects are named by the
sha256 of their content, which the import re-hashes, so the digest covers all content as a
Merkle tree does; a truncated or edited file fails either the digest or an object's hash.
It detects damage and careless edits, not a forger who recomputes it: that is what the
import's own checks are for (every object re-hashed, every tree validated, [limits]).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3

FORMAT = 1
SUFFIX = ".vmuser"  # the suggested file name ending (any name works)

PROJECT_COLUMNS = ("id", "name", "description", "workspace", "managed", "image", "status", "pinned", "tags",
                   "head_checkpoint_id", "keep_until", "created_at", "updated_at", "last_active_at")
CHECKPOINT_COLUMNS = ("id", "project_id", "session_id", "parent_id", "root_tree", "kind", "description", "tags",
                      "annotations", "file_count", "total_size", "image_id", "state", "created_at")
LOG_COLUMNS = ("id", "at", "operation", "actor", "pid", "client_id", "project_id", "session_id", "details")
BLOB_COLUMNS = ("hash", "size", "stored_size", "codec", "data", "created_at", "pack_id", "pack_offset")
PACK_COLUMNS = ("id", "codec", "size", "data", "created_at")
TREE_COLUMNS = ("hash", "data", "created_at")

HEADER_KEYS = ("format", "vmuser_version", "created_at", "source_host", "source_schema", "project_id",
               "project_name", "selection", "counts", "digest")

DDL = """
CREATE TABLE header (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE project (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, description TEXT NOT NULL, workspace TEXT NOT NULL,
    managed INTEGER NOT NULL, image TEXT, status TEXT NOT NULL, pinned INTEGER NOT NULL, tags TEXT NOT NULL,
    head_checkpoint_id TEXT, keep_until TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    last_active_at TEXT NOT NULL
);
CREATE TABLE checkpoints (
    id TEXT PRIMARY KEY, project_id TEXT NOT NULL, session_id TEXT, parent_id TEXT, root_tree TEXT NOT NULL,
    kind TEXT NOT NULL, description TEXT NOT NULL, tags TEXT NOT NULL, annotations TEXT NOT NULL,
    file_count INTEGER NOT NULL, total_size INTEGER NOT NULL, image_id TEXT, state TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE operation_log (
    id INTEGER PRIMARY KEY, at TEXT NOT NULL, operation TEXT NOT NULL, actor TEXT NOT NULL, pid INTEGER NOT NULL,
    client_id TEXT, project_id TEXT, session_id TEXT, details TEXT NOT NULL
);
CREATE TABLE blobs (
    hash TEXT PRIMARY KEY, size INTEGER NOT NULL, stored_size INTEGER NOT NULL, codec TEXT NOT NULL,
    data BLOB NOT NULL, created_at INTEGER NOT NULL, pack_id INTEGER, pack_offset INTEGER
);
CREATE TABLE packs (id INTEGER PRIMARY KEY, codec TEXT NOT NULL, size INTEGER NOT NULL, data BLOB NOT NULL,
                    created_at INTEGER NOT NULL);
CREATE TABLE trees (hash TEXT PRIMARY KEY, data BLOB NOT NULL, created_at INTEGER NOT NULL);
"""

# What the digest reads, table by table, in a fixed order. Object rows contribute their
# names and sizes, not their bytes: the import re-hashes every byte against those names.
_DIGEST_QUERIES = (
    ("project", f"SELECT {', '.join(PROJECT_COLUMNS)} FROM {{s}}project ORDER BY id"),
    ("checkpoints", f"SELECT {', '.join(CHECKPOINT_COLUMNS)} FROM {{s}}checkpoints ORDER BY id"),
    ("operation_log", f"SELECT {', '.join(LOG_COLUMNS)} FROM {{s}}operation_log ORDER BY id"),
    ("blobs", "SELECT hash, size, stored_size, codec, pack_id, pack_offset, length(data) FROM {s}blobs ORDER BY hash"),
    ("packs", "SELECT id, codec, size, length(data) FROM {s}packs ORDER BY id"),
    ("trees", "SELECT hash, length(data) FROM {s}trees ORDER BY hash"),
)


def digest(conn: sqlite3.Connection, header: dict[str, str], schema: str = "") -> str:
    """The sha256 hex of the file's rows (see the module docstring): ``header`` (every key
    but ``digest``) then each table's rows in key order, each value as JSON. ``schema``:
    the attached name with its dot (``"x."``) or ``""``. Raises sqlite3.Error."""
    h = hashlib.sha256()
    for key in sorted(k for k in header if k != "digest"):
        h.update(json.dumps([key, header[key]]).encode())
        h.update(b"\n")
    for table, sql in _DIGEST_QUERIES:
        h.update(f"#{table}\n".encode())
        cur = conn.execute(sql.format(s=schema))
        while rows := cur.fetchmany(2000):
            # one json.dumps per batch: the C encoder, not a Python call per row
            h.update(json.dumps(rows, separators=(",", ":")).encode())
    return h.hexdigest()


def create(conn: sqlite3.Connection, schema: str = "") -> None:
    """Create the format's tables (in the attached database ``schema``, with its dot)."""
    for statement in DDL.split(";"):
        if statement.strip():
            conn.execute(statement.replace("CREATE TABLE ", f"CREATE TABLE {schema}", 1))


__all__ = ["FORMAT", "HEADER_KEYS", "DDL", "digest", "create"]
