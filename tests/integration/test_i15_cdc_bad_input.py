"""A content-defined chunk list that does not make its file's content (two chunks swapped:
every chunk intact, the sizes add up) is caught wherever it is read: ``vmuser check``
names it, restore refuses before touching the workspace, a read refuses, and an import
of an export file holding it refuses with one line and writes nothing."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest

from vmuser_tui.core.errors import StoreError
from vmuser_tui.core.service import Vmuser

MiB = 1024 * 1024
CONTENT = random.Random(11).randbytes(7 * MiB + 5)


def _swap_first_two(conn, digest: str) -> None:
    data = conn.execute("SELECT data FROM blobs WHERE hash = ? AND codec = 'cdc'", (digest,)).fetchone()[0]
    assert len(data) >= 64
    conn.execute("UPDATE blobs SET data = ? WHERE hash = ?", (data[32:64] + data[:32] + data[64:], digest))


@pytest.fixture
def swapped(vm):
    p = vm.projects.create("swapped")
    ws = Path(p.workspace)
    (ws / "big.bin").write_bytes(CONTENT)
    cp = vm.checkpoints.create(p.id).checkpoint
    digest = vm.checkpoints.entry(cp.id, "big.bin").hash
    with vm.db.write() as conn:
        _swap_first_two(conn, digest)
    return vm, p, cp, digest


def test_check_names_a_chunk_list_that_does_not_make_its_content(swapped, make_vm):
    _, _, cp, digest = swapped
    report = make_vm(reconcile=False).check()
    found = {(d.kind, d.id): d.problem for d in report.damaged}
    assert found == {("blob", digest): "its chunks do not add up to its content hash"}
    assert {a.id: a.paths for a in report.affected} == {cp.id: ["big.bin"]}


def test_restore_and_read_refuse_it_and_leave_the_workspace_alone(swapped, make_vm):
    _, p, cp, _ = swapped
    vm = make_vm(reconcile=False)  # a fresh process: nothing cached
    big = Path(p.workspace) / "big.bin"
    big.write_bytes(b"work in progress")
    with pytest.raises(StoreError) as err:
        vm.restores.restore(cp.id)
    assert "refusing to restore" in str(err.value) and "\n" not in str(err.value)
    assert big.read_bytes() == b"work in progress"
    with pytest.raises(StoreError, match="does not match|do not add up") as err:
        vm.fs.read(p.id, "big.bin", at=cp.id)
    assert "\n" not in str(err.value)


def test_an_export_file_holding_it_is_refused(vm, tmp_path, clean_env):
    p = vm.projects.create("exported")
    (Path(p.workspace) / "big.bin").write_bytes(CONTENT)
    cp = vm.checkpoints.create(p.id).checkpoint
    digest = vm.checkpoints.entry(cp.id, "big.bin").hash
    out = tmp_path / "x.vmuser"
    vm.export_project(p.id, out)
    conn = sqlite3.connect(out)
    _swap_first_two(conn, digest)  # same row lengths: the file's digest still matches
    conn.commit()
    conn.close()
    other = Vmuser.open(data_dir=str(tmp_path / "other"), config_path=tmp_path / "none.toml", reconcile=False)
    try:
        with pytest.raises(StoreError) as err:
            other.import_project(out)
        assert f"blob {digest[:12]} does not match its hash (forged or damaged)" in str(err.value)
        assert "\n" not in str(err.value)
        assert other.projects.list() == []
        assert other.db.conn.execute("SELECT COUNT(*) FROM blobs").fetchone()[0] == 0
    finally:
        other.close()
