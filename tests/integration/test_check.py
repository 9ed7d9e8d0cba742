"""`vmuser check` on a real database damaged by SQL, as a bad disk or a stray tool would:
each kind of damage is found, named, and traced to the checkpoints and paths it hurts."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import zstandard

MiB = 1024 * 1024


@pytest.fixture
def world(make_vm, data_dir):
    """Project ``web``: small files (packed), ``sub/`` (its own tree), a compressible 5 MiB
    file (zstd chunks) and a random one (raw chunks); checkpoints c1 and c2 (c2 changes
    ``sub/b.txt``). Project ``other`` has one checkpoint sharing nothing with ``web``."""
    vm = make_vm()
    web = vm.projects.create("web")
    ws = Path(web.workspace)
    (ws / "sub").mkdir()
    (ws / "a.txt").write_text("alpha\n")
    (ws / "sub" / "b.txt").write_text("beta\n")
    (ws / "text.log").write_bytes(b"".join(b"line %07d of a log that compresses well\n" % i for i in range(120_000)))
    (ws / "noise.bin").write_bytes(os.urandom(5 * MiB))
    c1 = vm.checkpoints.create(web.id, description="one").checkpoint
    (ws / "sub" / "b.txt").write_text("beta 2\n")
    c2 = vm.checkpoints.create(web.id, description="two").checkpoint
    other = vm.projects.create("other")
    (Path(other.workspace) / "o.txt").write_text("other project\n")
    co = vm.checkpoints.create(other.id).checkpoint
    vm.close()
    db = data_dir / "vmuser.db"

    def blob_of(cp, path):
        entry = vm2.checkpoints.entry(cp.id, path)
        return entry.hash

    vm2 = make_vm(reconcile=False)
    info = {
        "vm": vm2,
        "db": db,
        "c1": c1,
        "c2": c2,
        "co": co,
        "a": blob_of(c1, "a.txt"),
        "b1": blob_of(c1, "sub/b.txt"),
        "log": blob_of(c1, "text.log"),
        "noise": blob_of(c1, "noise.bin"),
        "sub1": blob_of(c1, "sub"),
        "sub2": blob_of(c2, "sub"),
    }
    vm2.close()
    return info


def sql(db: Path, statement: str, params=()) -> None:
    conn = sqlite3.connect(db)
    with conn:
        conn.execute(statement, params)
    conn.close()


def query(db: Path, statement: str, params=()) -> list:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(statement, params).fetchall()
    finally:
        conn.close()


def chunks(db: Path, digest: str) -> list[str]:
    data = query(db, "SELECT data FROM blobs WHERE hash = ?", (digest,))[0][0]
    return [data[i : i + 32].hex() for i in range(0, len(data), 32)]


def check(make_vm):
    vm = make_vm(reconcile=False)  # a fresh process's view: no cached trees or packs
    return vm.check()


def affected(report) -> dict[str, list[str]]:
    return {a.id: a.paths for a in report.affected}


def test_a_clean_store_passes_and_counts_what_it_read(world, make_vm):
    report = check(make_vm)
    assert report.ok and report.damaged == [] and report.affected == []
    codecs = dict(query(world["db"], "SELECT codec, COUNT(*) FROM blobs GROUP BY codec"))
    assert {"packed", "cdc", "zstd", "raw"} <= set(codecs)  # every codec was read back
    assert report.blobs == sum(codecs.values())
    assert report.trees == query(world["db"], "SELECT COUNT(*) FROM trees")[0][0]
    assert report.checkpoints == 3 and report.packs >= 1


def test_a_raw_chunk_with_other_bytes_is_found_with_its_file(world, make_vm):
    db = world["db"]
    chunk = chunks(db, world["noise"])[-2]
    assert query(db, "SELECT codec FROM blobs WHERE hash = ?", (chunk,)) == [("raw",)]
    sql(db, "UPDATE blobs SET data = zeroblob(length(data)) WHERE hash = ?", (chunk,))
    report = check(make_vm)
    found = {(d.kind, d.id): d.problem for d in report.damaged}
    assert "content does not match its hash" in found[("blob", chunk)]
    assert f"its chunk {chunk[:12]} is damaged" in found[("blob", world["noise"])]
    assert affected(report) == {world["c1"].id: ["noise.bin"], world["c2"].id: ["noise.bin"]}


def test_an_undecodable_zstd_chunk_is_unreadable(world, make_vm):
    db = world["db"]
    chunk = next(
        c for c in chunks(db, world["log"]) if query(db, "SELECT codec FROM blobs WHERE hash = ?", (c,)) == [("zstd",)]
    )
    sql(db, "UPDATE blobs SET data = x'28b52ffd00ff00ff00ff' WHERE hash = ?", (chunk,))
    report = check(make_vm)
    problem = next(d.problem for d in report.damaged if d.id == chunk)
    assert problem.startswith("unreadable:")
    assert set(affected(report)) == {world["c1"].id, world["c2"].id}
    assert all(paths == ["text.log"] for paths in affected(report).values())


def test_a_damaged_pack_loses_its_members(world, make_vm):
    db = world["db"]
    pack_id = query(db, "SELECT pack_id FROM blobs WHERE hash = ?", (world["a"],))[0][0]
    members = query(db, "SELECT COUNT(*) FROM blobs WHERE pack_id = ?", (pack_id,))[0][0]
    sql(db, "UPDATE packs SET data = substr(data, 1, 10), codec = 'zstd' WHERE id = ?", (pack_id,))
    report = check(make_vm)
    pack = next(d for d in report.damaged if d.kind == "pack")
    assert pack.id == str(pack_id) and f"{members} blob(s) lost with it" in pack.problem
    lost = [d for d in report.damaged if d.problem == f"lost with damaged pack {pack_id}"]
    assert len(lost) == members
    assert "a.txt" in affected(report)[world["c1"].id]


def test_a_deleted_blob_is_missing_where_a_tree_lists_it(world, make_vm):
    db = world["db"]
    sql(db, "DELETE FROM blobs WHERE hash = ?", (world["b1"],))  # sub/b.txt as c1 had it
    report = check(make_vm)
    [damage] = report.damaged
    assert damage.kind == "blob" and damage.id == world["b1"]
    assert damage.problem == f"missing (tree {world['sub1'][:12]} lists it as 'b.txt')"
    assert affected(report) == {world["c1"].id: ["sub/b.txt"]}  # c2 has a new b.txt: whole


def test_a_tree_with_garbage_bytes_and_one_with_another_content(world, make_vm):
    db = world["db"]
    sql(db, "UPDATE trees SET data = x'00112233' WHERE hash = ?", (world["sub1"],))
    other = zstandard.ZstdCompressor().compress(b"file 644 1 " + b"0" * 64 + b"\tz.txt\n")
    sql(db, "UPDATE trees SET data = ? WHERE hash = ?", (other, world["sub2"]))
    report = check(make_vm)
    found = {d.id: d.problem for d in report.damaged}
    assert found[world["sub1"]].startswith("unreadable: tree")
    assert found[world["sub2"]] == "content does not match its hash"
    assert affected(report) == {world["c1"].id: ["sub/"], world["c2"].id: ["sub/"]}


def test_a_missing_subtree_and_a_missing_root(world, make_vm):
    db = world["db"]
    sql(db, "DELETE FROM trees WHERE hash = ?", (world["sub1"],))
    sql(db, "DELETE FROM trees WHERE hash = ?", (world["co"].root_tree,))
    report = check(make_vm)
    found = {d.id: d.problem for d in report.damaged}
    assert found[world["sub1"]].startswith("missing (tree ")
    assert found[world["co"].root_tree] == f"missing (root of checkpoint {world['co'].id})"
    assert affected(report) == {world["c1"].id: ["sub/"], world["co"].id: ["/"]}


def test_a_missing_chunk_breaks_its_file(world, make_vm):
    db = world["db"]
    chunk = chunks(db, world["log"])[0]
    sql(db, "DELETE FROM blobs WHERE hash = ?", (chunk,))
    report = check(make_vm)
    problem = next(d.problem for d in report.damaged if d.id == world["log"])
    assert problem.startswith("1 of its ") and f"chunks are missing (first {chunk[:12]})" in problem


def test_check_writes_nothing(world, make_vm):
    db = world["db"]
    sql(db, "UPDATE blobs SET data = zeroblob(length(data)) WHERE codec = 'raw'")

    def digest() -> str:
        conn = sqlite3.connect(db)
        h = hashlib.sha256()
        for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"):
            for r in sorted(repr(r) for r in conn.execute(f'SELECT * FROM "{t}"')):
                h.update(r.encode())
        conn.close()
        return h.hexdigest()

    before = digest()
    assert not check(make_vm).ok
    assert digest() == before


def test_cli_exit_codes_report_and_json(world, data_dir, config_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("VMUSER_")}
    env.update(VMUSER_DATA_DIR=str(data_dir), VMUSER_CONFIG=str(config_path))

    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "vmuser_tui", "check", *args],
            check=False,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    r = run()
    assert r.returncode == 0 and r.stdout.startswith("no damage: the database, ") and r.stderr == ""
    sql(world["db"], "DELETE FROM blobs WHERE hash = ?", (world["a"],))
    r = run()
    assert r.returncode == 1
    assert f"damaged blob     {world['a'][:12]}  missing (tree " in r.stdout
    assert f"  {world['c1'].id}  " in r.stdout and "a.txt" in r.stdout
    assert r.stderr.strip().splitlines() == [
        (
            f"vmuser: error: 1 damaged object(s) in {world['db']}, 2 checkpoint(s) affected; "
            "see vmuser check --help for what to do"
        )
    ]

    r = run("--json")
    doc = json.loads(r.stdout)
    assert r.returncode == 1 and doc["ok"] is False
    assert doc["damaged"] == [{"kind": "blob", "id": world["a"], "problem": doc["damaged"][0]["problem"]}]
    assert {a["id"] for a in doc["affected_checkpoints"]} == {world["c1"].id, world["c2"].id}
    help_text = subprocess.run(
        [sys.executable, "-m", "vmuser_tui", "check", "--help"], check=False, env=env, capture_output=True, text=True
    ).stdout
    assert "Exit code 0: no damage; 1: damage found" in help_text and "--path" in help_text
