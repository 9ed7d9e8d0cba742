"""Crash safety with real processes: kill -9 in the middle of a checkpoint and of a restore,
and a checkpoint on a full disk or a read-only data dir.

Each run forks the test process (a real process, killed for real with SIGKILL after a
seeded random delay); the child opens its own ``Vmuser`` on the shared data dir, since an
SQLite connection must never cross a fork: the parent closes its own before forking and
opens a fresh one to check the aftermath. A fork costs milliseconds where a new Python
costs ~150 ms, so 100 + 50 runs fit in about a minute and a half on two cores.

The loops are marked ``crash`` (deselect with ``-m 'not crash'``); their counts (runs
killed, checkpoints left, restores finished or rolled back) are recorded with
``record_property`` (junit XML) and printed (``-rP`` shows them).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import random
import signal
import sqlite3
import stat
import subprocess
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest
from wsutil import write

from vmuser_tui.core import procs
from vmuser_tui.core.errors import StoreError, VmuserError
from vmuser_tui.core.service import Vmuser
from vmuser_tui.core.store import restore as rs
from vmuser_tui.core.store.gc import lock_is_stale
from vmuser_tui.core.store import cdc
from vmuser_tui.core.store.objects import CHUNK_THRESHOLD, CHUNKS, LISTS, chunked_hash

CHECKPOINT_RUNS = 100
RESTORE_RUNS = 50
SEED = 20260907

# -- processes ------------------------------------------------------------------------------


@dataclass
class Run:
    """How a forked child ended: ``killed`` by our SIGKILL, else it finished (``lines`` are
    what it reported, e.g. ``"done <seconds> ..."``)."""

    killed: bool
    lines: list[str]

    def done(self) -> list[str] | None:
        """The fields of the child's ``done`` line, or None when it did not get that far."""
        for line in self.lines:
            if line.startswith("done"):
                return line.split()[1:]
        return None


def fork_run(work, kill_after: float | None = None) -> Run:
    """Run ``work(report)`` in a forked child; ``report(text)`` sends the parent a line.
    The child reports ``start`` first; ``kill_after`` seconds after that, it is SIGKILLed
    (None: let it finish). The parent must hold no open SQLite connection when calling."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 1
        try:
            os.close(r)
            work(lambda text: os.write(w, text.encode() + b"\n"))
            code = 0
        except BaseException:  # noqa: BLE001 - the child must reach os._exit whatever happened
            traceback.print_exc()
        finally:
            os._exit(code)
    os.close(w)
    buf = b""
    with os.fdopen(r, "rb", buffering=0) as pipe:
        while b"\n" not in buf:
            part = pipe.read(4096)
            if not part:
                break
            buf += part
        if kill_after is not None and buf.startswith(b"start"):
            time.sleep(kill_after)
            os.kill(pid, signal.SIGKILL)  # a zombie if it already exited: harmless
        _, status = os.waitpid(pid, 0)  # reaped: its pid is dead for vmuser's liveness checks
        buf += pipe.read()
    killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    if not killed and os.waitstatus_to_exitcode(status) != 0:
        pytest.fail(f"child failed (status {status}); its traceback is in the captured stderr")
    return Run(killed, buf.decode().splitlines())


def open_vm(data_dir: Path, config_path: Path, *, reconcile: bool = True) -> Vmuser:
    return Vmuser.open(data_dir=str(data_dir), config_path=config_path, reconcile=reconcile, live=False)


# -- what a tree looks like ------------------------------------------------------------------


def dir_manifest(root: Path) -> dict[str, tuple]:
    """Everything under ``root`` by path: ``("file", mode, sha256)``, ``("dir", mode)``,
    ``("symlink", target)``. Leftover temp files show up too (as they must not)."""
    out: dict[str, tuple] = {}
    base = os.fspath(root)
    for dirpath, dirnames, filenames in os.walk(base):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, base)
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("symlink", os.readlink(full))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", stat.S_IMODE(st.st_mode))
            else:
                with open(full, "rb") as fh:
                    out[rel] = ("file", stat.S_IMODE(st.st_mode), hashlib.sha256(fh.read()).hexdigest())
    return out


def read_verified(vm: Vmuser, digest: str) -> bytes:
    """A blob's content, checked against its address (chunk by chunk for a chunked file)."""
    row = vm.db.conn.execute("SELECT codec FROM blobs WHERE hash = ?", (digest,)).fetchone()
    assert row is not None, f"blob {digest[:12]} is missing"
    pieces = list(vm.ctx.store.iter_blob(digest))
    if row[0] == CHUNKS:
        assert chunked_hash([hashlib.sha256(p).digest() for p in pieces]) == digest
    elif row[0] in LISTS:
        assert cdc.file_hash(b"".join(pieces)) == digest
    else:
        assert hashlib.sha256(pieces[0]).hexdigest() == digest
    return b"".join(pieces)


def tree_manifest(vm: Vmuser, root: str) -> dict[str, tuple]:
    """The stored tree ``root`` in :func:`dir_manifest`'s form; every tree and blob it
    reaches must exist and decompress to its hash."""
    out: dict[str, tuple] = {}
    for path, e in vm.ctx.store.walk(root):
        if e.kind == "dir":
            out[path] = ("dir", e.mode)
        elif e.kind == "symlink":
            out[path] = ("symlink", os.fsdecode(read_verified(vm, e.hash)))
        else:
            out[path] = ("file", e.mode, hashlib.sha256(read_verified(vm, e.hash)).hexdigest())
    return out


def assert_whole(vm: Vmuser, root: str) -> None:
    """Cheaper than :func:`tree_manifest`: every tree below ``root`` decodes and every blob
    (and chunk) it names is stored, without reading the blobs."""
    hashes = [e.hash for _, e in vm.ctx.store.walk(root) if e.kind != "dir"]
    conn = vm.db.conn
    for i in range(0, len(hashes), 500):
        part = set(hashes[i : i + 500])
        rows = conn.execute(
            f"SELECT hash, codec, data FROM blobs WHERE hash IN ({','.join('?' * len(part))})", list(part)
        )
        found = 0
        for h, codec, data in rows:
            found += 1
            if codec in LISTS:
                chunks = {data[j : j + 32].hex() for j in range(0, len(data), 32)}
                marks = ",".join("?" * len(chunks))
                n = conn.execute(f"SELECT COUNT(*) FROM blobs WHERE hash IN ({marks})", list(chunks)).fetchone()[0]
                assert n == len(chunks), f"a chunk of {h[:12]} is missing"
        assert found == len(part), f"{len(part) - found} blobs of tree {root[:12]} are missing"


def digest(manifest: dict[str, tuple]) -> str:
    return hashlib.sha256(json.dumps(sorted(manifest.items())).encode()).hexdigest()


def materialize(vm: Vmuser, root: str, scratch: Path) -> dict[str, tuple]:
    """Restore tree ``root`` into an empty scratch dir with the restore engine; its manifest."""
    if scratch.exists():
        subprocess.run(["rm", "-rf", str(scratch)], check=True)
    scratch.mkdir()
    plan = rs.plan(dict(vm.ctx.store.walk(root)), {})
    rs.apply(vm.ctx.store, scratch, plan)
    return dir_manifest(scratch)


def mismatch(got: dict, want: dict) -> str:
    paths = sorted(p for p in got.keys() | want.keys() if got.get(p) != want.get(p))
    return f"{len(paths)} paths differ, e.g. " + ", ".join(f"{p}: {got.get(p)} != {want.get(p)}" for p in paths[:5])


# -- store invariants ---------------------------------------------------------------------------


def assert_store_sound(vm: Vmuser) -> None:
    """The database is intact, and every promise the store makes is kept: the stat cache
    points at stored blobs, packed blobs at stored packs, heads at stored checkpoints."""
    conn = vm.db.conn
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    lost = conn.execute(
        "SELECT COUNT(*) FROM stat_cache s LEFT JOIN blobs b ON b.hash = s.hash WHERE b.hash IS NULL"
    ).fetchone()[0]
    assert lost == 0, f"{lost} stat-cache rows name blobs that are not stored"
    lost = conn.execute(
        "SELECT COUNT(*) FROM blobs b LEFT JOIN packs p ON p.id = b.pack_id "
        "WHERE b.pack_id IS NOT NULL AND p.id IS NULL"
    ).fetchone()[0]
    assert lost == 0, f"{lost} packed blobs name packs that are not stored"
    lost = conn.execute(
        "SELECT COUNT(*) FROM projects p LEFT JOIN checkpoints c ON c.id = p.head_checkpoint_id "
        "WHERE p.head_checkpoint_id IS NOT NULL AND c.id IS NULL"
    ).fetchone()[0]
    assert lost == 0, "a project's head names a checkpoint that does not exist"


def assert_no_orphans(vm: Vmuser) -> dict:
    """After gc: every stored tree is reached from a checkpoint, every blob from a
    checkpoint or the stat cache (it promises them), every pack holds a blob, and all that
    is reached is stored. Walked here, not with gc's own code. Returns counts."""
    conn = vm.db.conn
    trees, blobs = set(), set()
    stack = [r[0] for r in conn.execute("SELECT root_tree FROM checkpoints")]
    while stack:
        h = stack.pop()
        if h not in trees:
            trees.add(h)
            for e in vm.ctx.store.get_tree(h):
                (stack.append if e.kind == "dir" else blobs.add)(e.hash)
    from_checkpoints = set(blobs)
    blobs |= {r[0] for r in conn.execute("SELECT hash FROM stat_cache")}
    for h in list(blobs):
        row = conn.execute("SELECT codec, data FROM blobs WHERE hash = ?", (h,)).fetchone()
        assert row is not None, f"reachable blob {h[:12]} is missing"
        if row[0] in LISTS:
            blobs.update(row[1][i : i + 32].hex() for i in range(0, len(row[1]), 32))
    stored_trees = {r[0] for r in conn.execute("SELECT hash FROM trees")}
    stored_blobs = {r[0] for r in conn.execute("SELECT hash FROM blobs")}
    assert stored_trees == trees, f"{len(stored_trees - trees)} orphan trees, {len(trees - stored_trees)} missing"
    assert stored_blobs == blobs, f"{len(stored_blobs - blobs)} orphan blobs, {len(blobs - stored_blobs)} missing"
    empty_packs = conn.execute(
        "SELECT COUNT(*) FROM packs p WHERE NOT EXISTS (SELECT 1 FROM blobs b WHERE b.pack_id = p.id)"
    ).fetchone()[0]
    assert empty_packs == 0, f"{empty_packs} packs hold no blob"
    assert conn.execute("SELECT COUNT(*) FROM capture_locks").fetchone()[0] == 0, "gc kept a dead capture's lock"
    return {"trees": len(trees), "blobs": len(blobs), "blobs_only_in_stat_cache": len(blobs - from_checkpoints)}


def checkpoint_ids(vm: Vmuser, project_id: str) -> list[str]:
    return [
        r["id"] for r in vm.db.query("SELECT id FROM checkpoints WHERE project_id = ? ORDER BY rowid", (project_id,))
    ]


# -- kill -9 during checkpoints ---------------------------------------------------------------------

ALPHABET = bytes(b"abcdefghijklmnopqrstuvwxyz     \n"[i % 32] for i in range(256))


def text(rng: random.Random, n: int) -> bytes:
    return rng.randbytes(n).translate(ALPHABET)


def overwrite(path: Path, data: bytes) -> None:
    """Rewrite a file's bytes in place, same length (no truncate: ext4 would flush it at close)."""
    with open(path, "r+b") as fh:
        fh.write(data)


@pytest.mark.crash
def test_checkpoints_killed_at_random_points_leave_a_sound_store(tmp_path, clean_env, record_property):
    data_dir, config_path = tmp_path / "data", tmp_path / "none.toml"
    ws = tmp_path / "ws"
    rng = random.Random(SEED)
    names = [f"d{i % 40:02}/f{i:05}.txt" for i in range(4000)]
    for n in names:
        write(ws, n, text(rng, rng.randint(100, 1500)), 0o755 if rng.random() < 0.05 else 0o644)
    write(ws, "big.bin", text(rng, CHUNK_THRESHOLD + 2 * 1024 * 1024))
    os.symlink("d00/f00000.txt", ws / "link")
    (ws / "empty").mkdir()
    vm = open_vm(data_dir, config_path)
    project = vm.projects.create("Crash", workspace=str(ws)).id
    expected: dict[str, str] = {}  # checkpoint id -> digest of the workspace it captured
    first = vm.checkpoints.create(project).checkpoint
    expected[first.id] = digest(dir_manifest(ws))
    vm.close()

    def mutate(i: int) -> None:
        for k in rng.sample(range(len(names)), len(names) // 6):
            path = ws / names[k]
            overwrite(path, text(rng, path.stat().st_size))
        with open(ws / "big.bin", "r+b") as fh:  # one 1 MiB chunk changes
            fh.seek(rng.randrange(0, CHUNK_THRESHOLD, 4096))
            fh.write(text(rng, 1024 * 1024))
        now = time.time_ns()
        for n in rng.sample(names, len(names) // 3):
            os.utime(ws / n, ns=(now, now))
        if i % 4 == 0:  # files come and go, a mode and a link change
            for k in rng.sample(range(len(names)), 10):
                os.unlink(ws / names[k])
                names[k] = f"d{k % 40:02}/n{i:03}-{k:05}.txt"
                write(ws, names[k], text(rng, rng.randint(100, 1500)))
            os.chmod(ws / names[i % len(names)], 0o600)
            os.unlink(ws / "link")
            os.symlink(names[rng.randrange(len(names))], ws / "link")

    def capture(report) -> None:
        child = open_vm(data_dir, config_path, reconcile=False)
        report("start")
        t0 = time.perf_counter()
        out = child.checkpoints.create(project)
        report(f"done {time.perf_counter() - t0:.4f} {out.checkpoint.id} {int(out.created)}")
        child.close()

    counts = {"runs": 0, "killed": 0, "finished_anyway": 0, "left_no_checkpoint": 0, "left_checkpoint": 0}
    durations: list[float] = []
    scratch = tmp_path / "scratch"
    for i in range(1, CHECKPOINT_RUNS + 1):
        mutate(i)
        if i % 10 == 1:
            # Calibrate: a capture not killed tells how long one takes now (killed ones leave
            # their changes to the next, so captures grow); the kills spread over all of it.
            run = fork_run(capture)
            durations.append(float(run.done()[0]))
            expected[run.done()[1]] = digest(dir_manifest(ws))
            mutate(i)
        run = fork_run(capture, kill_after=rng.uniform(0, durations[-1] * 1.3))
        counts["runs"] += 1
        counts["killed" if run.killed else "finished_anyway"] += 1
        vm = open_vm(data_dir, config_path)
        try:
            assert vm.notes == []
            assert_store_sound(vm)
            ids = checkpoint_ids(vm, project)
            new = [c for c in ids if c not in expected]
            assert len(new) <= 1, f"run {i}: {len(new)} new checkpoints"
            if new:  # committed before the kill (or not killed): it must be whole and exact
                want = digest(dir_manifest(ws))
                got = tree_manifest(vm, vm.checkpoints.get(new[0]).root_tree)
                assert digest(got) == want, f"run {i}: checkpoint {new[0]} is not the workspace it captured"
                assert vm.checkpoints.get(new[0]).file_count == sum(1 for v in got.values() if v[0] == "file")
                expected[new[0]] = want
                counts["left_checkpoint"] += run.killed  # killed after its commit
            else:
                assert run.killed, f"run {i}: the child finished but left no checkpoint"
                counts["left_no_checkpoint"] += 1
            assert set(ids) == set(expected), f"run {i}: a checkpoint vanished"
            # The previous head is still whole every time, and reads back byte for byte every
            # tenth run (a real restore into a scratch dir every fiftieth: 4,000 renames cost ~1 s).
            previous = [c for c in ids if c not in new][-1]
            root = vm.checkpoints.get(previous).root_tree
            if i % 50 == 0:
                assert digest(materialize(vm, root, scratch)) == expected[previous], f"run {i}: {previous}"
            elif i % 10 == 0:
                assert digest(tree_manifest(vm, root)) == expected[previous], f"run {i}: {previous}"
            else:
                assert_whole(vm, root)
            if i % 25 == 0:
                vm.gc()
                assert_no_orphans(vm)
                assert digest(tree_manifest(vm, root)) == expected[previous], f"run {i}: gc hurt {previous}"
        finally:
            vm.close()

    vm = open_vm(data_dir, config_path)
    try:
        vm.gc()
        orphans = assert_no_orphans(vm)
        assert_store_sound(vm)
        ids = checkpoint_ids(vm, project)
        for cid in ids:  # every checkpoint ever committed reads back byte for byte
            assert digest(tree_manifest(vm, vm.checkpoints.get(cid).root_tree)) == expected[cid], cid
        cid = ids[len(ids) // 2]
        assert digest(materialize(vm, vm.checkpoints.get(cid).root_tree, scratch)) == expected[cid], cid
    finally:
        vm.close()
    counts["checkpoints"] = len(ids)
    counts["capture_seconds"] = f"{min(durations):.3f}-{max(durations):.3f}"
    counts.update(orphans)
    record_property("checkpoint_kills", json.dumps(counts))
    print(f"checkpoint kill runs: {counts}")
    assert counts["killed"] >= CHECKPOINT_RUNS // 2, f"too few runs were killed mid-way to mean much: {counts}"
    assert counts["left_no_checkpoint"] > 0, counts


# -- kill -9 during restores ---------------------------------------------------------------------------


def build_restore_states(ws: Path, rng: random.Random) -> None:
    """State A in ``ws``; :func:`to_state_b` turns it into B: content, modes, a file that
    becomes a folder, folders only in one, a link, one chunk of a big file."""
    for i in range(1500):
        write(ws, f"r{i % 12:02}/f{i:04}.txt", text(rng, rng.randint(200, 2000)))
    for i in range(20):
        write(ws, f"onlyA/sub/a{i}.txt", text(rng, 300))
    write(ws, "swap", b"a file in A\n")
    write(ws, "big.bin", text(rng, CHUNK_THRESHOLD + 1024 * 1024))
    os.symlink("r00/f0000.txt", ws / "link")


def to_state_b(ws: Path, rng: random.Random) -> None:
    for i in rng.sample(range(1500), 500):
        overwrite(ws / f"r{i % 12:02}/f{i:04}.txt", text(rng, (ws / f"r{i % 12:02}/f{i:04}.txt").stat().st_size))
    for i in rng.sample(range(1500), 60):
        os.unlink(ws / f"r{i % 12:02}/f{i:04}.txt")
    for i in range(60):
        write(ws, f"r{i % 12:02}/b{i:04}.txt", text(rng, 500), 0o755 if i % 7 == 0 else 0o644)
    for i in range(0, 1500, 150):
        p = ws / f"r{i % 12:02}/f{i:04}.txt"
        if p.exists():
            os.chmod(p, 0o600)
    subprocess.run(["rm", "-rf", str(ws / "onlyA")], check=True)
    for i in range(20):
        write(ws, f"onlyB/x/b{i}.txt", text(rng, 300))
    os.unlink(ws / "swap")
    write(ws, "swap/inside.txt", b"a folder in B\n")
    with open(ws / "big.bin", "r+b") as fh:
        fh.seek(2 * 1024 * 1024)
        fh.write(text(rng, 4096))
    os.unlink(ws / "link")
    os.symlink("r01/f0001.txt", ws / "link")


SCOPES = ["r01", "r05", "r07", "swap", "onlyA", "onlyB", "link", "big.bin"]


def in_scope(path: str, scope: list[str] | None) -> bool:
    return not scope or any(path == p or path.startswith(p + "/") for p in scope)


def applied(before: dict, target: dict, scope: list[str] | None) -> dict:
    """What ``before`` becomes when ``target`` is restored within ``scope``."""
    out = {p: v for p, v in before.items() if not in_scope(p, scope)}
    out.update({p: v for p, v in target.items() if in_scope(p, scope)})
    return out


def sabotage(db_path: Path, manifest_now: dict, before: dict, target_tree: dict, scope) -> tuple | None:
    """Delete a blob the target still needs and the pre-restore state lacks, so finishing
    the interrupted restore must fail and recovery must roll back. Returns the deleted row."""
    have = {v[2] for v in before.values() if v[0] == "file"}
    for path, entry in sorted(target_tree.items()):
        if entry.kind != "file" or entry.size > CHUNK_THRESHOLD or not in_scope(path, scope):
            continue
        now = manifest_now.get(path)
        if entry.hash in have or (now is not None and now[0] == "file" and now[2] == entry.hash):
            continue
        conn = sqlite3.connect(db_path)
        try:
            row = conn.execute("SELECT * FROM blobs WHERE hash = ?", (entry.hash,)).fetchone()
            with conn:
                conn.execute("DELETE FROM blobs WHERE hash = ?", (entry.hash,))
        finally:
            conn.close()
        return row
    return None


def journal_rows(db_path: Path) -> int:
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute("SELECT COUNT(*) FROM restore_journal").fetchone()[0]
    finally:
        conn.close()


@pytest.mark.crash
def test_restores_killed_at_random_points_are_finished_or_rolled_back(tmp_path, clean_env, record_property):
    data_dir, config_path = tmp_path / "data", tmp_path / "none.toml"
    db_path = data_dir / "vmuser.db"
    ws = tmp_path / "ws"
    rng = random.Random(SEED + 1)
    build_restore_states(ws, rng)
    vm = open_vm(data_dir, config_path)
    project = vm.projects.create("Restore crash", workspace=str(ws)).id
    a = vm.checkpoints.create(project, description="A").checkpoint
    to_state_b(ws, rng)
    b = vm.checkpoints.create(project, description="B").checkpoint
    states = {a.id: tree_manifest(vm, a.root_tree), b.id: tree_manifest(vm, b.root_tree)}
    flats = {a.id: dict(vm.ctx.store.walk(a.root_tree)), b.id: dict(vm.ctx.store.walk(b.root_tree))}
    vm.close()
    assert dir_manifest(ws) == states[b.id]

    def restore(target: str, scope: list[str] | None):
        def work(report) -> None:
            child = open_vm(data_dir, config_path, reconcile=False)
            report("start")
            t0 = time.perf_counter()
            out = child.restores.restore(target, paths=scope)
            report(f"done {time.perf_counter() - t0:.4f} {out.result.written}")
            child.close()

        return work

    # Calibrate with one whole restore to A, not killed.
    run = fork_run(restore(a.id, None))
    duration = float(run.done()[0])
    assert dir_manifest(ws) == states[a.id]
    counts = {
        "runs": 0,
        "killed": 0,
        "finished_anyway": 0,
        "killed_before_journal": 0,
        "killed_after_commit": 0,
        "rolled_forward": 0,
        "rolled_back": 0,
        "sabotaged": 0,
        "partial": 0,
    }
    for i in range(RESTORE_RUNS):
        before = dir_manifest(ws)
        target, scope = rng.choice([a.id, b.id]), None
        if rng.random() < 0.3:  # a --path restore of paths on either side
            candidates = [p for p in SCOPES if p in before or p in states[target]]
            scope = sorted(rng.sample(candidates, min(3, len(candidates))))
        want = applied(before, states[target], scope)
        if want == before:  # nothing would change: restore the other checkpoint whole instead
            target, scope = (a.id if before != states[a.id] else b.id), None
            want = states[target]
        run = fork_run(restore(target, scope), kill_after=rng.uniform(0, duration * 1.2))
        counts["runs"] += 1
        counts["partial"] += scope is not None
        counts["killed" if run.killed else "finished_anyway"] += 1
        saved = None
        if run.killed and journal_rows(db_path) and rng.random() < 0.3:
            saved = sabotage(db_path, dir_manifest(ws), before, flats[target], scope)
            counts["sabotaged"] += saved is not None
        vm = open_vm(data_dir, config_path)  # recovery runs here
        try:
            now = dir_manifest(ws)
            assert journal_rows(db_path) == 0
            assert len(vm.notes) <= 1, vm.notes
            note = vm.notes[0] if vm.notes else ""
            if note.startswith("finished"):
                # (also when sabotaged: the file whose blob went may have been written already)
                assert now == want, f"run {i}: said finished, but {mismatch(now, want)}"
                counts["rolled_forward"] += 1
                entry = vm.log(project=project, operation="checkpoint.restore", limit=1)[0]
                assert entry["details"]["recovered"] is True and entry["details"]["checkpoint"] == target
                if scope is None:
                    assert vm.projects.get(project).head_checkpoint_id == target
            elif note.startswith("rolled back"):
                assert now == before, f"run {i}: said rolled back, but {mismatch(now, before)}"
                assert saved is not None, f"run {i}: rolled back without a reason: {note}"
                counts["rolled_back"] += 1
                assert vm.log(project=project, operation="checkpoint.rollback", limit=1)
            else:
                assert note == "", f"run {i}: {note}"
                if now == before:
                    counts["killed_before_journal"] += 1
                else:
                    assert now == want, f"run {i}: no journal, yet a mix: {mismatch(now, want)}"
                    counts["killed_after_commit"] += run.killed
            if note:
                assert target in note and project in note, note
            assert_store_sound(vm)
        finally:
            vm.close()
        if saved is not None:  # put the blob back: later runs restore that checkpoint again
            conn = sqlite3.connect(db_path)
            with conn:
                conn.execute(f"INSERT OR IGNORE INTO blobs VALUES ({','.join('?' * len(saved))})", saved)
            conn.close()

    vm = open_vm(data_dir, config_path)
    try:
        # undo still works after recovered restores: it restores the last restore's pre-restore checkpoint
        assert vm.restores.last(project) is not None
        for cid, state in states.items():
            assert tree_manifest(vm, vm.checkpoints.get(cid).root_tree) == state
        vm.gc()
        orphans = assert_no_orphans(vm)
        assert_store_sound(vm)
    finally:
        vm.close()
    counts["restore_seconds"] = round(duration, 3)
    counts.update(orphans)
    record_property("restore_kills", json.dumps(counts))
    print(f"restore kill runs: {counts}")
    assert counts["killed"] >= RESTORE_RUNS // 2, f"too few runs were killed mid-way to mean much: {counts}"
    assert counts["rolled_forward"] > 0 and counts["rolled_back"] > 0, counts


# -- deterministic kills and failures ------------------------------------------------------------------


@pytest.fixture
def two_states(tmp_path, clean_env):
    """A project whose workspace is at checkpoint B, with checkpoint A to restore;
    ``(data_dir, config_path, project id, A, B, manifests by checkpoint id)``."""
    data_dir, config_path = tmp_path / "data", tmp_path / "none.toml"
    ws = tmp_path / "ws"
    rng = random.Random(7)
    for i in range(60):
        write(ws, f"d{i % 3}/f{i:02}.txt", text(rng, 400))
    vm = open_vm(data_dir, config_path)
    project = vm.projects.create("Journal", workspace=str(ws)).id
    a = vm.checkpoints.create(project).checkpoint
    for i in range(60):
        write(ws, f"d{i % 3}/f{i:02}.txt", text(rng, 300), 0o755 if i % 5 == 0 else 0o644)
    write(ws, "d0/extra.txt", b"only in B\n")
    b = vm.checkpoints.create(project).checkpoint
    states = {a.id: tree_manifest(vm, a.root_tree), b.id: tree_manifest(vm, b.root_tree)}
    vm.close()
    return data_dir, config_path, project, ws, a.id, b.id, states


def kill_restore_after(data_dir, config_path, target, files: int, paths=None) -> Run:
    """Restore ``target`` in a child that SIGKILLs itself after writing ``files`` files."""

    def work(report) -> None:
        child = open_vm(data_dir, config_path, reconcile=False)
        real = rs._write_file
        written = []

        def write_then_maybe_die(*args):
            n = real(*args)
            written.append(1)
            if len(written) == files:
                os.kill(os.getpid(), signal.SIGKILL)
            return n

        rs._write_file = write_then_maybe_die
        report("start")
        child.restores.restore(target, paths=paths)
        report("done")

    return fork_run(work)


def test_restore_killed_half_way_is_finished_on_next_start_and_can_be_undone(two_states):
    data_dir, config_path, project, ws, a, b, states = two_states
    run = kill_restore_after(data_dir, config_path, a, files=25)
    assert run.killed and run.done() is None
    mixed = dir_manifest(ws)
    assert mixed not in (states[a], states[b])  # it really was half-way
    assert journal_rows(data_dir / "vmuser.db") == 1
    vm = open_vm(data_dir, config_path)
    try:
        assert len(vm.notes) == 1 and re.fullmatch(
            f"finished an interrupted restore of project {project} to checkpoint {a} "
            r"\(the workspace as it was before is saved as checkpoint \w+\)"
            f"; undo with: vmuser checkpoint restore {b}", vm.notes[0]), vm.notes
        assert dir_manifest(ws) == states[a]
        assert vm.projects.get(project).head_checkpoint_id == a
        entry = vm.log(project=project, operation="checkpoint.restore", limit=1)[0]
        assert entry["details"]["recovered"] is True and entry["details"]["pre_restore"]
        vm.restores.undo(project)  # back to B, the pre-restore state
        assert dir_manifest(ws) == states[b]
    finally:
        vm.close()
    vm = open_vm(data_dir, config_path)  # said once: the journal row is gone
    assert vm.notes == []
    vm.close()


def test_work_done_after_a_killed_restore_is_saved_before_the_restore_is_finished(two_states):
    """Between the kill and the next start the user (or a session) edited and made files:
    finishing the restore must not lose them: they are in a checkpoint taken first, and a
    file of the user's that merely looks like vmuser's temp files is not swept away."""
    data_dir, config_path, project, ws, a, b, states = two_states
    assert kill_restore_after(data_dir, config_path, a, files=25).killed
    (ws / "new-work.txt").write_text("an hour of work\n")
    (ws / "notes").mkdir()
    (ws / "notes" / ".vmuser-tmp-draft").write_text("mine\n")
    vm = open_vm(data_dir, config_path)
    try:
        saved = re.search(r"saved as checkpoint (\w+)\)", vm.notes[0]).group(1)
        assert dir_manifest(ws).keys() >= states[a].keys()
        assert (ws / "notes" / ".vmuser-tmp-draft").read_text() == "mine\n"  # never captured: never swept
        assert vm.fs.read(project, "new-work.txt", at=saved) == b"an hour of work\n"
    finally:
        vm.close()


def test_partial_restore_killed_half_way_finishes_only_its_paths(two_states):
    data_dir, config_path, project, ws, a, b, states = two_states
    run = kill_restore_after(data_dir, config_path, a, files=5, paths=["d1"])
    assert run.killed
    vm = open_vm(data_dir, config_path)
    try:
        assert vm.notes[0].startswith(f"finished an interrupted restore of project {project} to checkpoint {a} "
                                      "(paths: d1) (the workspace as it was before is saved as checkpoint"), vm.notes
        assert dir_manifest(ws) == applied(states[b], states[a], ["d1"])
        assert vm.projects.get(project).head_checkpoint_id != a  # a partial restore does not move the head
    finally:
        vm.close()


def test_interrupted_restore_rolls_back_when_its_target_cannot_be_applied(two_states):
    data_dir, config_path, project, ws, a, b, states = two_states
    run = kill_restore_after(data_dir, config_path, a, files=3)
    assert run.killed
    vm = open_vm(data_dir, config_path, reconcile=False)
    flat = dict(vm.ctx.store.walk(vm.checkpoints.get(a).root_tree))
    vm.close()
    assert sabotage(data_dir / "vmuser.db", dir_manifest(ws), states[b], flat, None) is not None
    vm = open_vm(data_dir, config_path)
    try:
        assert len(vm.notes) == 1 and vm.notes[0].startswith(
            f"rolled back an interrupted restore of project {project} to checkpoint {a} (refusing to restore: blob"
        ), vm.notes
        assert "back at pre-restore checkpoint" in vm.notes[0]
        assert dir_manifest(ws) == states[b]
        assert vm.log(project=project, operation="checkpoint.rollback", limit=1)[0]["details"]["checkpoint"] == a
    finally:
        vm.close()


def test_restore_failing_half_way_rolls_back_at_once(two_states, monkeypatch):
    data_dir, config_path, project, ws, a, b, states = two_states
    real, written = rs._write_file, []

    def write_then_fail(*args):
        written.append(1)
        if len(written) == 10:
            raise OSError(28, "No space left on device", "d1/f10.txt")
        return real(*args)

    monkeypatch.setattr(rs, "_write_file", write_then_fail)
    vm = open_vm(data_dir, config_path)
    try:
        with pytest.raises(StoreError, match="No space left on device.*rolled back to pre-restore checkpoint"):
            vm.restores.restore(a)
        assert dir_manifest(ws) == states[b]
        assert vm.db.query_one("SELECT COUNT(*) AS n FROM restore_journal")["n"] == 0
        assert vm.log(project=project, operation="checkpoint.rollback", limit=1)
    finally:
        vm.close()


def test_restore_refused_before_any_change_leaves_no_journal(two_states):
    """A blob missing from the store is found before the first change: nothing to recover."""
    data_dir, config_path, _, ws, a, b, states = two_states
    vm = open_vm(data_dir, config_path)
    try:
        flat = dict(vm.ctx.store.walk(vm.checkpoints.get(a).root_tree))
        victim = next(e.hash for p, e in sorted(flat.items()) if e.kind == "file" and p.startswith("d2/"))
        with vm.db.write() as conn:
            conn.execute("DELETE FROM blobs WHERE hash = ?", (victim,))
        with pytest.raises(StoreError, match=r"blob .* of d2/.* is missing .* \(nothing was changed\)"):
            vm.restores.restore(a)
        assert dir_manifest(ws) == states[b]
        assert vm.db.query_one("SELECT COUNT(*) AS n FROM restore_journal")["n"] == 0
    finally:
        vm.close()


def test_journal_of_a_live_restore_is_left_alone(two_states):
    data_dir, config_path, project, ws, a, b, states = two_states
    vm = open_vm(data_dir, config_path)
    try:
        cp = vm.checkpoints.get(a)
        from vmuser_tui.core import journal

        entry = journal.begin(
            vm.db,
            project_id=project,
            workspace=ws,
            checkpoint_id=a,
            target_tree=cp.root_tree,
            pre_checkpoint_id=b,
            pre_tree=vm.checkpoints.get(b).root_tree,
            paths=None,
        )
        other = open_vm(data_dir, config_path)  # this process owns the row and is alive
        assert other.notes == [] and dir_manifest(ws) == states[b]
        other.close()
        with vm.db.write() as conn:  # a row from another host cannot be probed: reported, not touched
            conn.execute("UPDATE restore_journal SET host = 'elsewhere', pid = 1 WHERE id = ?", (entry.id,))
        other = open_vm(data_dir, config_path)
        assert len(other.notes) == 1 and "started on host elsewhere" in other.notes[0]
        other.close()
        assert dir_manifest(ws) == states[b]
    finally:
        vm.close()


def test_restore_note_is_printed_once_by_the_cli(two_states, capsys):
    from vmuser_tui.cli.main import main

    data_dir, config_path, project, ws, a, _, states = two_states
    assert kill_restore_after(data_dir, config_path, a, files=7).killed
    argv = ["--data-dir", str(data_dir), "--config", str(config_path), "log", "--limit", "1"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert err.startswith(f"vmuser: finished an interrupted restore of project {project} to checkpoint {a} (")
    assert err.count("\n") == 1
    assert main(argv) == 0
    assert capsys.readouterr().err == ""
    assert dir_manifest(ws) == states[a]


# -- capture locks of dead processes -----------------------------------------------------------------


def test_gc_ignores_capture_locks_of_dead_processes(tmp_path, clean_env):
    vm = open_vm(tmp_path / "data", tmp_path / "none.toml")
    try:
        child = subprocess.Popen(["true"])
        child.wait()  # reaped: its pid is free
        now = int(time.time())
        host = procs.hostname()
        assert lock_is_stale(child.pid, host, now)  # gone
        assert not lock_is_stale(os.getpid(), host, now)  # alive: protects its capture
        assert not lock_is_stale(child.pid, "another-host", now)  # cannot tell: kept until old
        assert lock_is_stale(os.getpid(), "another-host", now - 7 * 3600)  # old: expired
        zombie = subprocess.Popen(["true"])
        time.sleep(0.2)  # exited, not reaped yet: kill(pid, 0) still succeeds
        try:
            assert lock_is_stale(zombie.pid, host, now)
        finally:
            zombie.wait()
        with vm.db.write() as conn:
            conn.execute(
                "INSERT INTO capture_locks(id, pid, host, started_at) VALUES ('dead', ?, ?, ?)",
                (child.pid, host, now - 60),
            )
            vm.ctx.store.put_blob(b"written by a capture that was killed\n")
        result = vm.gc()
        assert result.blobs == 1  # the dead capture's lock did not shield its orphan
        assert vm.db.query_one("SELECT COUNT(*) AS n FROM capture_locks")["n"] == 0
    finally:
        vm.close()


def test_gc_during_a_capture_never_removes_a_blob_the_capture_reuses(tmp_path, clean_env, monkeypatch):
    """A capture decides outside its transactions that a small file's blob is stored (an old
    unreachable one, here: its checkpoint was forgotten) and does not store it again; a gc
    between that decision and the capture's commit must not remove it, or the new
    checkpoint names a missing blob. The capture lock's time cutoff cannot see this (the
    blob is older than the lock), so gc removes no blob while a capture runs."""
    from vmuser_tui.core.store import capture as cap

    data_dir, config_path, ws = tmp_path / "data", tmp_path / "none.toml", tmp_path / "ws"
    write(ws, "a.txt", "old content\n")
    vm = open_vm(data_dir, config_path)
    try:
        project = vm.projects.create("Race", workspace=str(ws)).id
        old = vm.checkpoints.create(project).checkpoint
        write(ws, "a.txt", "new content\n")
        vm.checkpoints.create(project)
        with vm.db.write() as conn:  # forgotten: "old content" is stored but unreachable
            conn.execute("DELETE FROM checkpoints WHERE id = ?", (old.id,))
            conn.execute("UPDATE blobs SET created_at = created_at - 60")
        write(ws, "a.txt", "old content\n")  # and the user brings it back
        real, removed = cap._hash_group, []

        def hash_then_gc(*args):
            out = real(*args)  # "old content" is found stored: it is not packed again
            other = open_vm(data_dir, config_path, reconcile=False)  # another process's gc, now
            try:
                removed.append(other.gc().blobs)
            finally:
                other.close()
            return out

        monkeypatch.setattr(cap, "_hash_group", hash_then_gc)
        cp = vm.checkpoints.create(project).checkpoint
        monkeypatch.setattr(cap, "_hash_group", real)
        assert removed == [0]
        assert read_verified(vm, vm.ctx.store.lookup(cp.root_tree, "a.txt").hash) == b"old content\n"
        assert_store_sound(vm)
        assert vm.gc().blobs == 0  # after the capture: nothing is unreachable any more
    finally:
        vm.close()


# -- disk full, read-only ------------------------------------------------------------------------------


@pytest.fixture
def mounts():
    """``mount(*args)``: run mount(8) as root, unmounted at the end; skips where not allowed."""
    done: list[Path] = []

    def mount(*args: str) -> None:
        if os.geteuid() != 0:
            pytest.skip("mounting a tmpfs or a read-only bind mount needs root")
        proc = subprocess.run(["mount", *args], check=False, capture_output=True, text=True)
        if proc.returncode != 0:
            pytest.skip(f"mount {' '.join(args)} is not permitted here: {proc.stderr.strip()}")
        if "remount" not in " ".join(args):
            done.append(Path(args[-1]))

    yield mount
    for path in reversed(done):
        with open("/proc/self/mounts") as fh:  # os.path.ismount misses a file bind-mounted on its own fs
            mounted = any(line.split()[1] == str(path) for line in fh)
        if mounted and subprocess.run(["umount", str(path)], check=False, capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True)


def test_checkpoint_on_a_full_disk_is_a_clear_error_and_changes_nothing(tmp_path, clean_env, mounts):
    data_dir, config_path, ws = tmp_path / "data", tmp_path / "none.toml", tmp_path / "ws"
    data_dir.mkdir()
    mounts("-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", str(data_dir))
    rng = random.Random(3)
    for i in range(30):
        write(ws, f"src/f{i}.txt", text(rng, 500))
    vm = open_vm(data_dir, config_path)
    try:
        project = vm.projects.create("Full", workspace=str(ws)).id
        first = vm.checkpoints.create(project).checkpoint
        want = digest(dir_manifest(ws))
        write(ws, "big.bin", rng.randbytes(3 * 1024 * 1024))  # does not compress: cannot fit in 2 MiB
        with pytest.raises(VmuserError) as info:
            vm.checkpoints.create(project)
        message = str(info.value)
        assert isinstance(info.value, StoreError) and "\n" not in message
        assert message.startswith("disk full while writing") and "free space and try again" in message, message
        assert_store_sound(vm)
        assert checkpoint_ids(vm, project) == [first.id]
        assert vm.projects.get(project).head_checkpoint_id == first.id
        os.unlink(ws / "big.bin")
        assert digest(tree_manifest(vm, first.root_tree)) == want
        write(ws, "src/f0.txt", b"small change after space was freed\n")  # it works again
        again = vm.checkpoints.create(project)
        assert again.created and digest(tree_manifest(vm, again.checkpoint.root_tree)) == digest(dir_manifest(ws))
        vm.gc()
        assert_store_sound(vm)
    finally:
        vm.close()


def test_read_only_data_dir_is_a_clear_error(tmp_path, clean_env, mounts):
    """As root, chmod cannot make a directory read-only; a read-only bind mount of the data
    dir can (what vmuser sees on a read-only file system)."""
    data_dir, config_path, ws = tmp_path / "data", tmp_path / "none.toml", tmp_path / "ws"
    write(ws, "a.txt", "a\n")
    vm = open_vm(data_dir, config_path)
    project = vm.projects.create("RO", workspace=str(ws)).id
    first = vm.checkpoints.create(project).checkpoint
    vm.close()
    ro = tmp_path / "ro"
    ro.mkdir()
    mounts("--bind", str(data_dir), str(ro))
    mounts("-o", "remount,bind,ro", str(ro))
    write(ws, "b.txt", "b\n")
    with pytest.raises(StoreError) as info:
        open_vm(ro, config_path)
    assert str(info.value) == f"the data directory {ro} is read-only; make it writable or pass --data-dir DIR"
    vm = open_vm(data_dir, config_path)
    try:
        assert checkpoint_ids(vm, project) == [first.id]
        assert_store_sound(vm)
    finally:
        vm.close()


def test_read_only_database_file_fails_the_checkpoint_clearly(tmp_path, clean_env, mounts):
    """The folder is writable but the database file is not (a read-only bind mount over the
    file): SQLite opens it read-only, reads work, the checkpoint fails in one line."""
    data_dir, config_path, ws = tmp_path / "data", tmp_path / "none.toml", tmp_path / "ws"
    write(ws, "a.txt", "a\n")
    vm = open_vm(data_dir, config_path)
    project = vm.projects.create("RO file", workspace=str(ws)).id
    first = vm.checkpoints.create(project).checkpoint
    vm.close()
    db = data_dir / "vmuser.db"
    mounts("--bind", str(db), str(db))
    mounts("-o", "remount,bind,ro", str(db))
    write(ws, "b.txt", "b\n")
    vm = open_vm(data_dir, config_path)
    try:
        assert checkpoint_ids(vm, project) == [first.id]  # reading still works
        with pytest.raises(StoreError) as info:
            vm.checkpoints.create(project)
        assert str(info.value) == f"{db} is read-only; fix its permissions or pass --data-dir (nothing was changed)"
    finally:
        vm.close()
    subprocess.run(["umount", str(db)], check=True)
    vm = open_vm(data_dir, config_path)
    try:
        assert checkpoint_ids(vm, project) == [first.id]
        assert_store_sound(vm)
    finally:
        vm.close()
