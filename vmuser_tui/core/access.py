"""Who may change what: read-only clients, and one read-write holder per session.

Opening a session for work takes the read-write lease ``session:<id>`` (see
:mod:`vmuser_tui.core.leases`); the holder renews it by heartbeat. Every changing
operation of the service layer calls :meth:`Access.check` first, so the rules hold for
the TUI, the CLI and any script alike (design.md section 5):

- a client opened read-only (``vmuser tui --read-only``, ``[ui] read_only``) changes
  nothing: :class:`ReadOnlyError`;
- a project one of whose sessions another client holds read-write is theirs: changes are
  refused with :class:`LeaseHeldError` ("held by alice@host pid 4242 since 10:02, lease
  expires in 40 s");
- once that lease expired (its holder crashed or lost its SSH connection) the client may
  take it over with ``force`` (the CLI's ``--force``); the take-over is logged;
- a lease whose holder is known to be dead (a process on this host that is gone, e.g.
  killed with -9: :meth:`Lease.holder_dead`) is free at once, without ``force``, and its
  take-over is logged too: nobody is left to hand it back.

Automatic checkpoints and other background jobs are not refused: they only add to the
timeline and run under their own job leases.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

from vmuser_tui.core import oplog
from vmuser_tui.core.errors import StateError, VmuserError
from vmuser_tui.core.leases import Lease, Leases, Outcome

if TYPE_CHECKING:  # pragma: no cover
    from vmuser_tui.core.db import Database
    from vmuser_tui.core.models import Session

SESSION_LEASE_TTL = 60.0  # seconds; a TUI heartbeats every HEARTBEAT seconds
HEARTBEAT = 15.0

#: How a note for the user weighs (Textual's notification severities, less ``error``).
NoteSeverity = Literal["information", "warning"]


class ReadOnlyError(StateError):
    """This client was opened read-only and the action would change something."""


class LeaseHeldError(StateError):
    """Another client holds the session read-write (the message says who, since when, and
    when the lease expires)."""


def lease_name(session_id: str) -> str:
    return f"session:{session_id}"


class SessionDoors(Protocol):
    """What :meth:`Access.reconcile` needs of the service layer (``Vmuser``): opening a
    session may start its container again, closing it may stop it."""

    def open_session(self, ref: str, *, mode: str = "rw", take_over: bool = False) -> tuple[Session, Outcome]: ...

    def close_session(self, ref: str) -> str | None: ...


@dataclass
class Attachment:
    """What :meth:`Access.reconcile` found and did: this client's mode per session
    (``rw``/``ro``), every attached session's lease holders, the sessions another client
    holds read-write (live or expired lease), and ``(severity, text)`` lines for the user
    (severity: ``information`` or ``warning``)."""

    attached: dict[str, str] = field(default_factory=dict)
    holders: dict[str, list[Lease]] = field(default_factory=dict)
    held: dict[str, Lease] = field(default_factory=dict)
    notes: list[tuple[NoteSeverity, str]] = field(default_factory=list)

    def blocker(self, session_id: str | None = None) -> tuple[str, Lease] | None:
        """``(session id, lease)`` of another client's read-write hold that refuses a change
        here, or None. ``session_id`` None: a change to the whole project (checkpoint,
        restore, start), refused while any of its sessions is held; else only that
        session's hold counts (exec, shell, stop)."""
        if session_id is None:
            return next(iter(self.held.items()), None)
        lease = self.held.get(session_id)
        return (session_id, lease) if lease is not None else None


def holders_text(holders: list[Lease], me: str) -> str:
    """``you (rw), alice@host pid 4242 (ro)``: who is attached to a session (``me``: this
    client's holder id)."""
    parts = []
    for lease in holders:
        who = "you" if lease.holder == me else f"{lease.actor} pid {lease.pid}"
        mode = lease.mode + (", expired" if lease.expires_in() <= 0 else "")
        parts.append(f"{who} ({mode})")
    return ", ".join(parts) or "nobody"


def held_text(session_id: str, lease: Lease, key: str) -> str:
    """The read-only line: who holds the session and what the user can do about it
    (``key``: the key or option that takes it over, e.g. ``T``)."""
    if lease.expires_in() > 0:
        return (f"read-only: session {session_id} is held read-write by {lease.describe()}; "
                f"{key} to take over when it expires")
    return f"read-only: session {session_id} was held read-write by {lease.describe()}; {key} takes it over"


class Access:
    """The access rules of one client (one :class:`~vmuser_tui.core.service.Vmuser`).

    ``read_only``: refuse every change. ``force``: take over expired read-write leases
    that stand in the way (never a live one).
    """

    #: Seconds between two :meth:`heartbeat` calls of a client that holds leases (an
    #: adapter's timer): well inside a lease's life, so one late beat loses nothing.
    heartbeat_interval: float = HEARTBEAT

    def __init__(self, database: Database, *, read_only: bool = False, force: bool = False, holder: str | None = None,
                 ttl: float = SESSION_LEASE_TTL) -> None:
        self.db = database
        self.read_only = read_only
        self.force = force
        self.ttl = ttl  # seconds a lease lives without a heartbeat
        self.leases = Leases(database, holder or oplog.client_id())

    @property
    def client_id(self) -> str:
        return self.leases.holder

    # -- attaching ----------------------------------------------------------------------
    def attach(self, session_id: str, *, mode: str = "rw", take_over: bool = False) -> Outcome:
        """Attach to a session: ``rw`` takes its read-write lease, ``ro`` registers as a
        viewer. An ``rw`` request refused by a live holder returns ``ok=False`` with
        ``held_by``; an expired holder is replaced only with ``take_over`` (or ``force``),
        else refused the same way so the caller can ask the user first; a dead holder on
        this host is replaced at once (logged)."""
        if mode == "rw" and self.read_only:
            raise ReadOnlyError("this vmuser is read-only: it cannot take a session read-write")
        if self.db.read_only:  # a data directory that cannot be written: look without saying so
            return Outcome(True)
        name = lease_name(session_id)
        if mode == "rw" and not (take_over or self.force):
            for other in self.leases.holders(name, live_only=False):
                if other.holder != self.client_id and other.mode == "rw" and not other.holder_dead():
                    return Outcome(False, held_by=other)
        out = self.leases.acquire(name, ttl=self.ttl, mode=mode)
        if out.ok:
            self._event("session.attach", session_id, mode=mode)
        return out

    def detach(self, session_id: str) -> None:
        """Give up this client's lease (either mode) on the session."""
        if self.db.read_only:
            return
        held = [h for h in self.leases.holders(lease_name(session_id), live_only=False) if h.holder == self.client_id]
        self.leases.release(lease_name(session_id))
        if held:
            self._event("session.detach", session_id, mode=held[0].mode)

    def _event(self, operation: str, session_id: str, **details: object) -> None:
        """attach/detach go to the session's event log (the operation log)."""
        row = self.db.query_one("SELECT project_id FROM sessions WHERE id = ?", (session_id,))
        with self.db.write() as conn:
            oplog.record(conn, operation, project_id=row["project_id"] if row else None, session_id=session_id,
                         **details)

    def heartbeat(self) -> int:
        """Renew every lease of this client; returns how many it still holds."""
        if self.db.read_only:
            return 0
        return self.leases.renew_all(ttl=self.ttl)

    def holders(self, session_id: str) -> list[Lease]:
        """Live leases on the session: the read-write holder first, then viewers."""
        return self.leases.holders(lease_name(session_id))

    def takeovers(self, session_ids: Iterable[str], *, limit: int = 200) -> list[dict]:
        """Operation-log entries (:func:`~vmuser_tui.core.oplog.entries`) of take-overs of
        these sessions' leases, among the last ``limit`` take-overs, newest first, each with
        its ``session_id`` set: a take-over is logged under the lease's name only."""
        names = {lease_name(sid): sid for sid in session_ids}
        out = []
        for entry in oplog.entries(self.db, operation="lease.takeover", limit=limit):
            sid = names.get(str(entry["details"].get("lease", "")))
            if sid:
                out.append({**entry, "session_id": sid})
        return out

    def close(self) -> None:
        """Release everything this client holds (a TUI closing, a CLI command ending)."""
        if self.db.read_only:
            return
        self.leases.release_all()

    def reconcile(self, doors: SessionDoors, wanted: list[str], mine: dict[str, str], *,
                  read_only: bool = False, take_over: str | None = None) -> Attachment:
        """Bring this client's leases in line with ``wanted`` (session ids); blocking (a
        worker's job): opening may start a container.

        ``mine``: what the client held so far (session id -> ``rw``/``ro``). Sessions no
        longer wanted are left (``doors.close_session``). A wanted session is attached
        read-write when nobody else holds it (``take_over``: that session's expired holder
        is replaced, logged), else read-only; ``read_only`` attaches read-only only.
        Nothing is written while nothing changes (an attached session costs two reads),
        so a client can call it every few seconds."""
        me = self.client_id
        out = Attachment()
        for sid in mine:
            if sid not in wanted:
                try:
                    note = doors.close_session(sid)
                except VmuserError:
                    note = None  # deleted meanwhile: its leases went with it
                if note:
                    out.notes.append(("information", note))
        for sid in wanted:
            had = mine.get(sid)
            own = next((r for r in self.leases.holders(lease_name(sid), live_only=False) if r.holder == me), None)
            if read_only:
                if own is None:
                    doors.open_session(sid, mode="ro")
                out.attached[sid] = "ro"
            elif own is not None and own.mode == "rw":
                out.attached[sid] = "rw"
            else:
                session, got = doors.open_session(sid, mode="rw", take_over=sid == take_over)
                if got.ok:
                    out.attached[session.id] = "rw"
                    if got.took_over is not None:
                        old = got.took_over
                        took = f"took session {sid} over from {old.actor} pid {old.pid} (logged)"
                        out.notes.append(("warning", took))
                    elif session.id != sid:
                        again = f"session {sid} (stopped when its last client left) started again as {session.id}"
                        out.notes.append(("information", again))
                    elif had == "ro":
                        out.notes.append(("information", f"session {sid}: read-write now (nobody else holds it)"))
                else:
                    assert got.held_by is not None  # refused: by whom
                    out.held[sid] = got.held_by
                    if own is None:  # (a viewer's row already there: nothing to write)
                        doors.open_session(sid, mode="ro")
                    if had == "rw":
                        lost = f"session {sid} was taken over by {got.held_by.actor} pid {got.held_by.pid}"
                        out.notes.append(("warning", lost + " while this TUI held it; read-only now"))
                    out.attached[sid] = "ro"
        for sid in out.attached:
            rows = self.leases.holders(lease_name(sid), live_only=False)
            # viewers that stopped heartbeating are gone; an expired writer still blocks (until taken over)
            out.holders[sid] = [r for r in rows if r.mode == "rw" or r.expires_in() > 0]
        return out

    # -- the guard ------------------------------------------------------------------------
    def check(self, project_id: str | None, session_id: str | None = None, *, what: str = "change this") -> None:
        """Raise unless this client may change the project (or the session). With
        ``session_id``, only that session's lease counts; with a project only, the leases
        of all its sessions. Raises ReadOnlyError or LeaseHeldError (with the fix)."""
        if self.read_only:
            raise ReadOnlyError(f"read-only: cannot {what}; open vmuser without --read-only to make changes")
        if project_id is None and session_id is None:
            return
        if session_id is not None:
            names = [lease_name(session_id)]
        else:
            names = [lease_name(r["id"]) for r in self.db.query(
                "SELECT id FROM sessions WHERE project_id = ? AND status IN ('created','running','paused')",
                (project_id,))]
        if not names:
            return
        marks = ",".join("?" * len(names))
        rows = self.db.query(f"SELECT name FROM leases WHERE mode = 'rw' AND holder != ? AND name IN ({marks})",
                             (self.client_id, *names))
        for row in rows:
            for other in self.leases.holders(row["name"], live_only=False):
                if other.holder == self.client_id or other.mode != "rw":
                    continue
                sid = row["name"].split(":", 1)[1]
                dead = other.holder_dead()  # nobody to wait for, nobody to ask: free
                if not dead and other.expires_in() > 0:
                    raise LeaseHeldError(f"session {sid} is held read-write by {other.describe()}; "
                                         "open it read-only, or wait until the lease expires")
                if not dead and not self.force:
                    raise LeaseHeldError(f"session {sid} was held read-write by {other.describe()}; "
                                         "take it over with --force")
                # The holder is gone: take its lease over (logged), then give it back, so
                # this one command does not keep the session from everybody else.
                self.leases.acquire(row["name"], ttl=self.ttl, mode="rw", log=True)
                self.leases.release(row["name"])
