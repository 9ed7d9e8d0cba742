"""A project as one file (issue 16, item 1): export in one data dir, import in another.

The world: project ``web`` in data dir A with text, binary, a 5 MB random file (stored in
1 MiB chunks), a symlink, an executable, an empty folder; checkpoints ``c1`` (tagged,
annotated), ``c2``, then a restore of ``c1`` and new work ``c3`` (a branched timeline). Each
test asserts what a user would notice: the imported checkpoints restore to exactly the
bytes the originals restore to; a file that is damaged, forged or from a newer vmuser is
refused with one line and the data dir B is left exactly as it was (every row counted, the
workspaces folder listed).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
import zstandard
from wsutil import describe_difference, mkdir, snapshot, symlink, write

from vmuser_tui.core import transfer_format
from vmuser_tui.core.errors import StateError, StoreError
from vmuser_tui.core.service import Vmuser
from vmuser_tui.core.store.trees import FILE, Entry, encode

TABLES = ("projects", "checkpoints", "blobs", "packs", "trees", "operation_log", "stat_cache")


@pytest.fixture
def dirs(tmp_path, clean_env):
    """``(vm_a, vm_b)``: two data dirs (two hosts, as far as vmuser can tell)."""
    opened = []

    def open_vm(name: str) -> Vmuser:
        vm = Vmuser.open(data_dir=str(tmp_path / name), config_path=tmp_path / "none.toml", reconcile=False)
        opened.append(vm)
        return vm

    yield open_vm("a"), open_vm("b")
    for vm in opened:
        vm.close()


def build(vm: Vmuser) -> tuple[str, dict[str, str]]:
    """The project described in the module docstring; returns ``(project id, {label: id})``."""
    project = vm.projects.create("web", tags=["client"])
    ws = project.workspace
    write(ws, "README.md", "hello\n")
    write(ws, "data/blob.bin", bytes(range(256)) * 3)
    write(ws, "data/big.bin", os.urandom(5 * 1024 * 1024 + 123))
    write(ws, "run.sh", "#!/bin/sh\necho hi\n", mode=0o755)
    symlink(ws, "latest", "README.md")
    mkdir(ws, "empty/inner")
    c1 = vm.checkpoints.create(project.id, description="first", tags=["v1"]).checkpoint.id
    vm.checkpoints.annotate(c1, "reviewed", "looks good")
    write(ws, "README.md", "hello again\n")
    write(ws, "keep.txt", "kept in both branches\n")
    write(ws, "secret.txt", "ONLY-IN-C2 " * 40)
    c2 = vm.checkpoints.create(project.id, description="second").checkpoint.id
    vm.restores.restore(c1)
    write(ws, "keep.txt", "kept in both branches\n")  # its blob lives in c2's pack, beside secret.txt
    write(ws, "branch.txt", "new work on a branch\n")
    c3 = vm.checkpoints.create(project.id, description="branch", tags=["branch"]).checkpoint.id
    vm.checkpoints.annotate(c3, "wip", "")
    return project.id, {"c1": c1, "c2": c2, "c3": c3}


def counts(vm: Vmuser) -> dict:
    """Every row count that an import could change, and the workspaces folder's listing."""
    out: dict = {t: vm.db.conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in TABLES}
    ws = vm.data_dir / "workspaces"
    out["workspaces"] = sorted(os.listdir(ws)) if ws.is_dir() else []
    out["data_dir"] = sorted(p.name for p in vm.data_dir.iterdir() if not p.name.startswith("vmuser.db"))
    return out


def restored(vm: Vmuser, checkpoint_id: str) -> dict:
    """The workspace after restoring ``checkpoint_id`` (the real restore, pre-restore and all)."""
    cp = vm.checkpoints.get(checkpoint_id)
    vm.restores.restore(cp.id)
    return snapshot(vm.projects.get(cp.project_id).workspace)


def rows(vm: Vmuser, project_id: str) -> list[tuple]:
    return [(c.id, c.parent_id, c.root_tree, c.kind, c.description, c.tags, c.annotations, c.file_count,
             c.total_size) for c in vm.checkpoints.list(project_id)]


def test_roundtrip_restores_every_checkpoint_byte_for_byte(dirs, tmp_path):
    vm_a, vm_b = dirs
    pid, ids = build(vm_a)
    before = rows(vm_a, pid)
    out = tmp_path / "web.vmuser"
    result = vm_a.export_project("web", out)
    assert result.checkpoints == len(before) == 3  # c1, c2, c3 (the restore reused c2 as its pre-restore)
    imported = vm_b.import_project(out)
    assert imported.project_id == pid and imported.name == "web" and not imported.as_new
    assert imported.restored_from == ids["c3"]  # the head: what the workspace held
    assert rows(vm_b, pid) == before  # ids, parents (the branch), trees, tags, annotations
    assert vm_b.projects.get(pid).tags == ["client"]
    log_a = {(e["at"], e["operation"]) for e in vm_a.log(project=pid, limit=1000)}
    log_b = {(e["at"], e["operation"]) for e in vm_b.log(project=pid, limit=1000)}
    assert log_a < log_b and {op for _, op in log_b - log_a} == {"project.import"}
    # the fresh workspace holds the head before any restore
    assert snapshot(vm_b.projects.get(pid).workspace) == snapshot(vm_a.projects.get(pid).workspace)
    for cid, *_, kind, description, _tags, _notes, _n, _size in [(r[0], r[3], r[4], *r[5:]) for r in before]:
        a, b = restored(vm_a, cid), restored(vm_b, cid)
        assert a == b, f"{kind} {description}: {describe_difference(a, b)}"
        assert a["data/big.bin"][2] and a["run.sh"][1] & 0o111 and a["latest"] == ("symlink", "README.md")
        assert a["empty/inner"][0] == "dir"


def test_reimport_is_refused_and_as_new_shares_content(dirs, tmp_path):
    vm_a, vm_b = dirs
    pid, ids = build(vm_a)
    out = tmp_path / "web.vmuser"
    vm_a.export_project(pid, out)
    vm_b.import_project(out)
    before = counts(vm_b)
    with pytest.raises(StateError, match="already in this data dir.*--as-new"):
        vm_b.import_project(out)
    assert counts(vm_b) == before
    copy = vm_b.import_project(out, as_new=True)
    assert copy.project_id != pid and copy.name == "web (2)" and copy.as_new
    assert copy.blobs_new == 0 and copy.trees_new == 0
    after = counts(vm_b)
    assert after["blobs"] == before["blobs"] and after["packs"] == before["packs"]  # stored once
    assert after["checkpoints"] == before["checkpoints"] + 3
    new_ids = [c.id for c in vm_b.checkpoints.list(copy.project_id)]
    assert not set(new_ids) & set(ids.values())
    branch = next(c for c in vm_b.checkpoints.list(copy.project_id) if c.description == "branch")
    first = next(c for c in vm_b.checkpoints.list(copy.project_id) if c.description == "first")
    assert branch.parent_id == first.id  # the timeline follows the new ids
    assert snapshot(copy.workspace) == snapshot(vm_b.projects.get(pid).workspace)
    named = vm_b.import_project(out, as_new=True, name="review")
    assert named.name == "review"


def test_selection_carries_only_what_it_needs(dirs, tmp_path):
    vm_a, vm_b = dirs
    pid, ids = build(vm_a)
    out = tmp_path / "c3.vmuser"
    result = vm_a.export_project(pid, out, checkpoints=[ids["c3"][:6]])
    assert result.checkpoints == 1 and result.repacked >= 1
    conn = sqlite3.connect(out)
    secret = hashlib.sha256(b"ONLY-IN-C2 " * 40).hexdigest()
    assert not conn.execute("SELECT 1 FROM blobs WHERE hash = ?", (secret,)).fetchone()
    dctx = zstandard.ZstdDecompressor()
    for codec, size, data in conn.execute("SELECT codec, size, data FROM packs"):
        raw = dctx.decompress(data, max_output_size=size) if codec == "zstd" else data
        assert b"ONLY-IN-C2" not in raw  # c2's pack was packed anew without it
    assert conn.execute("SELECT parent_id FROM checkpoints").fetchone() == (None,)
    conn.close()
    vm_b.import_project(out)
    assert restored(vm_a, ids["c3"]) == restored(vm_b, ids["c3"])
    since = vm_a.export_project(pid, tmp_path / "since.vmuser", since="1h")
    assert since.checkpoints == 3


# -- forged and damaged files ------------------------------------------------------------------------


def resign(path: Path) -> None:
    """What a careful forger does after editing: counts and digest made to match again."""
    conn = sqlite3.connect(path)
    header = dict(conn.execute("SELECT key, value FROM header"))
    c = json.loads(header["counts"])
    for t in ("checkpoints", "operation_log", "blobs", "packs", "trees"):
        c[t] = conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
    header["counts"] = json.dumps(c, sort_keys=True)
    header["digest"] = transfer_format.digest(conn, header)
    conn.executemany("UPDATE header SET value = ? WHERE key = ?", [(v, k) for k, v in header.items()])
    conn.commit()
    conn.close()


def _forged_tree(conn: sqlite3.Connection, data: bytes) -> None:
    """Store ``data`` as a tree (named by its hash) and make every checkpoint's root it."""
    digest = hashlib.sha256(data).hexdigest()
    conn.execute("INSERT INTO trees VALUES (?, ?, 0)", (digest, zstandard.ZstdCompressor().compress(data)))
    conn.execute("UPDATE checkpoints SET root_tree = ?", (digest,))


def f_blob_changed(conn, path):
    h, data = conn.execute("SELECT hash, data FROM blobs WHERE codec = 'raw' ORDER BY length(data) DESC").fetchone()
    conn.execute("UPDATE blobs SET data = ? WHERE hash = ?", (bytes([data[0] ^ 1]) + data[1:], h))


def f_pack_changed(conn, path):
    pid, data = conn.execute("SELECT id, data FROM packs").fetchone()
    conn.execute("UPDATE packs SET data = ? WHERE id = ?", (data[:-8] + b"\xff" * 8, pid))


def f_tree_dotdot(conn, path):
    h, n = conn.execute("SELECT hash, size FROM blobs WHERE codec NOT IN ('chunks', 'cdc') LIMIT 1").fetchone()
    _forged_tree(conn, f"file 644 {n} {h}\t../x\n".encode())
    resign_after.append(path)


def f_tree_duplicate(conn, path):
    h, n = conn.execute("SELECT hash, size FROM blobs WHERE codec NOT IN ('chunks', 'cdc') LIMIT 1").fetchone()
    _forged_tree(conn, f"file 644 {n} {h}\ta\nfile 644 {n} {h}\ta\n".encode())
    resign_after.append(path)


def f_tree_missing_object(conn, path):
    _forged_tree(conn, encode([Entry("ghost", FILE, 0o644, 5, "ab" * 32)]))
    resign_after.append(path)


def f_tree_huge_size(conn, path):
    h = conn.execute("SELECT hash FROM blobs WHERE codec NOT IN ('chunks', 'cdc') LIMIT 1").fetchone()[0]
    _forged_tree(conn, encode([Entry("huge", FILE, 0o644, 10**15, h)]))
    resign_after.append(path)


def f_tree_size_disagrees(conn, path):
    h, n = conn.execute("SELECT hash, size FROM blobs WHERE codec NOT IN ('chunks', 'cdc') LIMIT 1").fetchone()
    _forged_tree(conn, encode([Entry("liar", FILE, 0o644, n + 1, h)]))
    resign_after.append(path)


def f_from_the_future(conn, path):
    conn.execute("UPDATE header SET value = '99' WHERE key = 'format'")
    conn.execute("UPDATE header SET value = '9.0' WHERE key = 'vmuser_version'")


def f_description_edited(conn, path):
    conn.execute("UPDATE checkpoints SET description = 'edited'")


def f_rows_deleted(conn, path):
    conn.execute("DELETE FROM trees WHERE hash NOT IN (SELECT root_tree FROM checkpoints)")


resign_after: list[Path] = []

FORGERIES = [
    (f_blob_changed, "does not match its hash"),
    (f_pack_changed, "pack"),
    (f_tree_dotdot, "is forged (entry name '../x' is not one plain name)"),
    (f_tree_duplicate, "appears twice"),
    (f_tree_missing_object, "which the file does not hold"),
    (f_tree_huge_size, "over [limits] max_file_size"),
    (f_tree_size_disagrees, "declares"),
    (f_from_the_future, "was written by vmuser 9.0 (format 99); this vmuser reads up to format 1: upgrade"),
    (f_description_edited, "does not match the digest"),
    (f_rows_deleted, "trees rows where its header says"),
]


@pytest.fixture
def exported(dirs, tmp_path):
    vm_a, vm_b = dirs
    pid, ids = build(vm_a)
    out = tmp_path / "web.vmuser"
    vm_a.export_project(pid, out)
    vm_b.projects.create("bystander")  # a data dir with something in it
    return vm_b, out


@pytest.mark.parametrize(("forge", "message"), FORGERIES, ids=[f.__name__[2:] for f, _ in FORGERIES])
def test_forged_file_is_refused_and_nothing_is_written(exported, forge, message):
    vm_b, out = exported
    conn = sqlite3.connect(out)
    forge(conn, out)
    conn.commit()
    conn.close()
    if out in resign_after:
        resign_after.remove(out)
        resign(out)
    before = counts(vm_b)
    with pytest.raises(StoreError) as err:
        vm_b.import_project(out)
    assert message in str(err.value) and "\n" not in str(err.value)
    assert counts(vm_b) == before


def test_truncated_file_is_refused(exported):
    vm_b, out = exported
    data = out.read_bytes()
    out.write_bytes(data[: len(data) // 2])
    before = counts(vm_b)
    with pytest.raises(StoreError, match="damaged or truncated|integrity check|does not match") as err:
        vm_b.import_project(out)
    assert "\n" not in str(err.value)
    assert counts(vm_b) == before


def test_corrupted_page_is_refused(exported):
    vm_b, out = exported
    conn = sqlite3.connect(out)
    page = conn.execute("PRAGMA page_size").fetchone()[0]
    # the root page of the checkpoints table: a b-tree page, not file content
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'checkpoints'").fetchone()[0]
    conn.close()
    with open(out, "r+b") as fh:
        fh.seek((root - 1) * page)
        fh.write(b"\x0d\xff\xff\xff\xff\xff\xff\xff" * 16)
    before = counts(vm_b)
    with pytest.raises(StoreError, match="integrity check|damaged") as err:
        vm_b.import_project(out)
    assert "\n" not in str(err.value)
    assert counts(vm_b) == before


def test_failure_late_in_the_transaction_leaves_nothing(exported):
    """A file that passes every check but whose last rows (the log, inserted after the
    objects, the project and its checkpoints) break this data dir's schema: the transaction
    rolls back and the restored workspace folder goes with it."""
    vm_b, out = exported
    conn = sqlite3.connect(out)
    conn.executescript("""
        CREATE TABLE log2 AS SELECT * FROM operation_log;
        DROP TABLE operation_log;
        CREATE TABLE operation_log (id INTEGER PRIMARY KEY, at TEXT, operation TEXT, actor TEXT, pid INTEGER,
                                    client_id TEXT, project_id TEXT, session_id TEXT, details TEXT);
        INSERT INTO operation_log SELECT * FROM log2;
        DROP TABLE log2;
        UPDATE operation_log SET operation = NULL WHERE id = (SELECT MAX(id) FROM operation_log);
    """)
    conn.commit()
    conn.close()
    resign(out)
    before = counts(vm_b)
    with pytest.raises(StoreError, match="does not fit this data dir.*NOT NULL"):
        vm_b.import_project(out)
    assert counts(vm_b) == before
    assert not [p for p in (vm_b.data_dir / "workspaces").iterdir() if p.name.startswith(".import.")]


def test_cli_prints_one_line_and_json(exported, tmp_path):
    import subprocess
    import sys

    vm_b, out = exported
    env = dict(os.environ, VMUSER_DATA_DIR=str(vm_b.data_dir), VMUSER_CONFIG=str(tmp_path / "none.toml"))
    cmd = [sys.executable, "-m", "vmuser_tui", "project", "import", str(out), "--json"]
    first = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    doc = json.loads(first.stdout)
    assert doc["checkpoints"] == 3 and doc["blobs_shared"] == 0
    again = subprocess.run(cmd[:-1], env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 1 and again.stdout == ""
    assert again.stderr.count("\n") == 1 and "--as-new" in again.stderr
    shutil.copy(out, tmp_path / "copy.vmuser")
    exp = subprocess.run([sys.executable, "-m", "vmuser_tui", "project", "export", doc["project_id"], "-o",
                          str(tmp_path / "again.vmuser"), "--json"], env=env, capture_output=True, text=True,
                         timeout=120)
    assert exp.returncode == 0, exp.stderr
    assert json.loads(exp.stdout)["checkpoints"] == 3
