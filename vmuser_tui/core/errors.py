"""One error family for the service layer.

Every error carries a one-line message that names the fix. Adapters show ``str(err)``:
the CLI as one stderr line with exit code :attr:`VmuserError.exit_code`, the TUI as a
notification. Tracebacks appear only with ``--debug``.
"""

from __future__ import annotations


class VmuserError(Exception):
    """Base of every error the service layer raises on purpose.

    ``exit_code`` is what the CLI exits with: 1 for errors, 2 for usage errors.
    """

    exit_code = 1


class UsageError(VmuserError):
    """The caller's arguments are malformed (CLI exit code 2)."""

    exit_code = 2


class Aborted(VmuserError):
    """The user declined a confirmation; nothing was changed (CLI exit code 1)."""


class ConfigError(VmuserError):
    """The config file is unreadable or a value has the wrong type or range."""


class NotFoundError(VmuserError):
    """No object matches the given id, id prefix or name."""


class AmbiguousError(VmuserError):
    """An id prefix matches more than one object; the message lists candidates."""


class InvalidPathError(VmuserError):
    """A virtual-filesystem path failed validation (see :mod:`vmuser_tui.core.pathcheck`)."""


class LimitError(VmuserError):
    """A configured limit (file size, entries per directory, projects) would be exceeded."""


class StateError(VmuserError):
    """The object is in a state that does not allow the action (e.g. stopping a stopped session)."""


class RuntimeUnavailableError(VmuserError):
    """The container runtime (Docker engine) cannot be reached or refused the request."""


class StoreError(VmuserError):
    """The checkpoint store is damaged or inconsistent (missing blob, hash mismatch)."""


class ReadOnlyDataError(StoreError):
    """The data directory or its database cannot be written (a read-only mount, or
    permissions): raised when opening it read-write, and by any write of a database opened
    read-only. Commands that only read open it again with ``read_only=True``."""


class DamagedDatabaseError(StoreError):
    """A query met a damaged page or row of the database (a bad disk, a stray tool): made
    from SQLite's error by :func:`damaged_database`, wherever it surfaces (a write, a
    command, a TUI worker, a background job)."""


#: What SQLite says of a damaged page (SQLITE_CORRUPT, SQLITE_NOTADB) or of a text column
#: whose bytes are no longer UTF-8 (Python's sqlite3 raises that as an OperationalError).
_DAMAGE_WORDS = ("malformed", "not a database", "corrupt", "Could not decode to UTF-8")


def damaged_database(exc: BaseException) -> DamagedDatabaseError | None:
    """The one-line error for ``exc`` when it is SQLite's word for a damaged database, else
    None. sqlite3 is not imported here (the CLI's start-up does not pay for it): an error
    from it can only exist once it is loaded."""
    import sys

    sqlite3 = sys.modules.get("sqlite3")
    if isinstance(exc, DamagedDatabaseError):
        return exc
    if sqlite3 is None or not isinstance(exc, sqlite3.DatabaseError):
        return None
    text = " ".join(str(exc).split())
    if not any(word in text for word in _DAMAGE_WORDS):
        return None
    if "Could not decode" in text:  # the row's damaged bytes are not worth showing
        text = text.split(" with text ")[0]
    return DamagedDatabaseError(f"the database is damaged ({text}); see what it affects with: vmuser check")
