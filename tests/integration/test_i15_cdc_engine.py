"""Content-defined chunks through an engine workspace: the tar stream is cut into the same
chunks, with the same file hash, as the local capture of the same bytes, and an insert at
the start of a big file on the engine stores a chunk, not the file again."""

from __future__ import annotations

import io
import random
import tarfile
import uuid
from pathlib import Path

import pytest

from vmuser_tui.core.db import Database
from vmuser_tui.core.runtime.docker_runtime import DockerRuntime
from vmuser_tui.core.runtime.engine_workspace import EngineWorkspace
from vmuser_tui.core.store import capture as cap
from vmuser_tui.core.store import cdc
from vmuser_tui.core.store.engine_capture import capture_engine
from vmuser_tui.core.store.objects import ObjectStore

pytestmark = pytest.mark.docker
MiB = 1024 * 1024


@pytest.fixture
def ws(docker_available):
    runtime = DockerRuntime(timeout=60)
    w = EngineWorkspace(runtime, "i15cdc" + uuid.uuid4().hex[:10], owner="1000:1000")
    assert w.ensure() is True
    yield w
    w.remove()


def _store(path: Path) -> ObjectStore:
    return ObjectStore(Database(path))


def _put(ws, name: str, data: bytes) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        info = tarfile.TarInfo(name)
        info.size, info.mode = len(data), 0o644
        tf.addfile(info, io.BytesIO(data))
    ws.put_archive("/workspace", buf.getvalue())


def _chunk_list(store: ObjectStore, digest: str) -> tuple[str, bytes]:
    row = store.conn.execute("SELECT codec, data FROM blobs WHERE hash = ?", (digest,)).fetchone()
    return row[0], bytes(row[1])


def test_engine_and_local_cut_the_same_chunks(tmp_path, ws):
    data = random.Random(3).randbytes(13 * MiB + 999)
    local_dir = tmp_path / "w"
    local_dir.mkdir()
    (local_dir / "big.bin").write_bytes(data)
    a, b = _store(tmp_path / "a.db"), _store(tmp_path / "b.db")  # separate stores: no sharing hides a difference
    try:
        local = cap.capture(a.database, a, "p", local_dir)
        _put(ws, "big.bin", data)
        remote = capture_engine(b.database, b, "p", ws)
        assert remote.root == local.root
        digest = a.lookup(local.root, "big.bin").hash
        assert digest == cdc.file_hash(data)
        assert _chunk_list(a, digest) == _chunk_list(b, digest)
        assert _chunk_list(a, digest)[0] == "cdc"
        assert b.read_blob(digest) == data

        _put(ws, "big.bin", b"#" * 100 + data)  # an insert at the start, on the engine
        again = capture_engine(b.database, b, "p", ws)
        assert again.hashed_files == 1 and 0 < again.new_bytes < 2 * MiB
        assert b.read_blob(b.lookup(again.root, "big.bin").hash) == b"#" * 100 + data
    finally:
        a.close()
        b.close()
