"""Named leases in SQLite: who may run a background job, who holds a session read-write.

A lease is a row ``(name, holder, mode, actor, pid, acquired_at, heartbeat_at,
expires_at, host, pid_start)``. Modes: ``job`` and ``rw`` are exclusive (one holder per
name); ``ro`` rows only say "I am looking" and never block anyone. A holder renews its
lease by heartbeat before ``expires_at`` (UTC epoch seconds); a holder that died stops
renewing, and once its lease expired anyone may take it over (the take-over is reported so
that it can be logged). A holder on this host that is known to be dead (its pid gone, a
zombie, or reused by a process with another start time: :func:`procs.alive`, as the
restore journal and git's ``gc.pid`` check their owners) does not have to be waited for:
its lease is free at once. A holder on another host cannot be probed and keeps its lease
until it expires. Everything happens inside ``BEGIN IMMEDIATE`` transactions, so two processes
asking at once cannot both win. This is the lease of Chubby and of etcd, made with one
table; design.md section 5.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vmuser_tui.core import clock, oplog, procs
from vmuser_tui.core.ids import new_short_id

if TYPE_CHECKING:  # pragma: no cover
    from vmuser_tui.core.db import Database

COLUMNS = "name, holder, mode, actor, pid, acquired_at, heartbeat_at, expires_at, host, pid_start"
_FIELDS = tuple(c.strip() for c in COLUMNS.split(","))
EXCLUSIVE = ("job", "rw")
MODES = EXCLUSIVE + ("ro",)


@dataclass(frozen=True)
class Lease:
    """One lease row. ``expires_at`` in UTC epoch seconds; ``acquired_at`` ISO UTC;
    ``host`` and ``pid_start`` (clock ticks since boot) name the holder's process, None in
    rows written before they were recorded."""

    name: str
    holder: str
    mode: str
    actor: str
    pid: int
    acquired_at: str
    heartbeat_at: str
    expires_at: float
    host: str | None = None
    pid_start: int | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any] | Sequence[Any]) -> Lease:
        """From a row selected as :data:`COLUMNS`: a tuple, or a dict from ``Database.query``."""
        if isinstance(row, dict):
            return cls(**{k: row[k] for k in _FIELDS})
        return cls(*tuple(row))

    def expires_in(self, now: float | None = None) -> float:
        """Seconds until the lease expires (negative: expired)."""
        return self.expires_at - (clock.epoch() if now is None else now)

    def holder_dead(self) -> bool:
        """True when the holder's process is known to be gone: it ran on this host, and no
        process with its pid and start time runs any more. False for another host's holder
        and for rows that do not say their host (those wait for their expiry)."""
        return self.host is not None and not procs.alive(self.pid, self.host, start=self.pid_start)

    def free(self, now: float | None = None) -> bool:
        """May another holder take this lease: it expired, or its holder died on this host."""
        return self.expires_in(now) <= 0 or self.holder_dead()

    def describe(self, now: float | None = None) -> str:
        """``alice@host pid 4242 since 10:02, lease expires in 40 s`` (times local to the reader)."""
        since = clock.parse(self.acquired_at).astimezone().strftime("%H:%M")
        left = self.expires_in(now)
        when = f"lease expires in {left:.0f} s" if left >= 0 else f"lease expired {-left:.0f} s ago"
        return f"{self.actor} pid {self.pid} since {since}, {when}"


@dataclass(frozen=True)
class Outcome:
    """What :meth:`Leases.acquire` did. ``ok``: the caller holds the lease now.
    ``held_by``: the live holder that refused it; ``took_over``: the expired lease replaced."""

    ok: bool
    lease: Lease | None = None
    held_by: Lease | None = None
    took_over: Lease | None = None


def new_holder_id() -> str:
    """A holder id unique to this process and client: ``<pid>-<8 hex>``."""
    return f"{os.getpid()}-{new_short_id(8)}"


class Leases:
    """Acquire, renew and release leases for one holder (one client of the database).

    ``holder`` defaults to a fresh :func:`new_holder_id`. ``now`` (a function returning UTC
    epoch seconds) is injectable for tests; leases compare :func:`clock.epoch` otherwise
    (real time, unless a test froze the clock).
    """

    def __init__(self, database: Database, holder: str | None = None, *,
                 now: Callable[[], float] = clock.epoch) -> None:
        self.database = database
        self.holder = holder or new_holder_id()
        self._now = now

    def acquire(self, name: str, *, ttl: float, mode: str = "job", log: bool = True) -> Outcome:
        """Take (or renew) ``name`` for ``ttl`` seconds. An exclusive mode fails while another
        holder's exclusive lease is alive; an expired one, or one whose holder died on this
        host (:meth:`Lease.free`), is taken over (and, with ``log``, written to the operation
        log as ``lease.takeover`` with ``reason`` ``expired`` or ``holder process is
        dead``). ``ro`` always succeeds."""
        if mode not in MODES:
            raise ValueError(f"unknown lease mode {mode!r}")
        now = self._now()
        with self.database.write() as conn:
            rows = [Lease.from_row(r) for r in conn.execute(f"SELECT {COLUMNS} FROM leases WHERE name = ?", (name,))]
            mine = next((r for r in rows if r.holder == self.holder), None)
            took_over = None
            if mode in EXCLUSIVE:
                for other in rows:
                    if other.holder == self.holder or other.mode not in EXCLUSIVE:
                        continue
                    if not other.free(now):
                        return Outcome(False, held_by=other)
                    took_over = other
                    conn.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, other.holder))
                    if log:
                        sid = name.split(":", 1)[1] if name.startswith("session:") else None
                        row = (conn.execute("SELECT project_id FROM sessions WHERE id = ?", (sid,)).fetchone()
                               if sid else None)
                        # expired_s: how long ago it expired; a dead holder's lease may not have yet
                        why = ({"reason": "expired", "expired_s": round(now - other.expires_at, 1)}
                               if other.expires_at <= now else {"reason": "holder process is dead"})
                        oplog.record(conn, "lease.takeover", project_id=row[0] if row else None, session_id=sid,
                                     lease=name, previous=other.actor, previous_pid=other.pid, **why)
            # Read-only rows of holders that stopped heartbeating are dropped as they are met.
            conn.execute("DELETE FROM leases WHERE name = ? AND mode = 'ro' AND expires_at < ? AND holder != ?",
                         (name, now, self.holder))
            stamp = clock.now_iso()
            acquired = mine.acquired_at if (mine and mine.mode == mode) else stamp
            lease = Lease(name, self.holder, mode, oplog.actor(), os.getpid(), acquired, stamp, now + ttl,
                          procs.hostname(), procs.start_ticks())
            conn.execute(f"INSERT OR REPLACE INTO leases({COLUMNS}) VALUES ({','.join('?' * len(_FIELDS))})",
                         tuple(getattr(lease, f) for f in _FIELDS))
        return Outcome(True, lease=lease, took_over=took_over)

    def renew(self, name: str, *, ttl: float) -> bool:
        """Push this holder's lease on ``name`` ``ttl`` seconds ahead; False if it no longer
        holds it (it expired and was taken over)."""
        with self.database.write() as conn:
            cur = conn.execute("UPDATE leases SET heartbeat_at = ?, expires_at = ? WHERE name = ? AND holder = ?",
                               (clock.now_iso(), self._now() + ttl, name, self.holder))
            return cur.rowcount > 0

    def renew_all(self, *, ttl: float) -> int:
        """Heartbeat every lease of this holder; returns how many it still holds."""
        with self.database.write() as conn:
            cur = conn.execute("UPDATE leases SET heartbeat_at = ?, expires_at = ? WHERE holder = ?",
                               (clock.now_iso(), self._now() + ttl, self.holder))
            return cur.rowcount

    def release(self, name: str) -> None:
        """Give up this holder's lease on ``name`` (no error if it is not held)."""
        with self.database.write() as conn:
            conn.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, self.holder))

    def release_all(self) -> None:
        """Give up every lease of this holder (a client closing)."""
        with self.database.write() as conn:
            conn.execute("DELETE FROM leases WHERE holder = ?", (self.holder,))

    def holders(self, name: str, *, live_only: bool = True) -> list[Lease]:
        """The leases on ``name``, exclusive first; with ``live_only``, only those neither
        expired nor held by a process known to be dead (:meth:`Lease.free`)."""
        now = self._now()
        rows = [Lease.from_row(r) for r in self.database.query(
            f"SELECT {COLUMNS} FROM leases WHERE name = ? ORDER BY mode = 'ro', acquired_at", (name,))]
        return [r for r in rows if not live_only or not r.free(now)]
