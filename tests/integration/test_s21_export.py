"""What an export holds, and what it refuses to write (issue 16 item 1, session 21's faster export).

The export walks trees by splitting their lines rather than by regexes, writes each tree
row as it reads it and copies checkpoints in SQL (core/export.py). What a user relies on
and these tests check:

- the file holds exactly what its checkpoints reach: nothing only another project of the
  data dir reaches (not even inside a pack the two projects share), nothing only a removed
  checkpoint reached while gc has not run yet;
- imported on another data dir, every checkpoint restores byte for byte, parents re-pointed
  past the checkpoints left out;
- a tree that is damaged or missing in the data dir fails the export with one line naming
  ``vmuser check``, and no file (nor a temporary one) is left; a damaged blob is not
  re-hashed by the export (the import does it, and refuses the file with one line).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import zstandard
from wsutil import snapshot, write

from vmuser_tui.core.errors import StoreError
from vmuser_tui.core.service import Vmuser
from vmuser_tui.core.store.objects import LISTS
from vmuser_tui.core.store.trees import DIR

API_ONLY = "ONLY-IN-API " * 50
SHARED = "the same file in both projects\n" * 20
GONE = "ONLY-IN-A-REMOVED-CHECKPOINT " * 30


@pytest.fixture
def dirs(tmp_path, clean_env):
    """``(vm_a, vm_b)``: two data dirs (two hosts, as far as vmuser can tell)."""
    opened = [Vmuser.open(data_dir=str(tmp_path / n), config_path=tmp_path / "none.toml", reconcile=False)
              for n in ("a", "b")]
    yield opened[0], opened[1]
    for vm in opened:
        vm.close()


def reached(vm: Vmuser, project_id: str) -> tuple[set[str], set[str]]:
    """``(trees, blobs)`` the checkpoints of ``project_id`` reach in ``vm``, through the
    store's own walk (chunk lists reach their chunks)."""
    trees: set[str] = set()
    blobs: set[str] = set()
    store = vm.ctx.store
    for cp in vm.checkpoints.list(project_id):
        trees.add(cp.root_tree)
        for _path, entry in store.walk(cp.root_tree):
            (trees if entry.kind == DIR else blobs).add(entry.hash)
    for digest in list(blobs):
        codec, data = vm.db.conn.execute("SELECT codec, data FROM blobs WHERE hash = ?", (digest,)).fetchone()
        if codec in LISTS:
            blobs.update(bytes(data[i : i + 32]).hex() for i in range(0, len(data), 32))
    return trees, blobs


def held(path: Path) -> tuple[set[str], set[str], bytes]:
    """``(trees, blobs, every pack's raw bytes)`` of an export file."""
    conn = sqlite3.connect(path)
    trees = {r[0] for r in conn.execute("SELECT hash FROM trees")}
    blobs = {r[0] for r in conn.execute("SELECT hash FROM blobs")}
    dctx = zstandard.ZstdDecompressor()
    packs = b"".join(dctx.decompress(d, max_output_size=n) if c == "zstd" else bytes(d)
                     for c, n, d in conn.execute("SELECT codec, size, data FROM packs"))
    conn.close()
    return trees, blobs, packs


def restores_alike(vm_a: Vmuser, vm_b: Vmuser, project_id: str) -> None:
    """Every checkpoint of the project restores to the same bytes in both data dirs."""
    for cp in vm_b.checkpoints.list(project_id):
        vm_a.restores.restore(cp.id)
        vm_b.restores.restore(cp.id)
        a = snapshot(vm_a.projects.get(project_id).workspace)
        b = snapshot(vm_b.projects.get(project_id).workspace)
        assert a == b, cp.description


def test_one_of_two_projects_carries_nothing_only_the_other_reaches(dirs, tmp_path):
    vm_a, vm_b = dirs
    api = vm_a.projects.create("api")
    write(api.workspace, "shared.txt", SHARED)
    write(api.workspace, "api-only.txt", API_ONLY)  # packed with shared.txt, in one pack
    vm_a.checkpoints.create(api.id, description="api")
    web = vm_a.projects.create("web")
    write(web.workspace, "src/shared.txt", SHARED)  # stored already: web reuses api's blob
    write(web.workspace, "src/web.txt", "web's own\n")
    write(web.workspace, "big.bin", os.urandom(5 * 1024 * 1024 + 7))  # chunked
    vm_a.checkpoints.create(web.id, description="one")
    write(web.workspace, "src/web.txt", "web's own, edited\n")
    vm_a.checkpoints.create(web.id, description="two")

    out = tmp_path / "web.vmuser"
    vm_a.export_project("web", out)
    trees, blobs, packs = held(out)
    want_trees, want_blobs = reached(vm_a, web.id)
    assert (trees, blobs) == (want_trees, want_blobs)
    assert hashlib.sha256(SHARED.encode()).hexdigest() in blobs
    api_only = {hashlib.sha256(API_ONLY.encode()).hexdigest(), vm_a.checkpoints.list(api.id)[0].root_tree}
    assert not api_only & (trees | blobs)
    assert SHARED.encode() in packs and b"ONLY-IN-API" not in packs  # api's pack was packed anew

    vm_b.import_project(out)
    assert [p.name for p in vm_b.projects.list()] == ["web"]
    restores_alike(vm_a, vm_b, web.id)


def test_a_removed_checkpoint_not_yet_collected_does_not_ride_along(dirs, tmp_path):
    vm_a, vm_b = dirs
    project = vm_a.projects.create("web")
    ws = project.workspace
    write(ws, "keep.txt", "kept\n")
    c1 = vm_a.checkpoints.create(project.id, description="base").checkpoint
    write(ws, "gone.txt", GONE)
    write(ws, "sub/dir/note.txt", "a folder only c2 has\n")
    c2 = vm_a.checkpoints.create(project.id, description="with the secret").checkpoint
    (Path(ws) / "gone.txt").unlink()
    write(ws, "keep.txt", "kept, edited\n")
    c3 = vm_a.checkpoints.create(project.id, description="after").checkpoint
    vm_a.checkpoints.remove([c2.id])
    gone = hashlib.sha256(GONE.encode()).hexdigest()
    assert vm_a.ctx.store.has_blob(gone) and vm_a.ctx.store.has_tree(c2.root_tree)  # not collected

    out = tmp_path / "web.vmuser"
    result = vm_a.export_project(project.id, out)
    assert result.checkpoints == 2
    trees, blobs, packs = held(out)
    assert (trees, blobs) == reached(vm_a, project.id)
    assert gone not in blobs and c2.root_tree not in trees and b"ONLY-IN-A-REMOVED" not in packs

    vm_b.import_project(out)
    assert {c.id: c.parent_id for c in vm_b.checkpoints.list(project.id)} == {c1.id: None, c3.id: c1.id}
    restores_alike(vm_a, vm_b, project.id)


def test_a_selection_re_points_parents_and_restores_exactly(dirs, tmp_path):
    vm_a, vm_b = dirs
    project = vm_a.projects.create("web")
    ids = []
    for n in range(5):
        write(project.workspace, f"f{n % 2}.txt", f"step {n}\n")
        ids.append(vm_a.checkpoints.create(project.id, description=f"step {n}").checkpoint.id)
    out = tmp_path / "some.vmuser"
    result = vm_a.export_project(project.id, out, checkpoints=[ids[0], ids[2], ids[4][:8]])
    assert result.checkpoints == 3
    vm_b.import_project(out)
    got = {c.id: (c.parent_id, c.description) for c in vm_b.checkpoints.list(project.id)}
    assert got == {ids[0]: (None, "step 0"), ids[2]: (ids[0], "step 2"), ids[4]: (ids[2], "step 4")}
    assert held(out)[:2] == reached(vm_b, project.id)
    restores_alike(vm_a, vm_b, project.id)


# -- a damaged data dir ---------------------------------------------------------------------------


def _subtree(vm: Vmuser, project_id: str) -> str:
    root = vm.checkpoints.list(project_id)[-1].root_tree
    return next(e.hash for e in vm.ctx.store.get_tree(root) if e.kind == DIR)


def damage_frame(conn: sqlite3.Connection, digest: str) -> None:
    conn.execute("UPDATE trees SET data = ? WHERE hash = ?", (b"\x28\xb5\x2f\xfd garbage", digest))


def damage_content(conn: sqlite3.Connection, digest: str) -> None:
    # a well-formed tree, compressed as the store does, under a hash that is not its own
    other = zstandard.ZstdCompressor().compress(b"file 644 1 " + b"ab" * 32 + b"\tx\n")
    conn.execute("UPDATE trees SET data = ? WHERE hash = ?", (other, digest))


def lose(conn: sqlite3.Connection, digest: str) -> None:
    conn.execute("DELETE FROM trees WHERE hash = ?", (digest,))


DAMAGES = [(damage_frame, "is damaged"), (damage_content, "does not match its hash"),
           (lose, "is missing from the store")]


@pytest.mark.parametrize(("damage", "message"), DAMAGES, ids=[d.__name__ for d, _ in DAMAGES])
def test_a_damaged_tree_fails_the_export_and_leaves_no_file(dirs, tmp_path, damage, message):
    vm_a, _ = dirs
    project = vm_a.projects.create("web")
    write(project.workspace, "src/a.txt", "a\n")
    write(project.workspace, "b.txt", "b\n")
    vm_a.checkpoints.create(project.id, description="one")
    digest = _subtree(vm_a, project.id)
    conn = sqlite3.connect(vm_a.db.path)
    damage(conn, digest)
    conn.commit()
    conn.close()
    folder = tmp_path / "out"
    folder.mkdir()
    with pytest.raises(StoreError) as err:
        vm_a.export_project(project.id, folder / "web.vmuser")
    line = str(err.value)
    assert f"tree {digest[:12]} {message}" in line and "vmuser check" in line and "\n" not in line
    assert list(folder.iterdir()) == []  # no file, no temporary file


def test_the_cli_says_one_line_for_a_damaged_tree(dirs, tmp_path):
    vm_a, _ = dirs
    project = vm_a.projects.create("web")
    write(project.workspace, "src/a.txt", "a\n")
    vm_a.checkpoints.create(project.id, description="one")
    conn = sqlite3.connect(vm_a.db.path)
    damage_content(conn, _subtree(vm_a, project.id))
    conn.commit()
    conn.close()
    env = dict(os.environ, VMUSER_DATA_DIR=str(vm_a.data_dir), VMUSER_CONFIG=str(tmp_path / "none.toml"))
    out = tmp_path / "web.vmuser"
    run = subprocess.run([sys.executable, "-m", "vmuser_tui", "project", "export", "web", "-o", str(out)],
                         env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode != 0 and run.stdout == ""
    assert run.stderr.count("\n") == 1 and "does not match its hash" in run.stderr and "Traceback" not in run.stderr
    assert not out.exists()


def test_a_damaged_pack_is_exported_as_it_is_and_refused_by_the_import(dirs, tmp_path):
    """The export does not re-hash content (it would read every byte of every file): the
    import does, and refuses the file with one line, writing nothing."""
    vm_a, vm_b = dirs
    project = vm_a.projects.create("web")
    write(project.workspace, "a.txt", "some text that a pack holds\n" * 20)
    vm_a.checkpoints.create(project.id, description="one")
    conn = sqlite3.connect(vm_a.db.path)
    pid, data = conn.execute("SELECT id, data FROM packs").fetchone()
    conn.execute("UPDATE packs SET data = ? WHERE id = ?", (data[:-8] + b"\xff" * 8, pid))
    conn.commit()
    conn.close()
    out = tmp_path / "web.vmuser"
    vm_a.export_project(project.id, out)
    with pytest.raises(StoreError) as err:
        vm_b.import_project(out)
    assert "pack" in str(err.value) and "\n" not in str(err.value)
    assert vm_b.projects.list() == []
    assert vm_b.db.conn.execute("SELECT COUNT(*) FROM blobs").fetchone()[0] == 0


def test_a_missing_blob_fails_the_export(dirs, tmp_path):
    vm_a, _ = dirs
    project = vm_a.projects.create("web")
    write(project.workspace, "a.txt", "a\n")
    vm_a.checkpoints.create(project.id, description="one")
    conn = sqlite3.connect(vm_a.db.path)
    conn.execute("DELETE FROM blobs WHERE hash = ?", (hashlib.sha256(b"a\n").hexdigest(),))
    conn.commit()
    conn.close()
    out = tmp_path / "web.vmuser"
    missing = r"^cannot export: blob [0-9a-f]{12} is missing from the store; run 'vmuser check'$"
    with pytest.raises(StoreError, match=missing):
        vm_a.export_project(project.id, out)
    assert list(tmp_path.glob("*web.vmuser*")) == []
