"""Content-defined chunks for big files (issue 15, item 6): random inserts and deletes in a
big file restore byte for byte, and a small insert stores a chunk or two, not the rest of
the file (fixed 1 MiB chunks re-stored every chunk after an insert)."""

from __future__ import annotations

import hashlib
import io
import random
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vmuser_tui.core.store import cdc
from vmuser_tui.core.store.objects import CHUNK_SIZE, CHUNK_THRESHOLD, chunked_hash

MiB = 1024 * 1024
BIG = 24 * MiB
SMALL_EDIT_BOUND = 4 * MiB  # at most a few content-defined chunks (1.2 MiB on average)
_BASE = random.Random(15).randbytes(BIG)  # random bytes: zstd cannot hide re-stored data

# An edit: (insert?, where as a fraction of the file, byte count 1-100, seed of the bytes)
_edit = st.tuples(st.booleans(), st.floats(0, 1), st.integers(1, 100), st.integers(0, 2**16))


def _apply(data: bytes, edit: tuple[bool, float, int, int]) -> bytes:
    insert, where, n, seed = edit
    pos = int(where * len(data))
    if insert:
        return data[:pos] + random.Random(seed).randbytes(n) + data[pos:]
    return data[:pos] + data[pos + n :]


@settings(max_examples=10, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(_edit, min_size=1, max_size=4))
def test_random_inserts_and_deletes_restore_byte_exact_and_store_little(vm, edits):
    p = vm.projects.create("cdc")
    ws = Path(p.workspace)
    big = ws / "big.bin"
    big.write_bytes(_BASE)
    (ws / "small.txt").write_text("unchanged\n")
    first = vm.checkpoints.create(p.id)
    versions = [(first.checkpoint, _BASE)]
    data = _BASE
    for edit in edits:
        before, data = data, _apply(data, edit)
        big.write_bytes(data)
        out = vm.checkpoints.create(p.id)
        assert out.created == (data != before)  # (a delete at the very end changes nothing)
        if not out.created:
            continue
        # a few chunks around the edit, never the rest of the file (none at all when the
        # edit brought back an earlier version)
        assert out.new_bytes < SMALL_EDIT_BOUND, f"{out.new_bytes:,} bytes stored for a {edit[2]}-byte edit"
        entry = vm.checkpoints.entry(out.checkpoint.id, "big.bin")
        assert entry.hash == cdc.file_hash(data) and entry.size == len(data)
        changes = vm.checkpoints.diff(versions[-1][0].id, out.checkpoint.id).changes
        assert [c.path for c in changes] == ["big.bin"]
        versions.append((out.checkpoint, data))
    for cp, content in reversed(versions):  # every version comes back byte for byte
        assert vm.fs.read(p.id, "big.bin", at=cp.id) == content
        vm.restores.restore(cp.id)
        assert hashlib.sha256(big.read_bytes()).digest() == hashlib.sha256(content).digest()
        assert (ws / "small.txt").read_text() == "unchanged\n"


def test_an_insert_at_the_start_stores_one_chunk_where_fixed_chunks_stored_all(vm):
    p = vm.projects.create("insert")
    big = Path(p.workspace) / "big.bin"
    big.write_bytes(_BASE)
    vm.checkpoints.create(p.id)
    big.write_bytes(b"x" * 100 + _BASE)
    out = vm.checkpoints.create(p.id)
    assert 0 < out.new_bytes < 2 * MiB  # the goal (fixed 1 MiB chunks: all 24 MiB again)
    fixed_new = len({_BASE[i : i + CHUNK_SIZE] for i in range(0, BIG, CHUNK_SIZE)}
                    - {(b"x" * 100 + _BASE)[i : i + CHUNK_SIZE] for i in range(0, BIG + 100, CHUNK_SIZE)})
    assert fixed_new == BIG // CHUNK_SIZE


def test_the_identity_of_a_big_file_is_its_fixed_pieces_whatever_the_chunks():
    data = random.Random(1).randbytes(CHUNK_THRESHOLD + 3 * MiB + 17)
    old = chunked_hash([hashlib.sha256(data[i : i + CHUNK_SIZE]).digest() for i in range(0, len(data), CHUNK_SIZE)])
    assert cdc.file_hash(data) == old  # what fixed 1 MiB chunks named the same bytes
    chunks = cdc.cut(data)
    assert b"".join(chunks) == data
    assert all(cdc.MIN_SIZE <= len(c) <= cdc.MAX_SIZE for c in chunks[:-1])


class _Trickle(io.RawIOBase):
    """A stream that hands out its bytes in pieces of the given sizes (a tar member, a pipe)."""

    def __init__(self, data: bytes, sizes: list[int]):
        self.data, self.pos, self.calls, self.sizes = data, 0, 0, sizes or [1 << 20]

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.sizes[self.calls % len(self.sizes)], len(self.data) - self.pos)
        self.calls += 1
        buffer[:n] = self.data[self.pos : self.pos + n]
        self.pos += n
        return n


@settings(max_examples=15, deadline=None, derandomize=True)
@given(st.integers(0, 20 * MiB), st.lists(st.integers(1, 3 * MiB), max_size=5))
def test_streamed_chunks_do_not_depend_on_how_the_bytes_arrive(size, sizes):
    data = _BASE[:size]
    whole = cdc.cut(data)
    chunks = cdc.Chunks(_Trickle(data, sizes))
    assert list(chunks) == whole
    assert chunks.size == size and chunks.hexdigest() == cdc.file_hash(data)
