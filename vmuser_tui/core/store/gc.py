"""Garbage collection (restic's ``prune``): remove blobs and trees no checkpoint reaches.

Roots are every checkpoint's root tree and every stat-cache hash (the stat cache
promises that its blobs are stored). Blobs and trees written since the oldest capture in
progress started (``capture_locks``) are spared, so a concurrent capture is safe.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from vmuser_tui.core.errors import StoreError
from vmuser_tui.core.store.objects import CHUNKS, ObjectStore
from vmuser_tui.core.store.trees import DIR

STALE_LOCK_SECONDS = 6 * 3600


@dataclass
class GcResult:
    """Counts and bytes (stored, i.e. compressed) that gc removed or would remove."""

    blobs: int
    trees: int
    bytes: int
    dry_run: bool


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reachable(database, store: ObjectStore) -> tuple[set[str], set[str]]:
    """``(blob hashes, tree hashes)`` reachable from checkpoints and the stat cache."""
    conn = database.conn
    trees: set[str] = set()
    blobs: set[str] = set(r[0] for r in conn.execute("SELECT DISTINCT hash FROM stat_cache"))
    stack = [r[0] for r in conn.execute("SELECT DISTINCT root_tree FROM checkpoints")]
    while stack:
        digest = stack.pop()
        if digest in trees:
            continue
        trees.add(digest)
        try:
            entries = store.get_tree(digest)
        except StoreError:
            continue  # a missing tree is `vmuser check`'s business, not gc's
        for e in entries:
            (stack.append if e.kind == DIR else blobs.add)(e.hash)
    # chunked files reach their chunks
    chunk_lists = list(blobs)
    for i in range(0, len(chunk_lists), 500):
        part = chunk_lists[i : i + 500]
        marks = ",".join("?" * len(part))
        for (data,) in conn.execute(f"SELECT data FROM blobs WHERE codec = '{CHUNKS}' AND hash IN ({marks})", part):
            blobs.update(data[j : j + 32].hex() for j in range(0, len(data), 32))
    return blobs, trees


def collect(database, store: ObjectStore, *, dry_run: bool = False) -> GcResult:
    """Remove unreachable objects (or, with ``dry_run``, count them). Runs in one write
    transaction, so readers never see a half-pruned store."""
    with database.write() as conn:
        cutoff = int(time.time()) + 1
        for lock_id, pid, started in conn.execute("SELECT id, pid, started_at FROM capture_locks").fetchall():
            if not _alive(pid) or time.time() - started > STALE_LOCK_SECONDS:
                conn.execute("DELETE FROM capture_locks WHERE id = ?", (lock_id,))
            else:
                cutoff = min(cutoff, started - 1)
        blobs, trees = reachable(database, store)
        dead_blobs = [
            (h, n) for h, n in conn.execute("SELECT hash, stored_size FROM blobs WHERE created_at < ?", (cutoff,))
            if h not in blobs
        ]
        dead_trees = [
            (h, n) for h, n in conn.execute("SELECT hash, length(data) FROM trees WHERE created_at < ?", (cutoff,))
            if h not in trees
        ]
        freed = sum(n for _, n in dead_blobs) + sum(n for _, n in dead_trees)
        dead = {h for h, _ in dead_blobs}
        # A pack goes when none of its blobs is left (a partly used pack stays whole).
        live_packs = {pid for h, pid in conn.execute("SELECT hash, pack_id FROM blobs WHERE pack_id IS NOT NULL")
                      if h not in dead}
        dead_packs = [(pid, n) for pid, n in conn.execute("SELECT id, length(data) FROM packs WHERE created_at < ?",
                                                         (cutoff,)) if pid not in live_packs]
        freed += sum(n for _, n in dead_packs)
        if not dry_run:
            conn.executemany("DELETE FROM blobs WHERE hash = ?", [(h,) for h, _ in dead_blobs])
            conn.executemany("DELETE FROM trees WHERE hash = ?", [(h,) for h, _ in dead_trees])
            conn.executemany("DELETE FROM packs WHERE id = ?", [(pid,) for pid, _ in dead_packs])
    if not dry_run and (dead_blobs or dead_packs):
        store.forget_cached_packs()
    return GcResult(len(dead_blobs), len(dead_trees), freed, dry_run)
