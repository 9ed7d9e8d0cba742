"""Garbage collection: unreachable blobs and trees go, everything reachable stays."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from vmuser_tui.core.store.objects import CHUNK_THRESHOLD

from wsutil import clear, describe_difference, snapshot, write

SHARED = b"identical content in both projects\n" * 10


def object_hashes(vm) -> tuple[set[str], set[str]]:
    blobs = {r["hash"] for r in vm.db.query("SELECT hash FROM blobs")}
    trees = {r["hash"] for r in vm.db.query("SELECT hash FROM trees")}
    return blobs, trees


def reachable_from(vm, root: str) -> tuple[set[str], set[str]]:
    """Blob and tree hashes one checkpoint needs, chunks included."""
    blobs, trees = set(), {root}
    for _, e in vm.ctx.store.walk(root):
        if e.kind == "dir":
            trees.add(e.hash)
        else:
            blobs.add(e.hash)
            row = vm.db.query_one("SELECT codec, data FROM blobs WHERE hash = ?", (e.hash,))
            if row["codec"] in ("chunks", "cdc"):
                blobs.update(row["data"][i : i + 32].hex() for i in range(0, len(row["data"]), 32))
    return blobs, trees


@pytest.fixture
def two_projects(vm):
    rng = random.Random(3)
    a = vm.projects.create("Doomed")
    b = vm.projects.create("Survivor")
    for p, tag in ((a, b"A"), (b, b"B")):
        ws = Path(p.workspace)
        write(ws, "shared.txt", SHARED)
        write(ws, "own.txt", tag * 100)
        write(ws, "sub/deep/own.bin", rng.randbytes(2000))
        write(ws, "big.bin", rng.randbytes(CHUNK_THRESHOLD + 4096))  # chunked
    cps = {}
    for p in (a, b):
        ws = Path(p.workspace)
        c1 = vm.checkpoints.create(p.id).checkpoint
        write(ws, "own.txt", b"second version " * 10)
        c2 = vm.checkpoints.create(p.id).checkpoint
        cps[p.id] = (c1, c2)
    return a, b, cps


def test_gc_after_project_delete(vm, two_projects):
    a, b, cps = two_projects
    b_ws = Path(b.workspace)
    b_snap_latest = snapshot(b_ws)
    need_b_blobs, need_b_trees = set(), set()
    for cp in cps[b.id]:
        bl, tr = reachable_from(vm, cp.root_tree)
        need_b_blobs |= bl
        need_b_trees |= tr
    a_only_blobs = set()
    for cp in cps[a.id]:
        a_only_blobs |= reachable_from(vm, cp.root_tree)[0]
    a_only_blobs -= need_b_blobs
    assert a_only_blobs  # the doomed project has content of its own

    result = vm.projects.delete(a.id, sessions=vm.sessions)
    assert result["workspace_removed"] and not Path(a.workspace).exists()
    assert result["gc"]["blobs"] > 0 and result["gc"]["trees"] > 0 and result["gc"]["bytes"] > 0
    blobs, trees = object_hashes(vm)
    assert not (a_only_blobs & blobs)  # its own content is gone, chunks included
    assert need_b_blobs <= blobs and need_b_trees <= trees  # the survivor keeps all it needs
    assert vm.gc().blobs == 0  # nothing left to collect

    # the survivor's checkpoints still restore, byte for byte
    c1, c2 = cps[b.id]
    vm.restores.restore(c1.id)
    assert (b_ws / "own.txt").read_bytes() == b"B" * 100
    assert (b_ws / "shared.txt").read_bytes() == SHARED
    clear(b_ws)
    vm.restores.restore(c2.id)
    now = snapshot(b_ws)
    assert now == b_snap_latest, describe_difference(now, b_snap_latest)


def _forget(vm, checkpoint_ids: list[str]) -> None:
    """Drop checkpoint rows, as retention's `forget` does (core has no API for it yet)."""
    with vm.db.write() as conn:
        conn.executemany("DELETE FROM checkpoints WHERE id = ?", [(c,) for c in checkpoint_ids])


def test_gc_dry_run_deletes_nothing_and_predicts_the_real_run(vm, two_projects):
    a, b, cps = two_projects
    _forget(vm, [cps[a.id][0].id])  # a's first checkpoint: its old own.txt becomes unreachable
    before = object_hashes(vm)
    log_before = len(vm.log(operation="gc"))

    dry = vm.gc(dry_run=True)
    assert dry.dry_run and dry.blobs >= 1 and dry.trees >= 1 and dry.bytes > 0
    assert object_hashes(vm) == before
    assert len(vm.log(operation="gc")) == log_before  # a preview is not an operation

    real = vm.gc()
    assert (real.blobs, real.trees, real.bytes) == (dry.blobs, dry.trees, dry.bytes)
    after = object_hashes(vm)
    assert len(before[0]) - len(after[0]) == real.blobs
    assert len(before[1]) - len(after[1]) == real.trees
    entry = vm.log(operation="gc", limit=1)[0]
    assert entry["details"]["blobs"] == real.blobs

    # every remaining checkpoint still reads back completely
    for p in (a, b):
        for cp in vm.checkpoints.list(p.id):
            for path, e in vm.ctx.store.walk(cp.root_tree):
                if e.kind == "file":
                    assert len(vm.ctx.store.read_blob(e.hash)) == e.size, path


def test_gc_keeps_what_the_stat_cache_promises(vm):
    """A stat-cache entry promises its blob is stored: gc must not remove it, or the next
    capture would reference a missing blob."""
    p = vm.projects.create("cache")
    ws = Path(p.workspace)
    write(ws, "keep.txt", "cached content\n")
    cp = vm.checkpoints.create(p.id).checkpoint
    _forget(vm, [cp.id])
    with vm.db.write() as conn:
        conn.execute("UPDATE projects SET head_checkpoint_id = NULL WHERE id = ?", (p.id,))
    vm.gc()
    again = vm.checkpoints.create(p.id)
    assert again.created
    assert vm.fs.read(p.id, "keep.txt", at=again.checkpoint.id) == b"cached content\n"


def test_gc_on_empty_store(vm):
    r = vm.gc()
    assert (r.blobs, r.trees, r.bytes) == (0, 0, 0)
