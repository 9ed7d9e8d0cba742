"""capture -> mutate -> capture -> restore on real trees, real SQLite; the stat cache;
a hypothesis round trip on random trees and mutations."""

from __future__ import annotations

import os
import random
import shutil
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from vmuser_tui.core.store import cdc
from vmuser_tui.core.store.objects import CHUNK_SIZE, CHUNK_THRESHOLD

from wsutil import describe_difference, mkdir, snapshot, symlink, write

MiB = 1024 * 1024
BIG_SIZE = 5 * MiB + 123  # > CHUNK_THRESHOLD: stored as chunks


def counts(vm) -> dict[str, int]:
    q = lambda sql: vm.db.query_one(sql)["n"]
    return {
        "blobs": q("SELECT COUNT(*) AS n FROM blobs"),
        "trees": q("SELECT COUNT(*) AS n FROM trees"),
        "checkpoints": q("SELECT COUNT(*) AS n FROM checkpoints"),
        "log": q("SELECT COUNT(*) AS n FROM operation_log"),
    }


def build_rich_tree(ws: Path) -> None:
    rng = random.Random(42)
    write(ws, "README.md", "# Project\n\nline two\nline three\n")
    write(ws, "bin/run.sh", "#!/bin/sh\necho run\n", 0o755)
    write(ws, "src/app/__init__.py", "")
    write(ws, "src/app/main.py", "def main():\n    return 42\n")
    write(ws, "private/secret.txt", "s3cret\n", 0o600)
    os.chmod(ws / "private", 0o700)
    mkdir(ws, "empty")
    mkdir(ws, "nested/empty/deeper", 0o750)
    symlink(ws, "links/to-readme", "../README.md")
    symlink(ws, "links/to-src", "../src")  # a symlink to a directory
    symlink(ws, "links/dangling", "nowhere")
    write(ws, "café/naïve.txt", "unicode folder\n")
    write(ws, "日本語/ファイル.md", "日本語のテキスト\n")
    write(ws, "emoji 😀.txt", "smile\n")
    write(ws, "data/blob.bin", b"\x00\x01\x02binary\xff" * 100)
    write(ws, "data/big.bin", rng.randbytes(BIG_SIZE))


def mutate_rich_tree(ws: Path) -> set[tuple[str, str]]:
    """Apply a known set of mutations; return the expected (path, status) diff."""
    write(ws, "README.md", "# Project\n\nline 2\nline three\nline four\n")
    os.chmod(ws / "bin/run.sh", 0o644)
    os.unlink(ws / "src/app/__init__.py")
    write(ws, "src/app/new.py", "NEW = True\n")
    os.rename(ws / "日本語/ファイル.md", ws / "日本語/renamed.md")
    with open(ws / "data/big.bin", "r+b") as fh:  # a 10-byte edit in the middle of chunk 2
        fh.seek(2 * CHUNK_SIZE + 1000)
        fh.write(b"0123456789")
    os.unlink(ws / "links/to-readme")
    write(ws, "links/to-readme", "now a regular file\n")
    os.rmdir(ws / "empty")
    mkdir(ws, "added-empty")
    os.unlink(ws / "links/dangling")
    os.symlink("elsewhere", ws / "links/dangling")
    return {
        ("README.md", "M"),
        ("bin/run.sh", "M"),
        ("src/app/__init__.py", "D"),
        ("src/app/new.py", "A"),
        ("日本語/renamed.md", "R"),
        ("data/big.bin", "M"),
        ("links/to-readme", "T"),
        ("empty", "D"),
        ("added-empty", "A"),
        ("links/dangling", "M"),
    }


@pytest.fixture
def project(vm):
    p = vm.projects.create("Round Trip")
    build_rich_tree(Path(p.workspace))
    return p


def test_capture_mutate_capture_restore_round_trip(vm, project):
    ws = Path(project.workspace)
    before = snapshot(ws)
    first = vm.checkpoints.create(project.id, description="first")
    assert first.created
    cp1 = first.checkpoint
    assert cp1.file_count == sum(1 for v in before.values() if v[0] == "file")
    assert cp1.total_size == sum(len(v[2]) for v in before.values() if v[0] == "file")
    assert first.new_bytes > BIG_SIZE * 0.9  # random bytes do not compress

    expected = mutate_rich_tree(ws)
    after = snapshot(ws)
    second = vm.checkpoints.create(project.id, description="second")
    assert second.created
    cp2 = second.checkpoint
    assert cp2.parent_id == cp1.id
    # a small edit to a big file stores one or two content-defined chunks, not the whole file
    assert 0 < second.new_bytes < 2 * CHUNK_SIZE + 64 * 1024

    d = vm.checkpoints.diff(cp1.id, cp2.id)
    got = {(c.path, c.status) for c in d.changes}
    assert got == expected
    by_path = {c.path: c for c in d.changes}
    assert by_path["日本語/renamed.md"].old_path == "日本語/ファイル.md"
    assert (by_path["README.md"].additions, by_path["README.md"].deletions) == (2, 1)
    assert by_path["bin/run.sh"].mode_changed
    assert by_path["data/big.bin"].binary or by_path["data/big.bin"].large

    # restore the first checkpoint: byte for byte, mode for mode
    outcome = vm.restores.restore(cp1.id)
    now = snapshot(ws)
    assert now == before, describe_difference(now, before)
    r = outcome.result
    assert (r.written, r.deleted, r.dirs, r.chmods, r.symlinks) == (4, 4, 1, 1, 2)
    assert r.refused == []
    assert outcome.pre_restore.id == cp2.id  # nothing changed since cp2: the head is the undo point
    assert vm.projects.get(project.id).head_checkpoint_id == cp1.id

    # and forward again to the second
    vm.restores.restore(cp2.id)
    now = snapshot(ws)
    assert now == after, describe_difference(now, after)


def test_big_file_is_chunked_and_reads_back(vm, project):
    cp = vm.checkpoints.create(project.id).checkpoint
    entry = vm.checkpoints.entry(cp.id, "data/big.bin")
    assert entry.size == BIG_SIZE > CHUNK_THRESHOLD
    row = vm.db.query_one("SELECT codec, length(data) AS n FROM blobs WHERE hash = ?", (entry.hash,))
    assert row["codec"] == "cdc"  # content-defined chunks: 512 KiB to 8 MiB each
    assert row["n"] % 32 == 0 and 32 * (BIG_SIZE // cdc.MAX_SIZE) <= row["n"] <= 32 * (BIG_SIZE // cdc.MIN_SIZE + 1)
    # its hash is the content's, the same as fixed 1 MiB chunks gave (see core/store/cdc.py)
    assert entry.hash == cdc.file_hash((Path(project.workspace) / "data/big.bin").read_bytes())
    data = vm.fs.read(project.id, "data/big.bin", at=cp.id)
    assert data == (Path(project.workspace) / "data/big.bin").read_bytes()


def test_diff_against_live_workspace(vm, project):
    ws = Path(project.workspace)
    cp = vm.checkpoints.create(project.id).checkpoint
    assert vm.checkpoints.diff(cp.id).changes == []
    expected = mutate_rich_tree(ws)
    d = vm.checkpoints.diff(cp.id)
    assert {(c.path, c.status) for c in d.changes} == expected
    assert d.to_id is None
    readme = next(c for c in d.changes if c.path == "README.md")
    text = vm.checkpoints.file_diff(d, readme)
    assert "-line two\n" in text and "+line 2\n" in text and "+line four\n" in text
    # diffing the live tree stores nothing
    before = counts(vm)
    vm.checkpoints.diff(cp.id)
    assert counts(vm) == before


def test_no_change_checkpoint_stores_nothing(vm, project):
    first = vm.checkpoints.create(project.id)
    before = counts(vm)
    again = vm.checkpoints.create(project.id, description="nothing new")
    assert again.created is False
    assert again.checkpoint.id == first.checkpoint.id
    assert again.new_bytes == 0
    assert counts(vm) == before
    assert vm.projects.get(project.id).head_checkpoint_id == first.checkpoint.id


def test_no_change_after_restore_is_detected_too(vm, project):
    ws = Path(project.workspace)
    cp1 = vm.checkpoints.create(project.id).checkpoint
    mutate_rich_tree(ws)
    vm.checkpoints.create(project.id)
    vm.restores.restore(cp1.id)
    out = vm.checkpoints.create(project.id)
    assert out.created is False and out.checkpoint.id == cp1.id


def test_new_work_after_restore_branches_the_timeline(vm, project):
    ws = Path(project.workspace)
    cp1 = vm.checkpoints.create(project.id).checkpoint
    write(ws, "README.md", "v2\n")
    cp2 = vm.checkpoints.create(project.id).checkpoint
    vm.restores.restore(cp1.id)
    write(ws, "README.md", "v3\n")
    cp3 = vm.checkpoints.create(project.id).checkpoint
    assert cp2.parent_id == cp1.id
    assert cp3.parent_id == cp1.id


def test_unchanged_old_files_are_not_rehashed(vm):
    """The stat cache: files whose stat matches are not read again."""
    p = vm.projects.create("stat cache")
    ws = Path(p.workspace)
    old = time.time() - 3600
    for i in range(30):
        f = write(ws, f"f{i:02}.txt", f"content {i}\n")
        os.utime(f, (old, old))
    first = vm.checkpoints.create(p.id)
    assert first.hashed_files == 30
    write(ws, "f07.txt", "changed\n")
    second = vm.checkpoints.create(p.id)
    assert second.created and second.hashed_files == 1
    third = vm.checkpoints.create(p.id)
    assert third.created is False


@pytest.mark.parametrize("age", [0, 3600], ids=["mtime-now", "mtime-1h-ago"])
def test_same_size_same_mtime_change_is_detected(vm, age):
    """racy git: rewrite a file with the same size and force its mtime back to what the
    stat cache recorded; the next checkpoint must still see the new content."""
    p = vm.projects.create("racy")
    ws = Path(p.workspace)
    f = write(ws, "racy.txt", "AAAA\n")
    t = time.time_ns() - age * 1_000_000_000
    os.utime(f, ns=(t, t))
    cp1 = vm.checkpoints.create(p.id).checkpoint
    st1 = os.stat(f)
    f.write_bytes(b"BBBB\n")  # same size, same inode
    os.utime(f, ns=(st1.st_atime_ns, st1.st_mtime_ns))
    st2 = os.stat(f)
    assert (st2.st_size, st2.st_mtime_ns, st2.st_ino) == (st1.st_size, st1.st_mtime_ns, st1.st_ino)
    out = vm.checkpoints.create(p.id)
    assert out.created, "a same-size, same-mtime rewrite went unnoticed"
    assert vm.fs.read(p.id, "racy.txt", at=out.checkpoint.id) == b"BBBB\n"
    assert vm.fs.read(p.id, "racy.txt", at=cp1.id) == b"AAAA\n"
    assert [c.path for c in vm.checkpoints.diff(cp1.id, out.checkpoint.id).changes] == ["racy.txt"]


def test_unsupported_entries_are_reported_not_silently_dropped(vm):
    p = vm.projects.create("skips")
    ws = Path(p.workspace)
    write(ws, "ok.txt", "fine\n")
    write(ws, "cafe\u0301.txt", "NFD name\n")  # not NFC: cannot be a portable path
    os.mkfifo(ws / "pipe")
    out = vm.checkpoints.create(p.id)
    skipped = dict(out.skipped)
    assert "NFC" in skipped["cafe\u0301.txt"]
    assert "not a regular file" in skipped["pipe"]
    names = [f.name for f in vm.fs.ls(p.id, "", at=out.checkpoint.id)]
    assert names == ["ok.txt"]


def test_reserved_top_level_vmuser_dir_is_not_captured(vm):
    p = vm.projects.create("reserved")
    ws = Path(p.workspace)
    write(ws, ".vmuser/state", "internal\n")
    write(ws, "sub/.vmuser/kept", "only the top level is reserved\n")
    cp = vm.checkpoints.create(p.id).checkpoint
    paths = {path for path, _ in vm.ctx.store.walk(cp.root_tree)}
    assert paths == {"sub", "sub/.vmuser", "sub/.vmuser/kept"}


def test_long_file_name_round_trips(vm):
    p = vm.projects.create("long names")
    ws = Path(p.workspace)
    name = "n" * 250
    write(ws, name, "long name\n")
    cp = vm.checkpoints.create(p.id).checkpoint
    os.unlink(ws / name)
    vm.restores.restore(cp.id)
    assert (ws / name).read_bytes() == b"long name\n"


# -- hypothesis: random trees, random mutations ------------------------------------------------

NAMES = ["a", "b", "c.txt", "é", "日本", "x y", "Z"]
FILE_MODES = [0o644, 0o755, 0o600]
DIR_MODES = [0o755, 0o700, 0o750]

_path = st.lists(st.sampled_from(NAMES), min_size=1, max_size=3).map("/".join)
_content = st.one_of(st.binary(max_size=48), st.sampled_from([b"", b"same\n", b"line\n" * 3]))
_node = st.one_of(
    st.tuples(st.just("file"), _content, st.sampled_from(FILE_MODES)),
    st.tuples(st.just("dir"), st.sampled_from(DIR_MODES)),
    st.tuples(st.just("link"), st.sampled_from(["a", "b/c.txt", "missing", "."])),
)
_op = st.one_of(
    st.tuples(st.just("write"), _path, _content, st.sampled_from(FILE_MODES)),
    st.tuples(st.just("delete"), _path),
    st.tuples(st.just("chmod"), _path, st.sampled_from(FILE_MODES)),
    st.tuples(st.just("mkdir"), _path),
    st.tuples(st.just("rename"), _path, _path),
)


def _fits(model: dict, path: str, kind: str) -> bool:
    """A new entry at ``path`` fits when no ancestor is a non-dir and, unless it is a dir,
    nothing lies below it."""
    parts = path.split("/")
    for i in range(1, len(parts)):
        anc = model.get("/".join(parts[:i]))
        if anc is not None and anc[0] != "dir":
            return False
    if kind != "dir" and any(p.startswith(path + "/") for p in model):
        return False
    return True


def _materialize(ws: Path, path: str, node: tuple) -> None:
    full = ws / path
    full.parent.mkdir(parents=True, exist_ok=True)
    if node[0] == "file":
        full.write_bytes(node[1])
        os.chmod(full, node[2])
    elif node[0] == "dir":
        full.mkdir(exist_ok=True)
        os.chmod(full, node[1])
    else:
        os.symlink(node[1], full)


def _remove(ws: Path, path: str) -> None:
    full = ws / path
    if full.is_dir() and not full.is_symlink():
        shutil.rmtree(full)
    else:
        full.unlink()


def _leaves(snap: dict) -> dict:
    """Files, symlinks and empty dirs of a snapshot (what a diff talks about)."""
    dirs_with_children = {os.path.dirname(p) for p in snap}
    return {p: v for p, v in snap.items() if v[0] != "dir" or p not in dirs_with_children}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(_path, _node), max_size=10), st.lists(_op, min_size=1, max_size=6))
# found by the full suite: folder b (0700) deleted, then a (0755) renamed to b
@example(entries=[("a/a", ("dir", 0o755)), ("b", ("dir", 0o700))],
         ops=[("write", "a", b"", 0o644), ("delete", "b"), ("rename", "a", "b")])
def test_property_round_trip(vm, entries, ops):
    p = vm.projects.create("prop")
    ws = Path(p.workspace)
    model: dict[str, tuple] = {}
    for path, node in entries:
        if path in model or not _fits(model, path, node[0]):
            continue
        _materialize(ws, path, node)
        model[path] = node
        parts = path.split("/")
        for i in range(1, len(parts)):
            model.setdefault("/".join(parts[:i]), ("dir", 0o755))
    snap1 = snapshot(ws)
    cp1 = vm.checkpoints.create(p.id).checkpoint

    for op in ops:
        kind, path = op[0], op[1]
        existing = snapshot(ws)
        if kind == "write":
            if path in existing and existing[path][0] != "file":
                continue
            if path not in existing and not _fits(existing, path, "file"):
                continue
            _materialize(ws, path, ("file", op[2], op[3]))
        elif kind == "delete" and path in existing:
            _remove(ws, path)
        elif kind == "chmod" and existing.get(path, ("",))[0] == "file":
            os.chmod(ws / path, op[2])
        elif kind == "mkdir" and path not in existing and _fits(existing, path, "dir"):
            _materialize(ws, path, ("dir", 0o755))
        elif kind == "rename" and path in existing and op[2] not in existing:
            dst = op[2]
            if dst.startswith(path + "/") or not _fits(existing, dst, existing[path][0]):
                continue
            (ws / dst).parent.mkdir(parents=True, exist_ok=True)
            os.rename(ws / path, ws / dst)
    snap2 = snapshot(ws)
    out = vm.checkpoints.create(p.id)
    assert out.created == (snap2 != snap1) or _only_dir_modes_differ(snap1, snap2)

    if out.created:
        changes = vm.checkpoints.diff(cp1.id, out.checkpoint.id).changes
        touched = {c.path for c in changes} | {c.old_path for c in changes if c.old_path}
        l1, l2 = _leaves(snap1), _leaves(snap2)
        both_dirs = {p for p in snap1.keys() & snap2.keys() if snap1[p][0] == snap2[p][0] == "dir"}
        expected = {
            path
            for path in l1.keys() | l2.keys()
            if snap1.get(path) != snap2.get(path) and path not in both_dirs and (path in l1 or path in l2)
        } | {
            # a folder deleted and made again with another mode (delete b, rename a to b): the
            # diff reports its mode change, as git reports a file's
            path for path in both_dirs if snap1[path] != snap2[path]
        }
        assert touched == expected

    vm.restores.restore(cp1.id)
    now = snapshot(ws)
    assert now == snap1, describe_difference(now, snap1)


def _only_dir_modes_differ(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(a[p] == b[p] or (a[p][0] == b[p][0] == "dir") for p in a)
