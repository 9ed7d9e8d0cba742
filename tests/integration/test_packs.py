"""Small files are stored together in packs; they read back exactly, dedup holds, and
gc removes a pack only when none of its blobs is used any more."""

from __future__ import annotations

from pathlib import Path


def _count(vm, sql):
    return vm.db.conn.execute(sql).fetchone()[0]


def test_small_files_share_packs_and_read_back(vm):
    project = vm.projects.create("packs")
    ws = Path(project.workspace)
    for i in range(600):
        (ws / f"f{i:03d}.txt").write_text(f"file {i}\n" * (i % 7 + 1))
    cp = vm.checkpoints.create(project.id).checkpoint
    packs = _count(vm, "SELECT COUNT(*) FROM packs")
    assert 1 <= packs <= 5  # 600 files in a handful of packs, not 600 rows of data
    assert _count(vm, "SELECT COUNT(*) FROM blobs WHERE codec = 'packed'") == 600
    for i in (0, 299, 599):
        assert vm.fs.read(project.id, f"f{i:03d}.txt", at=cp.id) == (f"file {i}\n" * (i % 7 + 1)).encode()
    # an edit stores one small new pack; a file with known content stores nothing
    (ws / "f000.txt").write_text("changed\n")
    (ws / "copy.txt").write_text("file 1\n" * 2)  # same bytes as f001.txt
    out = vm.checkpoints.create(project.id)
    assert out.created and _count(vm, "SELECT COUNT(*) FROM packs") == packs + 1
    assert _count(vm, "SELECT COUNT(*) FROM blobs") == 601
    vm.restores.restore(cp.id)
    assert (ws / "f000.txt").read_text() == "file 0\n" and not (ws / "copy.txt").exists()


def test_gc_removes_packs_only_when_unused(vm):
    keep = vm.projects.create("keep")
    (Path(keep.workspace) / "shared.txt").write_text("shared content\n")
    vm.checkpoints.create(keep.id)
    gone = vm.projects.create("gone")
    for i in range(50):
        (Path(gone.workspace) / f"g{i}.txt").write_text(f"only in gone {i}\n")
    (Path(gone.workspace) / "shared.txt").write_text("shared content\n")
    vm.checkpoints.create(gone.id)
    before = _count(vm, "SELECT COUNT(*) FROM packs")
    result = vm.projects.delete(gone.id)
    assert result["gc"]["blobs"] == 50
    assert _count(vm, "SELECT COUNT(*) FROM packs") == before - 1
    # the kept project's pack, and its file, are intact
    assert vm.fs.read(keep.id, "shared.txt", at=vm.checkpoints.list(keep.id)[0].id) == b"shared content\n"
