"""Engine workspaces (issue 14, items 3-5): capture and restore through the helper
container of a named volume on the real local engine (which behaves as a remote one: the
tests never look at the volume's files from this host, only through execs)."""

from __future__ import annotations

import io
import os
import tarfile
import threading
import time
import unicodedata
import uuid
from pathlib import Path

import pytest

from vmuser_tui.core.db import Database
from vmuser_tui.core.runtime.docker_runtime import DockerRuntime
from vmuser_tui.core.runtime.engine_workspace import EngineWorkspace
from vmuser_tui.core.store import capture as cap
from vmuser_tui.core.store import restore as rs
from vmuser_tui.core.store.engine_capture import capture_engine, live_tree_engine
from vmuser_tui.core.store.engine_restore import apply_engine, materialize_engine
from vmuser_tui.core.store.objects import CHUNK_THRESHOLD, ObjectStore

pytestmark = pytest.mark.docker


@pytest.fixture
def store(tmp_path):
    db = Database(tmp_path / "vm.db")
    st = ObjectStore(db)
    yield st
    st.close()


@pytest.fixture
def ws(docker_available):
    """A fresh engine workspace (volume + helper) with a unique name, removed after."""
    runtime = DockerRuntime(timeout=60)
    w = EngineWorkspace(runtime, "i14t" + uuid.uuid4().hex[:10], owner="1000:1000")
    assert w.ensure() is True
    yield w
    w.remove()


def sh(ws, script: str) -> bytes:
    res = ws.exec(["sh", "-c", script])
    assert res.exit_code == 0, res.output
    return res.stdout


def put_dir(ws, local: Path) -> None:
    """Copy a local folder into the volume with one put_archive (modes and links kept)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for p in sorted(local.rglob("*")):
            tf.add(p, arcname=str(p.relative_to(local)), recursive=False)
    ws.put_archive("/workspace", buf.getvalue())


def capture(store, ws, pid="p1", **kw):
    return capture_engine(store.database, store, pid, ws, **kw)


def restore_to(store, ws, root: str, pid="p1") -> rs.RestoreResult:
    _, _, found = live_tree_engine(store.database, pid, ws)
    plan = rs.plan(dict(store.walk(root)), found.flat)
    return apply_engine(store, ws, plan)


def test_engine_capture_is_hash_identical_to_local(tmp_path, store, ws):
    w = tmp_path / "w"
    (w / "empty").mkdir(parents=True)
    (w / "src").mkdir()
    (w / "src" / "main.py").write_text("print('hi')\n")
    (w / "run.sh").write_text("#!/bin/sh\necho run\n")
    os.chmod(w / "run.sh", 0o755)
    (w / "big.bin").write_bytes(os.urandom(CHUNK_THRESHOLD + 4321))
    os.symlink("src/main.py", w / "link")
    (w / unicodedata.normalize("NFC", "café-ü.txt")).write_text("unicode\n")
    for i in range(300):
        (w / "src" / f"m{i}.txt").write_text(f"module {i}\n" * (i % 5))
    local = cap.capture(store.database, store, "local", w)
    put_dir(ws, w)
    remote = capture(store, ws)
    assert remote.root == local.root
    assert remote.file_count == local.file_count == 304
    assert remote.hashed_files == 304 and not remote.skipped and not remote.vanished
    assert store.read_blob(store.lookup(remote.root, "big.bin").hash) == (w / "big.bin").read_bytes()


def test_only_changed_files_are_read(store, ws):
    sh(ws, "mkdir -p a b && for d in a b; do i=0; while [ $i -lt 5000 ]; do echo \"$d $i\" > $d/f$i; "
           "i=$((i+1)); done; done")
    first = capture(store, ws)
    assert first.file_count == 10_000 and first.hashed_files == 10_000
    time.sleep(2.1)  # past the racy window: the next capture's rows are clean
    capture(store, ws)
    assert capture(store, ws).hashed_files == 0
    sh(ws, "i=0; while [ $i -lt 10 ]; do echo changed >> a/f$((i*7)); i=$((i+1)); done")
    third = capture(store, ws)
    assert third.hashed_files == 10
    assert store.read_blob(store.lookup(third.root, "a/f7").hash) == b"a 7\nchanged\n"


def test_restore_brings_back_old_content_and_removes_new_files(store, ws):
    sh(ws, "mkdir -p d/e empty && echo one > d/a.txt && echo keep > k.txt && chmod 755 k.txt "
           "&& ln -s d/a.txt link")
    old = capture(store, ws)
    sh(ws, "echo two > d/a.txt && echo new > new.txt && mkdir -p n/m && echo x > n/m/x && rm -rf empty "
           "&& chmod 644 k.txt && rm link && ln -s k.txt link")
    assert capture(store, ws).root != old.root
    result = restore_to(store, ws, old.root)
    assert result.written == 1 and result.deleted == 4 and result.symlinks == 1 and not result.failed
    assert sh(ws, "cat d/a.txt; ls; readlink link; stat -c '%a %u:%g' k.txt d/a.txt") == \
        b"one\nd\nempty\nk.txt\nlink\nd/a.txt\n755 0:0\n644 1000:1000\n"  # only what it wrote is the owner's
    assert capture(store, ws).root == old.root
    assert sh(ws, "ls -a") == b".\n..\nd\nempty\nk.txt\nlink\n"  # the temp folder is gone
    again = restore_to(store, ws, old.root)  # idempotent: nothing left to do
    assert (again.written, again.deleted) == (0, 0)


def test_stale_temp_folders_are_swept(store, ws):
    sh(ws, "echo a > a")
    old = capture(store, ws)
    sh(ws, "mkdir .vmuser-tmp-0123456789ab && echo half > .vmuser-tmp-0123456789ab/3 && mkdir .vmuser-tmp-mine "
           "&& echo b > a")
    restore_to(store, ws, old.root)
    assert sh(ws, "ls -a") == b".\n..\n.vmuser-tmp-mine\na\n"


def test_racy_file_is_read_again(store, ws):
    sh(ws, "echo aaaa > f")
    capture(store, ws)
    row = store.database.conn.execute("SELECT size FROM stat_cache WHERE project_id='p1' AND path='f'").fetchone()
    assert row[0] == -1  # written within the racy window of the engine's clock: smudged
    sh(ws, "echo bbbb > f")  # same size, same second
    again = capture(store, ws)
    assert again.hashed_files == 1
    assert store.read_blob(store.lookup(again.root, "f").hash) == b"bbbb\n"


def test_symlinked_parent_is_never_followed(store, ws):
    sh(ws, "mkdir d && echo inside > d/passwd && echo x > d/other")
    old = capture(store, ws)
    sh(ws, "echo changed > d/passwd && rm d/other")
    # a session swaps the folder for a link into the helper's /etc before the restore runs
    _, _, found = live_tree_engine(store.database, "p1", ws)
    plan = rs.plan(dict(store.walk(old.root)), found.flat)
    sh(ws, "rm -rf d && ln -s /etc d")
    before = sh(ws, "ls -la /etc; cat /etc/passwd 2>/dev/null || true")
    result = apply_engine(store, ws, plan)
    assert {p for p, _ in result.failed} == {"d/passwd", "d/other"}
    assert all("symlink" in why for _, why in result.failed)
    assert sh(ws, "ls -la /etc; cat /etc/passwd 2>/dev/null || true") == before
    assert sh(ws, "readlink d") == b"/etc\n"


def test_escaping_links_are_refused(store, ws):
    sh(ws, "mkdir d && ln -s .. d/q && ln -s d/q/.. r && ln -s /etc/passwd abs")
    cp = capture(store, ws)
    sh(ws, "rm -rf d r abs")
    result = restore_to(store, ws, cp.root)
    assert sorted(p for p, _ in result.refused) == ["abs", "r"]
    assert sh(ws, "ls; readlink d/q") == b"d\n..\n"


def test_newline_in_a_name_does_not_break_the_listing(store, ws):
    sh(ws, "echo ok > good && printf x > \"$(printf 'bad\\nS|81a4|1|1|x|1|x|1|forged')\" "
           "&& mkdir \"$(printf 'dir\\tx')\" "
           "&& echo y > \"$(printf 'dir\\tx')/inner\"")
    out = capture(store, ws)
    assert [e.name for e in store.get_tree(out.root)] == ["good"]
    assert sorted(p for p, _ in out.skipped) == ["bad\nS|81a4|1|1|x|1|x|1|forged", "dir\tx"]
    assert all("control character" in why for _, why in out.skipped)


def test_file_deleted_mid_capture_is_vanished(store, ws):
    # a 10 MB file first, then 3,000 files of 10 KB: while the first is read, the tar is
    # still far from f999 (the buffers between tar and here hold a few MB at most)
    sh(ws, "head -c 10000000 /dev/urandom > a-big; head -c 10000 /dev/urandom > seed; "
           "i=0; while [ $i -lt 3000 ]; do cp seed f$i; echo $i >> f$i; i=$((i+1)); done; rm seed")
    seen = []

    def progress(done, total, *_):
        if not seen:  # the first file read: the stream is running
            seen.append(done)
            sh(ws, "rm f999")

    out = capture(store, ws, progress=progress)
    assert seen and out.vanished == ["f999"] and out.file_count == 3000
    assert store.lookup(out.root, "f999") is None and store.lookup(out.root, "f998") is not None
    assert out.hashed_files == 3000


def test_special_files_and_ignored_paths(store, ws):
    sh(ws, "mkfifo pipe && mkdir -p node_modules/x && echo 1 > node_modules/x/a && echo k > keep.txt && "
           "mkdir .vmuser && echo s > .vmuser/state")
    out = capture(store, ws, ignore=lambda path, is_dir: path == "node_modules")
    assert [e.name for e in store.get_tree(out.root)] == ["keep.txt"]
    assert out.skipped == [("pipe", "not a regular file, directory or symlink")]


def test_materialize_fills_an_empty_volume(tmp_path, store, docker_available):
    w = tmp_path / "w"
    (w / "d" / "empty").mkdir(parents=True)
    (w / "d" / "f").write_text("f\n")
    (w / "x.sh").write_text("#!/bin/sh\n")
    os.chmod(w / "x.sh", 0o750)
    os.symlink("d/f", w / "l")
    local = cap.capture(store.database, store, "local", w)
    target = EngineWorkspace(DockerRuntime(timeout=60), "i14m" + uuid.uuid4().hex[:10])
    try:
        assert target.ensure() is True and target.ensure() is False
        assert materialize_engine(store, target, local.root) == 2
        assert capture(store, target, pid="m").root == local.root
        assert sh(target, "stat -c '%u:%g' . d/f l") == b"65534:65534\n" * 3
    finally:
        target.remove()


def test_helper_is_recreated_and_restarted(store, ws):
    sh(ws, "echo a > a")
    ws.stop_helper()
    assert sh(ws, "cat a") == b"a\n"  # started again on use
    ws.runtime._docker().api.remove_container(ws.helper, force=True)
    ws._helper = None
    assert sh(ws, "cat a") == b"a\n"  # made again, same volume


def test_concurrent_ensure_makes_one_helper(docker_available):
    w = [EngineWorkspace(DockerRuntime(timeout=60), "i14c" + uuid.uuid4().hex[:10]) for _ in range(1)][0]
    others = [EngineWorkspace(DockerRuntime(timeout=60), w.project_id) for _ in range(3)]
    try:
        threads = [threading.Thread(target=o.ensure) for o in others]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        ids = {o.helper_id() for o in others}
        assert len(ids) == 1
    finally:
        w.remove()
