"""Hashing processes: read, hash and pack groups of small files on every core.

Why processes: a small file costs ~20 µs of work that holds the GIL (the Python around
``open``/``read``/``fstat``/``close``, a sha256 of a buffer too small for hashlib to
release the GIL, the group's bookkeeping), so the capture's hashing *threads* used about
one core of two on a first checkpoint of 50,000 small files (issue 15, item 4). A child
process has its own GIL: it runs :func:`~vmuser_tui.core.store.smallfiles.hash_small`,
the very function the threads run, and sends back the digests and the group's pack;
the capture's process keeps the scan, the bookkeeping and the SQLite writes.

The children are plain ``python -c`` interpreters (no ``fork`` of a process that has
threads and open SQLite connections, no ``multiprocessing`` re-import of ``__main__``):
start-up ~30 ms, ~29 MiB at most each (measured), so :func:`~vmuser_tui.core.store.capture.hash_pending`
uses them only for many small files (:data:`MIN_FILES`). They live for one capture.

Protocol, over the child's stdin/stdout: each message is a 4-byte little-endian length
and a :mod:`marshal` payload (the child's side is :mod:`.hashchild`, on the same
interpreter binary). First the
parent sends ``(database path or None, level or None)``; then one request per group,
``[(absolute path, size, mtime_ns, ctime_ns, inode, mode)]``, answered in order by
``(b"ok", [sha256 hex], [bytes read], [verdict], pack or None)``
where a verdict is None (read with the scan's stat), a stat tuple (read whole with
another stat) or ``"gone"``/``"changing"``; or ``(b"err", errno, strerror, filename)``
for a read error (EACCES), raised in the parent as that OSError. The child opens the
database read-only, to leave out of a pack the blobs the store already holds.

Each child runs in a session of its own (a Ctrl-C reaches only the capture's process,
which kills its children when the capture fails); a child whose parent dies sees the end
of its input and exits. A child that dies fails the capture with one line
(:class:`StoreError`), never a hang.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from vmuser_tui.core.errors import StoreError
from vmuser_tui.core.store.hashchild import recv, send
from vmuser_tui.core.store.scan import StatInfo

if TYPE_CHECKING:  # pragma: no cover - imported when a capture starts its children (a few ms less start-up)
    from concurrent.futures import Future
    from queue import SimpleQueue

#: Small files pending below which a capture hashes in threads: two children cost ~60 ms
#: of CPU to start, which ~5,000 files repay (measured on 2 cores, a 50,000-file first
#: checkpoint: ~30 µs a file of wall time with threads, ~20 with processes).
MIN_FILES = 5000
#: Groups queued for each child at most (the capture's bound on memory in flight: each
#: ~256 KB read, ~30 KB sent back): ~40 ms of work, more than a batch's write takes, while
#: the capture's thread waits for it and cannot hand out more.
QUEUED_GROUPS = 8
_PACKAGE = str(Path(__file__).resolve().parents[2])  # the vmuser_tui/ folder this process imported
#: The child imports this very package by its folder (not by sys.path, where another
#: install, or none, may be first), then runs :func:`.hashchild.main`.
_CHILD = ("import importlib.util, sys; p = sys.argv[1]; "
          "s = importlib.util.spec_from_file_location('vmuser_tui', p + '/__init__.py', "
          "submodule_search_locations=[p]); m = importlib.util.module_from_spec(s); "
          "sys.modules['vmuser_tui'] = m; s.loader.exec_module(m); "
          "from vmuser_tui.core.store.hashchild import main; main()")


class _Child:
    """One hashing process, its requests in flight (in order) and the thread reading its answers."""

    def __init__(self, env: dict[str, str], config: tuple) -> None:
        import subprocess
        from queue import SimpleQueue

        # A session of its own: a Ctrl-C at the terminal reaches the capture's process only,
        # which then ends its children (killed when the capture fails, see HashProcs).
        # -P: `-c` would put the current folder first on sys.path, and a user often runs vmuser
        # from inside the workspace, where the session's container may have planted a
        # `sqlite3.py` (tests/integration/test_s21_hashproc_cwd.py). Python 3.11+.
        self.proc = subprocess.Popen([sys.executable, "-P", "-c", _CHILD, _PACKAGE], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, close_fds=True,
                                     start_new_session=True)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.wfd = self.proc.stdin.fileno()
        self.rfd = self.proc.stdout.fileno()
        self.lock = threading.Lock()
        self.waiting: deque[tuple[Future, list[tuple]]] = deque()
        self.dead: str | None = None
        self.closing = False
        # Requests go through a writer thread: a write to a full pipe (the child busy with
        # earlier groups) must not stop the capture's thread from handling results.
        self.requests: SimpleQueue[list[tuple] | None] = SimpleQueue()
        try:
            send(self.wfd, config)
        except BaseException:
            self.proc.kill()
            self.proc.wait()
            raise
        self.reader = threading.Thread(target=self._read, name="vmuser-hashproc-r", daemon=True)
        self.writer = threading.Thread(target=self._write, name="vmuser-hashproc-w", daemon=True)
        self.reader.start()
        self.writer.start()

    def submit(self, fut: Future, group: list[tuple]) -> None:
        with self.lock:
            if self.dead is not None:
                fut.set_exception(StoreError(self.dead))
                return
            self.waiting.append((fut, group))
        self.requests.put(group)

    def _write(self) -> None:
        """Send the requests in order; at the None sent by :meth:`close`, end the child's input."""
        while True:
            group = self.requests.get()
            if group is None:
                break
            try:
                send(self.wfd, [(full, *expect) for _, full, _, _, _, _, expect in group])
            except OSError:
                break  # the child is gone: its reader fails what waits
        with contextlib.suppress(OSError):
            assert self.proc.stdin is not None
            self.proc.stdin.close()

    def _read(self) -> None:
        while True:
            try:
                reply = recv(self.rfd)
            except (OSError, ValueError, EOFError):
                reply = None
            if reply is None:
                why = "the hashing processes were stopped" if self.closing else self._why_dead()
            with self.lock:
                if reply is None:
                    self.dead = why
                    waiting, self.waiting = list(self.waiting), deque()
                else:
                    fut, group = self.waiting.popleft()
            if reply is None:
                self.requests.put(None)  # ends the writer if it still waits
                from concurrent.futures import InvalidStateError

                for fut, _ in waiting:
                    with contextlib.suppress(InvalidStateError):  # cancelled meanwhile
                        fut.set_exception(StoreError(self.dead))
                return
            if not fut.set_running_or_notify_cancel():
                continue
            if reply[0] == b"err":
                fut.set_exception(OSError(reply[1], reply[2], reply[3]))
                continue
            _, hexes, sizes, verdicts, pack = reply
            if verdicts.count(None) < len(verdicts):  # some file was read with another stat, or left out
                verdicts = [StatInfo(*how) if how.__class__ is tuple else how for how in verdicts]
            fut.set_result((hexes, sizes, verdicts, pack))

    def _why_dead(self) -> str:
        self.proc.wait()  # its stdout ended: it exits (or has)
        err = b""
        if self.proc.stderr is not None:
            err = self.proc.stderr.read()[-300:]
        last = err.decode(errors="replace").strip().splitlines()[-1:] or ["it was killed"]
        return f"a hashing process stopped ({last[0]}); take the checkpoint again"

    def close(self, kill: bool) -> None:
        """End the child: at the end of its input (it answers what it was sent first), or
        killed. Joins the threads; never polls (``Popen.wait(timeout)`` sleeps in steps)."""
        with self.lock:
            self.closing = True
        if kill:
            self.proc.kill()
        self.requests.put(None)
        self.writer.join()
        self.reader.join(timeout=60)  # the child's stdout ends when it exits
        if self.reader.is_alive():  # a child that hangs: never wait on it for ever
            self.proc.kill()
            self.reader.join()
        self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


class HashProcs:
    """``count`` hashing processes for one capture; :meth:`submit` a group of small-file
    tasks (as :func:`~vmuser_tui.core.store.capture.hash_pending` makes them) and get a
    Future of ``([sha256 hex], [bytes read], [verdict], pack or None)``, one entry a file
    (a verdict as :func:`~vmuser_tui.core.store.smallfiles.hash_small` gives it, but
    None for "read with the stat the scan saw"). Use as a context
    manager: leaving it ends the children (killed when an error is leaving)."""

    def __init__(self, count: int, db_path: str | None, level: int | None) -> None:
        env = dict(os.environ)
        self.children: list[_Child] = []
        try:
            for _ in range(count):
                self.children.append(_Child(env, (db_path, level)))
        except BaseException:
            self.close(kill=True)
            raise

    def submit(self, group: Sequence[tuple]) -> Future:
        """Hash ``group`` in the child with the fewest groups waiting."""
        from concurrent.futures import Future

        fut: Future = Future()
        child = min(self.children, key=lambda c: len(c.waiting))
        child.submit(fut, list(group))
        return fut

    def close(self, kill: bool = False) -> None:
        for child in self.children:
            child.close(kill)
        self.children = []

    def __enter__(self) -> HashProcs:
        return self

    def __exit__(self, exc_type, *exc) -> None:
        self.close(kill=exc_type is not None)


def start(count: int, db_path: str | os.PathLike | None, level: int | None) -> HashProcs | None:
    """:class:`HashProcs`, or None when no child can be started here (no interpreter
    path, say, in an embedded Python): the caller hashes in threads then."""
    if not sys.executable or getattr(sys, "frozen", False) or count < 1:  # a frozen app has no `-c`
        return None
    try:
        return HashProcs(count, None if db_path is None else os.fspath(db_path), level)
    except OSError:
        return None
