"""Files that vanish or change while a checkpoint is taken (issue 11, case 5).

A build creates and deletes temp files while checkpoints run. A file that vanishes
between the scan and the read is left out of the checkpoint (counted once in the
outcome); a file that changes while it is read is read again, never stored as a mix of
two versions, and its tree size always equals its blob's size (restore checks that).
Everything here runs on real files with real threads and processes: the races are made
deterministic with the capture's own progress callback (called by the collecting thread
while the pool threads have not yet reached the files it deletes), or bounded in time.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vmuser_tui.core.store import restore as rs
from vmuser_tui.core.workers import snapshot
from vmuser_tui.core.store.capture import GROUP_FILES
from vmuser_tui.core.store.scan import scan

ROOT = Path(__file__).resolve().parents[2]


def _restore_copy(vm, checkpoint, dest: Path) -> dict[str, bytes]:
    """Restore ``checkpoint`` onto the empty folder ``dest`` with the real restore code
    (check, then apply) and return ``{path: bytes}`` of the files written, after checking
    each against its tree entry's size and its blob."""
    store = vm.ctx.store
    target = dict(store.walk(checkpoint.root_tree))
    dest.mkdir(parents=True)
    plan = rs.plan(target, {})
    rs.check(store, plan, dest)  # refuses a tree whose sizes disagree with its blobs
    rs.apply(store, dest, plan, checked=True)
    files = {}
    for rel, e in target.items():
        full = dest / rel
        if e.kind == "file":
            data = full.read_bytes()
            assert len(data) == e.size, rel
            assert data == store.read_blob(e.hash), rel
            files[rel] = data
        elif e.kind == "dir":
            assert full.is_dir() and not full.is_symlink(), rel
    return files


def _stat_cache_paths(vm, project_id: str) -> set[str]:
    return {r["path"] for r in vm.db.query("SELECT path FROM stat_cache WHERE project_id = ?", (project_id,))}


def _late_files(vm) -> int:
    """How many small files the pool may have read before the first progress call: the
    groups in flight (3 per worker) and one more submitted before the first is handled."""
    return (vm.ctx.store.workers * 3 + 2) * GROUP_FILES


def _fill(ws: Path, folder: str, count: int) -> list[str]:
    (ws / folder).mkdir()
    names = [f"{folder}/f{i:05d}" for i in range(count)]
    for rel in names:
        (ws / rel).write_bytes(rel.encode())
    return names


def _saboteur(ws: Path, gone: list[str], swapped: str, linked: str):
    """A progress callback that, on its first call, deletes ``gone``, replaces the folder
    ``swapped`` by a file (so its files fail with ENOTDIR) and the three files ``linked``
    by a symlink to a host file outside the workspace (never to be read: ELOOP), a fifo
    and a folder."""
    fired = []

    def progress(files_done, files_total, bytes_done, bytes_total):
        if fired:
            return
        fired.append(True)
        for rel in gone:
            os.unlink(ws / rel)
        os.unlink(ws / linked[0])
        os.symlink("/etc/hostname", ws / linked[0])
        os.unlink(ws / linked[1])
        os.mkfifo(ws / linked[1])  # opening a fifo to read blocks until a writer comes: never wait
        os.unlink(ws / linked[2])
        os.mkdir(ws / linked[2])
        shutil.rmtree(ws / swapped)
        (ws / swapped).write_text("a file where a folder was\n")

    return progress, fired


@pytest.mark.parametrize("path", ["full scan", "change monitor"])
def test_files_that_vanish_before_they_are_read_are_left_out(vm, tmp_path, path):
    project = vm.projects.create("vanish")
    ws = Path(project.workspace)
    (ws / "keep.txt").write_text("keep\n")
    if path == "change monitor":  # a first checkpoint, so the second takes only what the monitor reports
        vm.checkpoints.create(project.id)
        assert vm.ctx._live[project.id].valid
    late = _late_files(vm)
    names = _fill(ws, "gen", late + 1500)
    swapped_names = _fill(ws, "zz", 10)
    linked, gone = names[late:late + 3], names[late + 3:]
    progress, fired = _saboteur(ws, gone, "zz", linked)

    out = vm.checkpoints.create(project.id, description="during a build", progress=progress)

    assert fired and out.created
    assert sorted(out.vanished) == sorted([*linked, *gone, *swapped_names])
    assert out.notes == [f"{len(gone) + 13:,} files vanished while the checkpoint was taken (left out)"]
    assert out.checkpoint.file_count == 1 + late  # keep.txt and the files still there
    files = _restore_copy(vm, out.checkpoint, tmp_path / "copy")
    assert set(files) == {"keep.txt", *names[:late]}
    assert vm.checkpoints.entry(out.checkpoint.id, "zz").kind == "dir"  # a folder when the scan saw it
    assert all(files[rel] == rel.encode() for rel in names[:late])
    cached = _stat_cache_paths(vm, project.id)
    assert not cached & set(gone + swapped_names)  # the stat cache forgets what vanished
    # The next checkpoint sees the workspace as it is: nothing is left out, nothing missing.
    again = vm.checkpoints.create(project.id)
    assert again.vanished == [] and again.notes == []
    assert vm.checkpoints.entry(again.checkpoint.id, linked[0]).kind == "symlink"
    assert vm.checkpoints.entry(again.checkpoint.id, linked[1]) is None  # a fifo is never captured
    assert vm.checkpoints.entry(again.checkpoint.id, linked[2]).kind == "dir"
    assert vm.checkpoints.create(project.id).created is False


def test_a_folder_that_vanishes_while_the_scan_lists_is_left_out(tmp_path):
    ws = tmp_path / "ws"
    for d in ("a", "b", "c"):
        (ws / d / "sub").mkdir(parents=True)
        (ws / d / "sub" / "f").write_text(d)
        (ws / d / "g").write_text(d)
    seen = []

    def ignore(rel: str, is_dir: bool) -> bool:
        # Called as each entry is found: the first top folder found removes the others,
        # some already listed (on the stack, listed later: ENOENT), some not yet (stat fails).
        if "/" not in rel and is_dir and not seen:
            seen.append(rel)
            for other in {"a", "b", "c"} - {rel}:
                shutil.rmtree(ws / other)
        return False

    found = scan(ws, {}, ignore=ignore)
    kept = seen[0]
    assert set(found.flat) == {kept, f"{kept}/sub", f"{kept}/sub/f", f"{kept}/g"}
    assert found.skipped == []
    assert sorted(found.vanished) == sorted({"a", "b", "c"} - {kept})


CHURN = r"""
import os, shutil, sys
base, stop = sys.argv[1], sys.argv[2]
alive, n = [], 0
while not os.path.exists(stop):
    n += 1
    if n % 7 == 0:  # a temp folder with files, then gone
        d = os.path.join(base, f"d{n}")
        os.mkdir(d)
        for j in range(5):
            with open(os.path.join(d, f"x{j}.o"), "wb") as fh:
                fh.write(f"d{n}/x{j}.o\n".encode() * 40)
        shutil.rmtree(d)
        continue
    p = os.path.join(base, f"tmp{n}.o")
    with open(p, "wb") as fh:
        fh.write(f"tmp{n}.o\n".encode() * (n % 300 + 1))
    alive.append(p)
    if len(alive) > 20:  # a few live long enough to be scanned, then go
        os.unlink(alive.pop(0))
"""


def _churn_content(rel: str) -> set[bytes]:
    """The versions a churned file can have: empty (just created) or its whole content."""
    name = rel.rpartition("/")[2]
    if "/d" in rel:  # build/dN/xJ.o
        folder = rel.split("/")[1]
        return {b"", f"{folder}/{name}\n".encode() * 40}
    n = int(name[3:-2])
    return {b"", f"{name}\n".encode() * (n % 300 + 1)}


def test_checkpoints_and_restores_during_a_build_never_fail(vm, tmp_path):
    project = vm.projects.create("churn")
    ws = Path(project.workspace)
    (ws / "src").mkdir()
    (ws / "src" / "main.txt").write_text("v0\n")
    _fill(ws, "lib", 800)  # a scan long enough for the build to delete files it listed
    (ws / "build").mkdir()
    stop = tmp_path / "stop"
    churn = subprocess.Popen([sys.executable, "-c", CHURN, str(ws / "build"), str(stop)])
    taken = []  # (checkpoint, the src/main.txt it must hold)
    outcomes = []
    try:
        time.sleep(0.2)
        for i in range(24):
            vm.ctx.live_enabled = i % 2 == 0  # every other checkpoint a full scan, the others by the monitor
            text = f"v{i}\n" * (i + 1)
            (ws / "src" / "main.txt").write_text(text)
            if i % 3 == 1:  # an automatic checkpoint, as the worker and the TUI take them
                auto = snapshot.checkpoint_if_changed(vm, project.id, f"during the build {i}")
                assert auto is not None and "error" not in auto, auto
                taken.append((vm.checkpoints.get(auto["checkpoint"]), text))
            else:
                out = vm.checkpoints.create(project.id, description=f"during the build {i}")
                outcomes.append(out)
                taken.append((out.checkpoint, text))
            if i % 4 == 3:  # a restore of src/ while the build runs: its pre-restore checkpoint too
                back = taken[i - 2]
                done = vm.restores.restore(back[0].id, paths=["src"])
                taken.append((done.pre_restore, text))
                assert (ws / "src" / "main.txt").read_text() == back[1]
                (ws / "src" / "main.txt").write_text(text)
    finally:
        stop.touch()
        churn.wait(timeout=30)
    assert churn.returncode == 0
    assert sum(len(o.vanished) for o in outcomes) > 0, "the build never raced a checkpoint: the test proved nothing"
    for k, (cp, text) in enumerate(taken):
        files = _restore_copy(vm, cp, tmp_path / f"copy{k}")
        assert files["src/main.txt"] == text.encode()
        for rel, data in files.items():
            if rel.startswith("build/"):
                assert data in _churn_content(rel), rel


WRITER = r"""
import os, random, sys
path, stop, small, large = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
versions = [b"a" * small, b"b" * large]
i = 0
while not os.path.exists(stop):
    # rewritten in place (no truncate first) in 64 KiB writes, as many tools do: a
    # reader in the middle of this sees the new bytes over the old ones
    fd = os.open(path, os.O_WRONLY)
    data = versions[i % 2]
    for at in range(0, len(data), 1 << 16):
        os.write(fd, data[at:at + (1 << 16)])
    os.ftruncate(fd, len(data))
    os.close(fd)
    i += 1
    if random.random() < 0.5:
        import time; time.sleep(random.random() * 0.004)
"""


def _a_state_on_disk(blob: bytes, small: int, large: int) -> bool:
    """Whether ``blob`` is a state the WRITER's file really had: one version written over
    the other up to some point, or a whole version. (A writer paused mid-write leaves
    such a state on disk for a while; no reader can tell it from a finished one.) Bytes
    read at two different moments (a torn read) form no such state."""
    lead = blob[:1]
    k = len(blob) - len(blob.lstrip(lead)) if blob else 0
    rest = blob[k:]
    if lead == b"b":  # b written over small a's: b^k a^(small - k), or b^k once past them
        return k <= large and rest == b"a" * max(small - k, 0)
    if lead == b"a":  # a written over large b's, then truncated to small
        return blob == b"a" * small or (k <= small and rest == b"b" * (large - k))
    return False


@pytest.mark.parametrize("small,large", [(1 << 20, 3 << 20), (5 << 20, 9 << 20)], ids=["small", "chunked"])
def test_a_file_rewritten_while_read_is_stored_as_one_whole_version(vm, tmp_path, small, large):
    project = vm.projects.create("rewrite")
    ws = Path(project.workspace)
    target = ws / "out.bin"
    target.write_bytes(b"a" * small)
    stop = tmp_path / "stop"
    before = os.stat(target).st_mtime_ns
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(target), str(stop), str(small), str(large)])
    while os.stat(target).st_mtime_ns == before:  # race from the writer's first rewrite on
        time.sleep(0.005)
    seen = []
    deadline = time.monotonic() + 30
    try:
        enough = 60 if large < 4 << 20 else 20  # small ones are quick
        # until both versions were taken (on a loaded machine the writer may lag), or 30 s
        while (len(seen) < enough or len(set(seen)) < 2) and time.monotonic() < deadline:
            out = vm.checkpoints.create(project.id)
            entry = vm.checkpoints.entry(out.checkpoint.id, "out.bin")
            if entry is None:
                continue
            blob = vm.ctx.store.read_blob(entry.hash)
            assert entry.size == len(blob)
            assert _a_state_on_disk(blob, small, large), (
                f"torn: {blob.count(b'a'):,} a and {blob.count(b'b'):,} b in {len(blob):,} bytes")
            seen.append(blob[:1])
    finally:
        stop.touch()
        writer.wait(timeout=30)
    assert writer.returncode == 0
    assert len(seen) >= 5, "the file was left out of almost every checkpoint"
    assert set(seen) == {b"a", b"b"}, "the writer never raced the checkpoints: the test proved nothing"


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"),
                    reason="needs root and setpriv to drop the capability that reads any file")
def test_an_unreadable_file_still_fails_the_checkpoint_as_before(tmp_path):
    """A real permission problem (EACCES) is not a vanished file: the checkpoint fails with
    the same line as before, exit 1, nothing stored. Root reads every file, so the CLI
    runs as root without CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH, as an ordinary user would."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VMUSER_")}
    env.update(PYTHONPATH=str(ROOT), VMUSER_DATA_DIR=str(tmp_path / "data"))
    cli = [sys.executable, "-m", "vmuser_tui"]

    def run(*args, drop=False):
        pre = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"] if drop else []
        return subprocess.run([*pre, *cli, *args], env=env, capture_output=True, text=True, timeout=120)

    assert run("project", "create", "perm").returncode == 0
    ws = Path(json.loads(run("project", "list", "--json").stdout)[0]["workspace"])
    (ws / "ok.txt").write_text("ok\n")
    (ws / "locked").mkdir()
    (ws / "locked" / "x").write_text("x\n")
    os.chmod(ws / "locked", 0)  # a folder it cannot list: skipped and said so, as before
    out = run("checkpoint", "create", "perm", "-m", "unlisted folder", drop=True)
    assert out.returncode == 0, out.stderr
    assert "vmuser: skipped locked: cannot list: Permission denied" in out.stderr
    assert "vanished" not in out.stderr
    (ws / "secret.txt").write_text("s\n")
    os.chmod(ws / "secret.txt", 0)
    out = run("checkpoint", "create", "perm", "-m", "unreadable file", drop=True)
    assert out.returncode == 1
    assert out.stderr.strip().splitlines()[-1] == (
        f"vmuser: error: cannot read {ws}/secret.txt: Permission denied; "
        "fix its permissions or add it to .vmuserignore")
    listed = json.loads(run("checkpoint", "list", "perm", "--json").stdout)
    assert [c["description"] for c in listed] == ["unlisted folder"]
