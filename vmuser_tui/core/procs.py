"""Is the process that wrote a lock or journal row still running?

Rows in ``capture_locks`` and ``restore_journal`` name their owner by host, pid and (on
Linux) the process's start time, as git's ``index.lock`` and ``gc.pid`` name theirs by
host and pid. ``kill(pid, 0)`` alone is not enough: a pid is reused once its process is
reaped, and a killed child that is not reaped yet (a zombie) still answers. So a process
counts as gone when no process has that pid, when the process is a zombie, or when the
process now holding the pid started at another time than the row's owner did.
"""

from __future__ import annotations

import os
from functools import lru_cache


@lru_cache(maxsize=1)
def hostname() -> str:
    """This host's name, as lock and journal rows record it: ``socket.gethostname()``'s
    answer, which on POSIX is uname's nodename (read here without loading :mod:`socket`,
    ~2 ms of every command's start-up; issue 15)."""
    return os.uname().nodename


def _stat(pid: int) -> tuple[str, int] | None:
    """``(state letter, start time in clock ticks since boot)`` from ``/proc/<pid>/stat``,
    or None where there is no such file (no procfs, or the process is gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ")".
    fields = data[data.rfind(b")") + 2 :].split()
    try:
        return fields[0].decode(), int(fields[19])  # fields 3 and 22 of proc(5)
    except (IndexError, ValueError):
        return None


def start_ticks(pid: int | None = None) -> int | None:
    """Start time of process ``pid`` (default: this one) in clock ticks since boot, or None
    where it cannot be read (not Linux). Stored beside a pid so that a reused pid is told apart."""
    st = _stat(os.getpid() if pid is None else pid)
    return st[1] if st else None


def alive(pid: int, host: str | None = None, *, start: int | None = None) -> bool:
    """False only when the process is known to be gone; True when it runs or nobody can tell.

    ``host``: the host the row was written on; a process on another host cannot be probed, so
    it counts as alive (callers fall back on the row's age). ``start``: the owner's start time
    in clock ticks (:func:`start_ticks`); a process with that pid but another start time is a
    younger one that reused the pid. Without ``start`` a reused pid counts as alive: callers
    err on the side of waiting (a stale lock expires by age), never of breaking a live owner.
    """
    if host is not None and host != hostname():
        return True
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process: it exists
    st = _stat(pid)
    if st is None:
        return True  # no procfs: trust kill()
    state, ticks = st
    if state in ("Z", "X"):  # killed but not reaped yet
        return False
    return start is None or ticks == start
