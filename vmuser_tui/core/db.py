"""Open the SQLite database: file modes, pragmas, migrations, transactions, id prefixes.

Many processes share one database file (CLI, TUIs, headless worker), so: WAL journal,
a ``busy_timeout``, and every write transaction starts with ``BEGIN IMMEDIATE`` (a
deferred transaction that later upgrades to a write can fail with SQLITE_BUSY whatever
the timeout).

A data directory that cannot be written (a read-only mount, a backup, another user's
files) can still be read: ``Database(path, read_only=True)`` opens it with SQLite's
``mode=ro`` URI, and no migration, WAL switch or write runs (see :class:`ReadOnlyDataError`).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vmuser_tui.core import schema
from vmuser_tui.core.errors import (
    AmbiguousError,
    NotFoundError,
    ReadOnlyDataError,  # defined with the other errors; still importable from here
    StoreError,
    VmuserError,
    damaged_database,
)

if TYPE_CHECKING:  # pragma: no cover - imported on first use (start-up time)
    import sqlite_utils

DB_NAME = "vmuser.db"
BUSY_TIMEOUT_MS = 30_000
MIN_PREFIX = 4


class Database:
    """The vmuser database: one SQLite connection per thread (sqlite-utils via :attr:`utils`).

    Each thread gets its own connection (autocommit mode), so a thread never sees another
    thread's uncommitted writes, and SQLite's own locking (``BEGIN IMMEDIATE`` plus
    ``busy_timeout``) serializes writers across threads and processes alike.

    ``read_only``: open an existing database for reading only (``mode=ro``); it must be at
    this vmuser's schema version (an older one cannot be migrated without writing), and
    :meth:`write` raises :class:`ReadOnlyDataError`. Raises NotFoundError without a file.
    """

    def __init__(self, path: Path, *, create: bool = True, read_only: bool = False):
        self.path = Path(path)
        self.read_only = read_only
        if not self.path.exists() and (not create or read_only):
            raise NotFoundError(f"no database at {self.path}")
        fresh = not self.path.exists()
        if fresh:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Create with 0600 before SQLite writes anything into it.
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._closed = False
        self._utils: sqlite_utils.Database | None = None
        try:
            if read_only:
                self._check_version()
            else:
                if not fresh:
                    self._probe_wal()
                self._migrate()
        except BaseException:
            self.close()  # an open handle would keep e.g. a read-only mount busy
            raise

    def _connect(self) -> sqlite3.Connection:
        if self.read_only:
            conn = self._connect_read_only()
            with self._all_lock:
                self._all.append(conn)
            return conn
        try:
            conn = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
            )
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            # Refuse another program's file, or a newer vmuser's, before WAL mode changes it.
            # The version and the tables in one statement, so one snapshot: read apart, another
            # process's first migration could commit between them and its fresh tables at
            # "version 0" looked like another program's (tests/integration/test_s21_fresh_open_race.py).
            version, tables = conn.execute(_VERSION_AND_TABLES).fetchone()
            if version == 0 and tables:
                _refuse_foreign(conn, self.path)
            elif version > schema.LATEST:
                conn.close()
                raise _too_new(self.path, version)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            # Checkpoint the WAL every ~40 MB instead of every 4 MB: a first capture of a big
            # workspace then copies each b-tree page to the database once, not ten times, and
            # fsyncs once (measured: 50,000-file first checkpoint 1.10 s -> 1.00 s).
            conn.execute("PRAGMA wal_autocheckpoint = 10000")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA temp_store = MEMORY")
        except sqlite3.DatabaseError as exc:
            raise _read_only(self.path) or _unreadable(self.path, exc) from None
        with self._all_lock:
            self._all.append(conn)
        return conn

    def _probe_wal(self) -> None:
        """Refuse, before any read-write connection exists, a database that reads as not
        vmuser's (or a newer vmuser's) through a non-empty ``-wal`` beside it. SQLite cannot
        tell a WAL of another file from the database's own, and the last read-write connection
        to close copies the WAL's pages into the file: refusing after that (session 22) had
        already overwritten vmuser.db. A ``mode=ro`` connection never writes the file. When
        the file alone (``immutable=1``: no WAL) is vmuser's, the WAL is named as the culprit."""
        wal = self.path.with_name(self.path.name + "-wal")
        try:
            if wal.stat().st_size == 0:
                return
        except OSError:
            return
        uri = self.path.absolute().as_uri()
        try:
            conn = sqlite3.connect(uri + "?mode=ro", uri=True, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        except sqlite3.Error:
            return  # e.g. no -shm can be made: the read-write open says what is wrong
        try:
            try:
                version, tables = conn.execute(_VERSION_AND_TABLES).fetchone()
                if version == 0 and tables:
                    _refuse_foreign(conn, self.path)
                elif version > schema.LATEST:
                    raise _too_new(self.path, version)
            except sqlite3.OperationalError as exc:
                if "unable to open" in str(exc) or "locked" in str(exc) or "busy" in str(exc):
                    return  # not ours to judge here: the read-write open reports it
                raise _unreadable(self.path, exc) from None
            except sqlite3.DatabaseError as exc:
                raise _unreadable(self.path, exc) from None
        except StoreError as exc:
            if _vmuser_file_alone(uri):
                why = str(exc).split("; ")[0].replace(f"{self.path} ", f"{self.path.name} ", 1)
                raise StoreError(f"{wal} is not {self.path.name}'s own (read through it, {why}); move {wal.name} "
                                 "aside (keep a copy) and try again") from None
            raise
        finally:
            conn.close()

    def _connect_read_only(self) -> sqlite3.Connection:
        """A connection that cannot write. ``mode=ro`` reads a WAL database through its
        ``-wal`` and ``-shm`` files, but SQLite must be able to create the ``-shm`` when it is
        missing (the last writer removed both on closing), which a read-only folder forbids.
        Then, and only when no ``-wal`` holds commits the database file lacks, the file alone
        is the whole database and ``immutable=1`` reads it without any shared memory. A
        non-empty ``-wal`` without a usable ``-shm`` (a writer was killed) is refused: reading
        around it would show old data."""
        uri = self.path.absolute().as_uri()
        wal = self.path.with_name(self.path.name + "-wal")
        try:
            conn = sqlite3.connect(uri + "?mode=ro", uri=True, isolation_level=None, check_same_thread=False,
                                   timeout=BUSY_TIMEOUT_MS / 1000)
            conn.execute("PRAGMA user_version").fetchone()
        except sqlite3.OperationalError as exc:
            if "unable to open" not in str(exc):
                raise _unreadable(self.path, exc) from None
            if wal.exists() and wal.stat().st_size > 0:
                raise StoreError(f"{self.path} has changes not yet merged from {wal.name} (a vmuser was killed) and "
                                 "the data directory is read-only; open it read-write once, or pass --data-dir DIR"
                                 ) from None
            try:
                conn = sqlite3.connect(uri + "?mode=ro&immutable=1", uri=True, isolation_level=None,
                                       check_same_thread=False)
                conn.execute("PRAGMA user_version").fetchone()
            except sqlite3.DatabaseError as exc2:
                raise _unreadable(self.path, exc2) from None
        except sqlite3.DatabaseError as exc:
            raise _unreadable(self.path, exc) from None
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA temp_store = MEMORY")
        return conn

    def _check_version(self) -> None:
        """A read-only open cannot migrate: the database must be at :data:`schema.LATEST`."""
        version = self._stored_version()
        if version == 0:
            _refuse_foreign(self.conn, self.path)
            raise StoreError(f"{self.path} is empty and the data directory is read-only; pass --data-dir DIR")
        if version < schema.LATEST:
            raise StoreError(f"{self.path} was written by an older vmuser (schema {version}, this one needs "
                             f"{schema.LATEST}) and cannot be upgraded read-only; open it read-write once")

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            if self._closed:
                raise StoreError(f"the database {self.path} was closed")
            conn = self._local.conn = self._connect()
        return conn

    @property
    def utils(self) -> sqlite_utils.Database:
        """A sqlite-utils ``Database`` on the opening thread's connection (imported on first
        use: it costs ~30 ms of start-up that list commands should not pay)."""
        if self._utils is None:
            import sqlite_utils

            self._utils = sqlite_utils.Database(self.conn)
        return self._utils

    def _stored_version(self) -> int:
        """The schema version the file holds. Raises StoreError for an unreadable file or one
        from a newer vmuser."""
        try:
            version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise _unreadable(self.path, exc) from None
        if version > schema.LATEST:
            raise _too_new(self.path, version)
        return version

    def _migrate(self) -> None:
        version = self._stored_version()
        while version < schema.LATEST:
            with self.write() as conn:
                current = conn.execute("PRAGMA user_version").fetchone()[0]
                if current != version:  # another process migrated meanwhile
                    version = current
                    continue
                for statement in _split_sql(schema.MIGRATIONS[version]):
                    conn.execute(statement)
                version += 1
                conn.execute(f"PRAGMA user_version = {version}")

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction on this thread's connection: ``BEGIN IMMEDIATE`` ... ``COMMIT``
        (``ROLLBACK`` on error).

        Re-entrant within one thread: an inner block joins the outer transaction.
        Raises :class:`StoreError` for disk-full, read-only, locked or corrupt databases.
        """
        if self.read_only:
            raise read_only_error(self.path)
        conn = self.conn
        if conn.in_transaction:
            yield conn
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise _translate(exc, self.path) from None
        try:
            yield conn
        except BaseException as exc:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            # A full disk or a read-only file usually shows in the middle of the body (when
            # SQLite spills pages to the WAL), not at COMMIT: the same one-line error then.
            if isinstance(exc, sqlite3.OperationalError) and _environmental(exc):
                raise _translate(exc, self.path) from None
            damage = damaged_database(exc) if isinstance(exc, sqlite3.DatabaseError) else None
            if damage is not None:  # a StoreError: callers that go on after one (recovery) do
                raise damage from None
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise damaged_database(exc) or _translate(exc, self.path) from None

    def query(self, sql: str, params: tuple | dict = ()) -> list[dict[str, Any]]:
        """Run a read query and return rows as dicts."""
        cur = self.conn.execute(sql, params)
        cols = [d[0] for d in cur.description or ()]
        return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]

    def query_one(self, sql: str, params: tuple | dict = ()) -> dict[str, Any] | None:
        """The first row of a read query, or None."""
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def data_version(self) -> int:
        """``PRAGMA data_version``: changes when another connection commits (cheap to poll)."""
        return self.conn.execute("PRAGMA data_version").fetchone()[0]

    def resolve(
        self, table: str, text: str, *, what: str, extra_where: str = "", params: tuple = (),
        exact_only: bool = False,
    ) -> str:
        """Resolve a full id or a unique id prefix (as git does) to the full id.

        A prefix needs at least :data:`MIN_PREFIX` characters, as git's abbreviated
        object names do, so a stray ``2`` never selects something to restore or delete.
        ``exact_only`` skips prefix matching. Raises :class:`NotFoundError` when nothing
        matches and :class:`AmbiguousError` listing the candidates when several do.
        """
        text = text.strip()
        if not text:
            raise NotFoundError(f"empty {what} id")
        where = f" AND {extra_where}" if extra_where else ""
        exact = self.conn.execute(f"SELECT id FROM {table} WHERE id = ?{where}", (text, *params)).fetchone()
        if exact:
            return exact[0]
        if exact_only:
            raise NotFoundError(f"no {what} matches {text!r}; list them with: vmuser {what} list")
        if len(text) < MIN_PREFIX:
            raise NotFoundError(
                f"no {what} has the id {text!r}; an id prefix needs at least {MIN_PREFIX} characters"
            )
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = self.conn.execute(
            f"SELECT id FROM {table} WHERE id LIKE ? ESCAPE '\\'{where} ORDER BY id LIMIT 6",
            (escaped + "%", *params),
        ).fetchall()
        if not rows:
            raise NotFoundError(f"no {what} matches {text!r}; list them with: vmuser {what} list")
        if len(rows) > 1:
            names = ", ".join(r[0] for r in rows[:5]) + (", ..." if len(rows) > 5 else "")
            raise AmbiguousError(f"{what} id {text!r} is ambiguous ({names}); give more characters")
        return rows[0][0]

    def close(self) -> None:
        """Close every thread's connection (the last one out checkpoints the WAL)."""
        self._closed = True
        with self._all_lock:
            conns, self._all = self._all, []
        for conn in conns:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
        self._local = threading.local()


#: The schema version and the number of tables, in one statement (one snapshot).
_VERSION_AND_TABLES = ("SELECT user_version, (SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' "
                       "AND name NOT LIKE 'sqlite_%') FROM pragma_user_version")


def _vmuser_file_alone(uri: str) -> bool:
    """True when the database file read without its WAL (``immutable=1``) is a vmuser one."""
    try:
        conn = sqlite3.connect(uri + "?mode=ro&immutable=1", uri=True)
    except sqlite3.Error:
        return False
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        return 0 < version <= schema.LATEST
    except sqlite3.Error:
        return False
    finally:
        conn.close()


def _split_sql(script: str) -> list[str]:
    """Split a migration script into statements: comment lines go first (they may hold
    semicolons), then split at ``;`` (our migrations have none inside literals), joining
    pieces until SQLite calls the statement complete (a trigger's ``BEGIN ... END`` holds
    several ``;``)."""
    code = "\n".join(ln for ln in script.splitlines() if not ln.strip().startswith("--"))
    out: list[str] = []
    pending = ""
    for piece in code.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                out.append(pending.strip().removesuffix(";").strip())
            pending = ""
    if pending.strip(" \n;"):
        out.append(pending.strip().removesuffix(";").strip())
    return out


def _too_new(path: Path, version: int) -> StoreError:
    return StoreError(f"{path} has schema version {version}, newer than this vmuser knows ({schema.LATEST}); "
                      "upgrade vmuser (pip install -U vmuser-tui) or pass --data-dir DIR")


def _refuse_foreign(conn: sqlite3.Connection, path: Path) -> None:
    """Raise :class:`StoreError` when a database vmuser has not migrated yet already holds
    tables: another program's file, which vmuser must neither migrate nor switch to WAL."""
    names = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name LIMIT 4")]
    if names:
        conn.close()
        listed = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
        raise StoreError(f"{path} is another program's SQLite database (tables {listed}), not vmuser's; "
                         "move it aside or pass --data-dir DIR")


def _unreadable(path: Path, exc: sqlite3.DatabaseError) -> StoreError:
    """One line for a database file SQLite cannot open: not SQLite at all, or damaged."""
    msg = str(exc)
    if "not a database" in msg:
        what = "is not an SQLite database"
    elif "malformed" in msg or "corrupt" in msg:
        what = f"is damaged ({msg})"
    else:
        what = f"cannot be opened ({msg})"
    return StoreError(f"{path} {what}; move it aside (keep a copy) or pass --data-dir DIR")


def _environmental(exc: sqlite3.OperationalError) -> bool:
    """True for errors the machine causes (full disk, read-only file, lock held, I/O), not vmuser's SQL."""
    msg = str(exc)
    return any(word in msg for word in ("full", "readonly", "read-only", "locked", "busy", "disk I/O"))


def read_only_error(path: Path) -> ReadOnlyDataError:
    """The one line for a change asked of a database that cannot be written."""
    return _read_only(path) or ReadOnlyDataError(
        f"the data directory {path.parent} is opened read-only; make it writable or pass --data-dir DIR")


def _read_only(path: Path) -> ReadOnlyDataError | None:
    """The error for a database SQLite could not open because it or its folder cannot be
    written (a read-only mount, or permissions), else None. WAL mode needs to create
    ``-wal`` and ``-shm`` files beside the database, so the folder must be writable too."""
    folder = path.parent
    if folder.is_dir() and not os.access(folder, os.W_OK):
        return ReadOnlyDataError(f"the data directory {folder} is read-only; make it writable or pass --data-dir DIR")
    if path.exists() and not os.access(path, os.W_OK):
        return ReadOnlyDataError(f"{path} is read-only; fix its permissions or pass --data-dir DIR")
    return None


def _translate(exc: sqlite3.DatabaseError, path: Path) -> VmuserError:
    msg = str(exc)
    if "full" in msg:
        return StoreError(f"disk full while writing {path}; free space and try again (nothing was changed)")
    if "readonly" in msg or "read-only" in msg:
        return ReadOnlyDataError(f"{path} is read-only; fix its permissions or pass --data-dir (nothing was changed)")
    if "locked" in msg or "busy" in msg:
        return StoreError(f"{path} stayed locked by another vmuser process for {BUSY_TIMEOUT_MS // 1000}s; try again")
    return StoreError(f"database error on {path}: {msg}")
