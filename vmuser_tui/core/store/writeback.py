"""One database write at a time, run on a pool thread while the caller goes on.

A capture writes its blobs and stat-cache rows in batches (:mod:`.capture`). Written on
the capture's own thread, each batch (~4,000 files: one ``BEGIN IMMEDIATE`` ... ``COMMIT``)
stopped the hand-off of hashed groups for as long as SQLite took, and the hashing threads
ran dry: a first checkpoint of many small files used about one core of two. Here a batch
is handed to the hashing pool instead (SQLite releases the GIL while it works), so the
next groups are read, hashed and packed meanwhile. The pool's threads keep their SQLite
connections across captures (see :meth:`~vmuser_tui.core.store.objects.ObjectStore.pool`),
so no connection is opened per capture.

At most one write is in flight: :meth:`Writeback.submit` first waits for the previous
one, which bounds memory (one batch written, one being gathered) and keeps the writes
from competing for the write lock. An error of a write (a :class:`StoreError`: disk full,
database locked) is raised by the next :meth:`submit` or by :meth:`wait`.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any


class Writeback:
    """Run ``fn(*args)`` jobs on ``pool`` one at a time, in submission order."""

    def __init__(self, pool: Executor) -> None:
        self.pool = pool
        self._pending: Future | None = None

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        """Wait for the previous job (re-raising its error), then start this one."""
        self.wait()
        self._pending = self.pool.submit(fn, *args)

    def wait(self) -> None:
        """Wait for the job in flight, if any; re-raises its error."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()
