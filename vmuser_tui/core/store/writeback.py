"""One database write at a time, run on a pool thread while the caller goes on.

A capture writes its blobs and stat-cache rows in batches (:mod:`.capture`). Written on
the capture's own thread, each batch (~4,000 files: one ``BEGIN IMMEDIATE`` ... ``COMMIT``)
stopped the hand-off of hashed groups for as long as SQLite took, and the hashing threads
ran dry: a first checkpoint of many small files used about one core of two. Here a batch
is handed to the hashing pool instead (SQLite releases the GIL while it works), so the
next groups are read, hashed and packed meanwhile. The pool's threads keep their SQLite
connections across captures (see :meth:`~vmuser_tui.core.store.objects.ObjectStore.pool`),
so no connection is opened per capture.

Writes run one at a time, in order (they never compete for the write lock). A job
waits for the one before it; :meth:`Writeback.submit` returns at once while at most one
*small* job (``size`` up to :data:`SMALL_BYTES`) waits behind the running one, else it
first waits for what runs: memory stays bounded (a big-file batch of 32 MiB is never
queued behind another), and the capture's thread does not stall on every batch of many
small files while its hashing processes run dry (s21: ~0.25 s of a 50,000-file first
checkpoint). An error of a write (a :class:`StoreError`: disk full, database locked) is
raised by a later :meth:`submit` or by :meth:`wait`, and the jobs queued behind it are
not run.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: a capture with nothing to write never loads concurrent.futures
    from concurrent.futures import Executor, Future

#: A job this small (bytes of blob data) may wait behind the running one without the
#: caller waiting: a batch of 4,096 small files is ~2 MB.
SMALL_BYTES = 8 * 1024 * 1024


def _after(before: Future | None, fn: Callable[..., Any], args: tuple) -> Any:
    if before is not None:
        before.result()  # its error stops this job too (re-raised to the caller by wait)
    return fn(*args)


class Writeback:
    """Run ``fn(*args)`` jobs on ``pool`` one at a time, in submission order. ``pool`` may
    be a callable that returns the executor: it is then asked on the first submit, so a
    capture that writes nothing (no change) never makes a thread pool."""

    def __init__(self, pool: Executor | Callable[[], Executor]) -> None:
        self._pool = pool
        self._pending: deque[Future] = deque()

    @property
    def pool(self) -> Executor:
        if callable(self._pool):
            self._pool = self._pool()
        return self._pool

    def submit(self, fn: Callable[..., Any], *args: Any, size: int = SMALL_BYTES + 1) -> None:
        """Start ``fn(*args)`` after the jobs before it; wait first for those running
        unless this one is small (``size`` bytes) and only one runs (see above)."""
        while self._pending and (len(self._pending) >= 2 or size > SMALL_BYTES):
            self._pending.popleft().result()
        before = self._pending[-1] if self._pending else None
        self._pending.append(self.pool.submit(_after, before, fn, args))

    def wait(self) -> None:
        """Wait for every job submitted; re-raises the first error."""
        error: BaseException | None = None
        while self._pending:
            try:
                self._pending.popleft().result()
            except BaseException as exc:  # wait for the rest all the same: none may still run after
                error = error or exc
        if error is not None:
            raise error
