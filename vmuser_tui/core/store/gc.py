"""Garbage collection (restic's ``prune``): remove blobs and trees no checkpoint reaches.

Roots are every checkpoint's root tree, every stat-cache hash (the stat cache
promises that its blobs are stored), every folder signature's tree (``stat_dirs``) and
both trees of every restore still in the journal
(its target must stay restorable until the restore is finished or rolled back). Blobs and
trees written since the oldest capture in progress started (``capture_locks``) are
spared, so a concurrent capture is safe. While a capture runs (from the moment it first
reads a file: a standalone capture that reads none writes no lock), no blob is removed at all:
a capture decides outside its transactions that a small file's blob is already stored
(so it does not store it again), and an old unreachable blob it is about to reuse must
not go before the capture commits (restic's prune takes an exclusive lock for the same
reason). Trees need no such care: a capture looks for them inside its final
transaction. A lock whose process is gone (killed, crashed) is deleted, so it cannot
hold gc back for ever; see :func:`lock_is_stale`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from vmuser_tui.core import procs
from vmuser_tui.core.errors import StoreError
from vmuser_tui.core.store.objects import LISTS_SQL, ObjectStore
from vmuser_tui.core.store.trees import DIR

STALE_LOCK_SECONDS = 6 * 3600


@dataclass
class GcResult:
    """Counts and bytes (stored, i.e. compressed) that gc removed or would remove."""

    blobs: int
    trees: int
    bytes: int
    dry_run: bool
    images: list = field(default_factory=list)  # container images of forgotten checkpoints (references)
    workspaces: list = field(default_factory=list)  # orphan workspace folders (core.workspace_orphans.Orphan)
    problems: list = field(default_factory=list)  # one line per orphan folder that could not be removed


def lock_is_stale(pid: int, host: str, started_at: float, now: float | None = None) -> bool:
    """True when a ``capture_locks`` row no longer protects a capture: its process is gone
    from this host (killed or crashed, reaped or not), or the row is older than
    :data:`STALE_LOCK_SECONDS` (a lock from another host cannot be probed, nor a reused pid
    told apart). ``started_at`` and ``now`` are seconds since the epoch."""
    now = time.time() if now is None else now
    return now - started_at > STALE_LOCK_SECONDS or not procs.alive(pid, host)


def reachable(database, store: ObjectStore) -> tuple[set[str], set[str]]:
    """``(blob hashes, tree hashes)`` reachable from checkpoints, the stat cache, folder
    signatures and the restore journal."""
    conn = database.conn
    trees: set[str] = set()
    blobs: set[str] = {r[0] for r in conn.execute("SELECT DISTINCT hash FROM stat_cache")}
    stack = [r[0] for r in conn.execute("SELECT DISTINCT root_tree FROM checkpoints")]
    # the standalone scan reuses these trees for folders that did not change (store/dirscan.py)
    stack += [r[0] for r in conn.execute("SELECT DISTINCT tree FROM stat_dirs")]
    for target, pre in conn.execute("SELECT target_tree, pre_tree FROM restore_journal"):
        stack.extend(t for t in (target, pre) if t)
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
        for (data,) in conn.execute(f"SELECT data FROM blobs WHERE codec IN {LISTS_SQL} AND hash IN ({marks})", part):
            blobs.update(data[j : j + 32].hex() for j in range(0, len(data), 32))
    return blobs, trees


def collect(database, store: ObjectStore, *, dry_run: bool = False) -> GcResult:
    """Remove unreachable objects (or, with ``dry_run``, count them). Runs in one write
    transaction, so readers never see a half-pruned store. With a capture in progress,
    only trees are removed (see the module docstring); blobs wait for the next run."""
    with database.write() as conn:
        cutoff = int(time.time()) + 1
        capturing = False
        locks = conn.execute("SELECT id, pid, host, started_at FROM capture_locks").fetchall()
        for lock_id, pid, host, started in locks:
            if lock_is_stale(pid, host, started):
                conn.execute("DELETE FROM capture_locks WHERE id = ?", (lock_id,))
            else:
                cutoff = min(cutoff, started - 1)
                capturing = True
        blobs, trees = reachable(database, store)
        dead_blobs = [] if capturing else [
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
