"""Checkpoints written before content-defined chunks (big files as fixed 1 MiB chunks,
codec ``chunks``) stay valid: they restore and read byte for byte, ``vmuser check`` passes,
export and import carry them, and the same bytes captured now (as ``cdc`` chunks) have the
same hash, so diffs show an unchanged big file as unchanged and the stat cache holds."""

from __future__ import annotations

import hashlib
import os
import random
import time
from pathlib import Path

import pytest

from vmuser_tui.core.service import Vmuser
from vmuser_tui.core.store import cdc
from vmuser_tui.core.store import objects as obj

MiB = 1024 * 1024
CONTENT = random.Random(7).randbytes(9 * MiB + 4321)  # > CHUNK_THRESHOLD: chunked


def as_fixed_chunks(vm: Vmuser, digest: str, content: bytes) -> None:
    """Store ``content`` the way vmuser did before issue 15 (capture.py then: 1 MiB
    pieces read at fixed offsets, each packed as its own blob, the file's row a
    ``chunks`` list named by the hash of its digests) in place of its ``cdc`` list; gc
    then removes the content-defined chunks, so reads can only go through the old ones."""
    pieces = [content[i : i + obj.CHUNK_SIZE] for i in range(0, len(content), obj.CHUNK_SIZE)]
    digests = [hashlib.sha256(p).digest() for p in pieces]
    assert obj.chunked_hash(digests) == digest  # the old name of these bytes is the name they have
    now = int(time.time()) - 60
    with vm.db.write() as conn:
        for piece, d in zip(pieces, digests, strict=True):
            codec, data = obj.pack(piece, 3)
            conn.execute("INSERT OR IGNORE INTO blobs(hash, size, stored_size, codec, data, created_at) "
                         "VALUES (?,?,?,?,?,?)", (d.hex(), len(piece), len(data), codec, data, now))
        joined = b"".join(digests)
        n = conn.execute("UPDATE blobs SET codec = 'chunks', data = ?, stored_size = ? WHERE hash = ?",
                         (joined, len(joined), digest)).rowcount
        assert n == 1
    vm.gc()
    assert vm.db.conn.execute("SELECT COUNT(*) FROM blobs WHERE codec = 'cdc'").fetchone()[0] == 0
    cdc_chunks = [hashlib.sha256(c).hexdigest() for c in cdc.cut(content)]
    marks = ",".join("?" * len(cdc_chunks))
    assert vm.db.conn.execute(f"SELECT COUNT(*) FROM blobs WHERE hash IN ({marks})", cdc_chunks).fetchone()[0] == 0


@pytest.fixture
def legacy(vm):
    """A project whose first checkpoint holds ``big.bin`` as fixed chunks: ``(vm, project, cp)``."""
    p = vm.projects.create("legacy")
    ws = Path(p.workspace)
    (ws / "big.bin").write_bytes(CONTENT)
    (ws / "notes.txt").write_text("one\n")
    cp = vm.checkpoints.create(p.id).checkpoint
    entry = vm.checkpoints.entry(cp.id, "big.bin")
    as_fixed_chunks(vm, entry.hash, CONTENT)
    return vm, p, cp


def test_an_old_fixed_chunk_checkpoint_reads_restores_and_checks(legacy):
    vm, p, cp = legacy
    ws = Path(p.workspace)
    assert vm.fs.read(p.id, "big.bin", at=cp.id) == CONTENT
    report = vm.check()
    assert report.ok, report.damaged
    (ws / "big.bin").write_bytes(b"something else")
    vm.restores.restore(cp.id)
    assert (ws / "big.bin").read_bytes() == CONTENT


def test_the_same_bytes_captured_now_compare_equal_to_the_old_checkpoint(legacy):
    vm, p, cp = legacy
    ws = Path(p.workspace)
    assert not vm.checkpoints.create(p.id).created  # the stat cache still vouches for it
    os.utime(ws / "big.bin", ns=(time.time_ns(), time.time_ns() + 10**9))  # re-read: same bytes, same hash
    (ws / "notes.txt").write_text("two\n")
    out = vm.checkpoints.create(p.id)
    assert out.hashed_files == 2
    assert [c.path for c in vm.checkpoints.diff(cp.id, out.checkpoint.id).changes] == ["notes.txt"]
    assert vm.checkpoints.entry(out.checkpoint.id, "big.bin").hash == vm.checkpoints.entry(cp.id, "big.bin").hash
    assert [c.path for c in vm.checkpoints.diff(cp.id).changes] == ["notes.txt"]  # against the live workspace


def test_an_edit_after_the_upgrade_is_cdc_and_both_versions_restore(legacy, make_vm, tmp_path, clean_env):
    vm, p, cp = legacy
    ws = Path(p.workspace)
    edited = CONTENT[:1000] + b"inserted" + CONTENT[1000:]
    (ws / "big.bin").write_bytes(edited)
    new = vm.checkpoints.create(p.id).checkpoint
    row = vm.db.conn.execute("SELECT codec FROM blobs WHERE hash = ?",
                             (vm.checkpoints.entry(new.id, "big.bin").hash,)).fetchone()
    assert row == ("cdc",)
    assert [c.path for c in vm.checkpoints.diff(cp.id, new.id).changes] == ["big.bin"]
    vm.restores.restore(cp.id)
    assert (ws / "big.bin").read_bytes() == CONTENT
    vm.restores.restore(new.id)
    assert (ws / "big.bin").read_bytes() == edited
    assert vm.check().ok

    # export and import carry both kinds of chunk list
    out = tmp_path / "legacy.vmuser"
    vm.export_project(p.id, out)
    other = Vmuser.open(data_dir=str(tmp_path / "other"), config_path=tmp_path / "none.toml", reconcile=False)
    try:
        imported = other.import_project(out)
        codecs = {r[0] for r in other.db.conn.execute("SELECT codec FROM blobs")}
        assert {"chunks", "cdc"} <= codecs
        assert other.fs.read(imported.project_id, "big.bin", at=cp.id) == CONTENT
        assert other.fs.read(imported.project_id, "big.bin", at=new.id) == edited
        assert other.check().ok
    finally:
        other.close()
