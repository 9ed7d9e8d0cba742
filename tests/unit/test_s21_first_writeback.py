"""The write-back queue of a capture (store/writeback.py, s21): a small batch may wait
behind the running write without the capture's thread waiting; writes still run one at
a time, in order; an error stops what was queued behind it and comes out of wait()."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from vmuser_tui.core.errors import StoreError
from vmuser_tui.core.store.writeback import SMALL_BYTES, Writeback


def test_a_small_batch_is_queued_behind_the_running_write_in_order() -> None:
    release = threading.Event()
    running, most, done = [0], [0], []
    lock = threading.Lock()

    def job(n: int, gate: threading.Event | None = None) -> None:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        if gate is not None:
            gate.wait(10)
        with lock:
            running[0] -= 1
        done.append(n)

    with ThreadPoolExecutor(max_workers=4) as pool:
        wb = Writeback(pool)
        wb.submit(job, 0, release, size=100)
        wb.submit(job, 1, size=100)  # returns while job 0 still runs (it waits on the gate)
        assert done == []
        release.set()
        wb.submit(job, 2, size=100)  # two were pending: waits for the first, then queues
        wb.submit(job, 3, size=SMALL_BYTES + 1)  # a big one waits for all before it
        assert done[:3] == [0, 1, 2]
        wb.wait()
        assert done == [0, 1, 2, 3] and most[0] == 1


def test_an_error_stops_the_write_queued_behind_it() -> None:
    gate = threading.Event()
    done = []

    def fail() -> None:
        gate.wait(10)
        raise StoreError("disk full")

    with ThreadPoolExecutor(max_workers=2) as pool:
        wb = Writeback(pool)
        wb.submit(fail, size=10)
        wb.submit(done.append, 1, size=10)
        gate.set()
        with pytest.raises(StoreError, match="disk full"):
            wb.wait()
        assert done == []
        wb.wait()  # nothing in flight any more
        wb.submit(done.append, 2, size=10)
        wb.wait()
        assert done == [2]
