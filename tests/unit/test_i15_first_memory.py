"""A first checkpoint's memory (issue 15, items 4-5): the folder signature fed in two
parts equals the one-shot formula stored signatures were made with, and the stat cache is
written in batches of files, not all at the end."""

from __future__ import annotations

import hashlib
import marshal
from pathlib import Path

from vmuser_tui.core.store import capture as cap
from vmuser_tui.core.store import dirscan


def test_signature_in_two_parts_is_the_stored_formula() -> None:
    raw = [("a.txt", 0o100644, 5, 1_700_000_000_123_456_789, 1_700_000_000_123_456_790, 1234567),
           ("dir", 0o040755, 0, 0, 0, 0), ("é", 0o100600, 2**40, 1, 2, 2**62)]
    subtrees = ["ab" * 32, "cd" * 32]
    old = hashlib.blake2b(marshal.dumps((raw, subtrees), 2), digest_size=20).digest()
    start = dirscan.sig_start(raw)
    assert dirscan.sig_finish(start, subtrees) == old
    assert dirscan.signature(raw, subtrees) == old
    assert dirscan.sig_finish(start, subtrees) == old  # the start hasher is left as it was
    assert dirscan.signature([], []) == hashlib.blake2b(marshal.dumps(([], []), 2), digest_size=20).digest()


def test_cache_rows_are_written_in_batches(tmp_path: Path, monkeypatch) -> None:
    """Many small files compress to less than one byte batch: the stat-cache rows must
    still be flushed every BATCH_PATHS files, not held to the end."""
    from vmuser_tui.core.store.scan import scan

    for i in range(25):
        (tmp_path / f"f{i:02d}.txt").write_text(f"file {i}\n")
    monkeypatch.setattr(cap, "BATCH_PATHS", 10)
    monkeypatch.setattr(cap, "GROUP_FILES", 5)  # the check runs after each group
    found = scan(tmp_path, {})
    batches: list[list[str]] = []
    hashes = cap.hash_pending(tmp_path, found, store=None, workers=2,
                              on_batch=lambda blobs, packs, paths: batches.append(list(paths)))
    assert len(hashes) == 25
    assert [len(b) for b in batches] == [10, 10, 5]
    assert sorted(p for b in batches for p in b) == sorted(found.stats)


def test_writeback_runs_one_write_at_a_time_and_raises_its_error() -> None:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import pytest

    from vmuser_tui.core.errors import StoreError
    from vmuser_tui.core.store.writeback import Writeback

    running, most, done = [0], [0], []
    lock = threading.Lock()

    def job(n: int) -> None:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        threading.Event().wait(0.01)
        with lock:
            running[0] -= 1
        done.append(n)

    def fail() -> None:
        raise StoreError("disk full")

    with ThreadPoolExecutor(max_workers=4) as pool:
        wb = Writeback(pool)
        for n in range(5):
            wb.submit(job, n)
        wb.wait()
        assert done == [0, 1, 2, 3, 4] and most[0] == 1
        wb.submit(fail)
        with pytest.raises(StoreError, match="disk full"):
            wb.submit(job, 5)  # the previous write's error comes out of the next hand-off
        assert 5 not in done
        wb.submit(fail)
        with pytest.raises(StoreError):
            wb.wait()
        wb.wait()  # nothing in flight any more
