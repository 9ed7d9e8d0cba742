"""What a restore must never do (issue 11): overwrite or delete ignored files, write
damaged content, blow a sparse file up to its full size, fill the disk, or bring back
set-uid bits. Real SQLite files, real workspaces, the real ``vmuser`` command."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from vmuser_tui.core.errors import StoreError

from wsutil import snapshot, write

GIB = 1024**3


# -- 4. ignored files are the user's -------------------------------------------------------------


def test_restore_neither_overwrites_nor_deletes_an_ignored_file(vm):
    p = vm.projects.create("Ignored")
    ws = Path(p.workspace)
    write(ws, "notes.txt", "old notes\n")
    write(ws, "src/a.py", "a = 1\n")
    cp1 = vm.checkpoints.create(p.id).checkpoint
    write(ws, ".vmuserignore", "notes.txt\n")
    write(ws, "notes.txt", "my new notes, never captured\n")
    write(ws, "src/a.py", "a = 2\n")
    vm.checkpoints.create(p.id)

    preview = vm.restores.preview(cp1.id)
    assert [c.path for c in preview.changes] == [".vmuserignore", "src/a.py"]
    assert preview.left_alone == ["notes.txt"]

    outcome = vm.restores.restore(cp1.id)
    assert (ws / "notes.txt").read_text() == "my new notes, never captured\n"
    assert (ws / "src/a.py").read_text() == "a = 1\n"
    assert outcome.left_alone == ["notes.txt"]
    assert "notes.txt" not in {c.path for c in outcome.changes}

    # the restore removed .vmuserignore (cp1 did not have it), so notes.txt is captured by the
    # pre-restore checkpoint of the undo; the undo must still leave the new bytes in place
    vm.restores.undo(p.id)
    assert (ws / "notes.txt").read_text() == "my new notes, never captured\n"
    assert (ws / "src/a.py").read_text() == "a = 2\n"


def test_undo_does_not_delete_an_ignored_file_the_restore_spared(vm):
    p = vm.projects.create("Undo ignored")
    ws = Path(p.workspace)
    write(ws, ".vmuserignore", "*.log\n")
    write(ws, "a.txt", "1\n")
    cp1 = vm.checkpoints.create(p.id).checkpoint
    write(ws, "a.txt", "2\n")
    write(ws, "build.log", "today's build log\n")
    vm.restores.restore(cp1.id)
    vm.restores.undo(p.id)
    assert (ws / "build.log").read_text() == "today's build log\n"
    assert (ws / "a.txt").read_text() == "2\n"


def test_a_folder_the_restore_deletes_keeps_the_ignored_files_in_it(vm):
    p = vm.projects.create("Ignored folder")
    ws = Path(p.workspace)
    write(ws, ".vmuserignore", "*.o\n")
    write(ws, "a.txt", "a\n")
    cp1 = vm.checkpoints.create(p.id).checkpoint
    write(ws, "build/main.c", "int main;\n")
    write(ws, "build/main.o", b"\x7fELF object the user made\n")
    outcome = vm.restores.restore(cp1.id)
    assert not (ws / "build/main.c").exists()  # captured: restored away
    assert (ws / "build/main.o").read_bytes() == b"\x7fELF object the user made\n"
    assert outcome.result.kept == ["build"]


def test_cli_restore_preview_says_which_ignored_paths_are_left_alone(tmp_path):
    env = dict(os.environ, VMUSER_DATA_DIR=str(tmp_path / "data"), VMUSER_CONFIG=str(tmp_path / "c.toml"))
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "secret.cfg").write_text("v1\n")
    (ws / "a.txt").write_text("1\n")
    pid = _ok(env, "project", "create", "cli", "--workspace", str(ws)).strip()
    c1 = _ok(env, "checkpoint", "create", pid).strip()
    (ws / ".vmuserignore").write_text("secret.cfg\n")
    (ws / "secret.cfg").write_text("v2, mine\n")
    (ws / "a.txt").write_text("2\n")
    r = _run(env, "checkpoint", "restore", c1, "--yes")
    assert r.returncode == 0, r.stderr
    assert "1 ignored path is left as it is (.vmuserignore or [snapshots] ignore): secret.cfg" in r.stderr
    assert (ws / "secret.cfg").read_text() == "v2, mine\n"
    log = json.loads(_ok(env, "log", "--project", pid, "--json"))
    restore = next(e for e in log if e["operation"] == "checkpoint.restore")
    assert restore["details"]["left_alone"] == ["secret.cfg"]


# -- 6. damaged content is never written -----------------------------------------------------------


def _flip_in_db(data_dir: Path, needle: bytes) -> None:
    """Flip 16 bytes in the middle of where ``needle`` sits in the database file, as a bad
    disk would (the WAL is folded into the file first, so the bytes are there)."""
    db = data_dir / "vmuser.db"
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    raw = bytearray(db.read_bytes())
    at = raw.find(needle)
    assert at > 0 and raw.find(needle, at + 1) == -1, "the sample must sit once in the file"
    mid = at + len(needle) // 2 - 8
    for i in range(mid, mid + 16):
        raw[i] ^= 0xA5
    db.write_bytes(bytes(raw))


@pytest.fixture
def damaged(tmp_path):
    """A project whose checkpoint c1 holds a raw blob (random bytes) and a pack of small
    text files; c2 changed them all. Returns ``(env, data_dir, ws, pid, c1, c2, blob_bytes)``."""
    data = tmp_path / "data"
    env = dict(os.environ, VMUSER_DATA_DIR=str(data), VMUSER_CONFIG=str(tmp_path / "c.toml"))
    ws = tmp_path / "ws"
    ws.mkdir()
    blob = os.urandom(600 * 1024)  # incompressible: stored raw, on its own
    (ws / "big.bin").write_bytes(blob)
    for i in range(20):
        (ws / f"small{i:02}.txt").write_text(f"small file {i}\n" * 50)
    pid = _ok(env, "project", "create", "dmg", "--workspace", str(ws)).strip()
    c1 = _ok(env, "checkpoint", "create", pid).strip()
    (ws / "big.bin").write_bytes(b"new")
    for i in range(20):
        (ws / f"small{i:02}.txt").write_text("changed\n")
    c2 = _ok(env, "checkpoint", "create", pid).strip()
    return env, data, ws, pid, c1, c2, blob


def test_restore_of_a_damaged_blob_changes_nothing_and_names_the_path(damaged):
    env, data, ws, pid, c1, _, blob = damaged
    _flip_in_db(data, blob[300_000:300_064])
    before = snapshot(ws)
    r = _run(env, "checkpoint", "restore", c1, "--yes")
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert "the stored content of 'big.bin' is damaged" in r.stderr and "nothing was changed" in r.stderr
    assert snapshot(ws) == before
    cat = subprocess.run([sys.executable, "-m", "vmuser_tui", "fs", "cat", pid, "big.bin", "--at", c1], env=env,
                         capture_output=True, timeout=120)
    assert cat.returncode == 1 and cat.stdout == b""
    assert b"is damaged (content does not match its hash)" in cat.stderr
    diff = _run(env, "checkpoint", "diff", c1)
    assert diff.returncode == 1 and "is damaged" in diff.stderr and "Traceback" not in diff.stderr


def test_restore_of_a_damaged_pack_changes_nothing(damaged):
    env, data, ws, pid, c1, _, _ = damaged
    conn = sqlite3.connect(data / "vmuser.db")
    packs = conn.execute("SELECT data FROM packs").fetchall()
    conn.close()
    biggest = max((bytes(d) for (d,) in packs), key=len)  # the 20 small files' pack
    _flip_in_db(data, biggest[len(biggest) // 2 - 32 : len(biggest) // 2 + 32])
    before = snapshot(ws)
    r = _run(env, "checkpoint", "restore", c1, "--yes")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "is damaged" in r.stderr and "nothing was changed" in r.stderr
    assert snapshot(ws) == before


def test_a_damaged_blob_is_never_returned_by_a_read(vm):
    p = vm.projects.create("Reads")
    ws = Path(p.workspace)
    write(ws, "f.bin", os.urandom(600_000))
    cp = vm.checkpoints.create(p.id).checkpoint
    digest = vm.checkpoints.entry(cp.id, "f.bin").hash
    with vm.db.write() as conn:  # a file of this size is stored in a pack of its own, uncompressed
        (pack_id,) = conn.execute("SELECT pack_id FROM blobs WHERE hash = ?", (digest,)).fetchone()
        data = bytearray(conn.execute("SELECT data FROM packs WHERE id = ?", (pack_id,)).fetchone()[0])
        data[300_000] ^= 1
        conn.execute("UPDATE packs SET data = ? WHERE id = ?", (bytes(data), pack_id))
    vm.ctx.store.forget_cached_packs()
    with pytest.raises(StoreError, match="is damaged"):
        vm.fs.read(p.id, "f.bin", at=cp.id)
    with pytest.raises(StoreError, match="is damaged"):
        vm.fs.read(p.id, "f.bin", at=cp.id, limit=10)


# -- 9. sparse files stay sparse; a restore that does not fit is refused ---------------------------


def test_a_sparse_file_is_restored_as_holes(vm):
    p = vm.projects.create("Sparse")
    ws = Path(p.workspace)
    with open(ws / "disk.img", "wb") as fh:
        fh.truncate(2 * GIB)
        fh.seek(GIB)
        fh.write(b"a few bytes in the middle")
    cp = vm.checkpoints.create(p.id).checkpoint
    os.unlink(ws / "disk.img")
    vm.restores.restore(cp.id)
    st = os.stat(ws / "disk.img")
    assert st.st_size == 2 * GIB
    assert st.st_blocks * 512 < 1024 * 1024  # allocated: a block or so, not 2 GiB
    with open(ws / "disk.img", "rb") as fh:
        fh.seek(GIB)
        assert fh.read(25) == b"a few bytes in the middle"


@pytest.fixture
def small_fs(tmp_path):
    """A 16 MiB tmpfs mounted for the test (needs root, as CI and this machine have)."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mnt)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode().strip()}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_a_restore_that_does_not_fit_is_refused_before_any_change(vm, small_fs):
    ws = small_fs / "ws"
    ws.mkdir()
    p = vm.projects.create("Full", workspace=str(ws))
    write(ws, "a.bin", os.urandom(6 * 1024 * 1024))
    write(ws, "b.bin", os.urandom(6 * 1024 * 1024))
    cp = vm.checkpoints.create(p.id).checkpoint
    os.unlink(ws / "a.bin")
    os.unlink(ws / "b.bin")
    write(ws, "filler.bin", os.urandom(8 * 1024 * 1024))
    write(ws, "keep.txt", "mine\n")
    vm.checkpoints.create(p.id)
    before = snapshot(ws)
    with pytest.raises(StoreError, match=r"needs about .* of free space in .* free some space there"):
        vm.restores.restore(cp.id, paths=["a.bin", "b.bin"])
    assert snapshot(ws) == before
    # a sparse file of 2 GiB fits on the same 16 MiB filesystem
    os.unlink(ws / "filler.bin")
    with open(ws / "huge.img", "wb") as fh:
        fh.truncate(2 * GIB)
    cp2 = vm.checkpoints.create(p.id).checkpoint
    os.unlink(ws / "huge.img")
    vm.restores.restore(cp2.id)
    assert os.stat(ws / "huge.img").st_size == 2 * GIB


# -- 8. set-uid and set-gid bits never come back from a checkpoint --------------------------------


def test_restore_never_sets_setuid_or_setgid_bits(vm):
    p = vm.projects.create("Setuid")
    ws = Path(p.workspace)
    write(ws, "tool", "#!/bin/sh\n", mode=0o755)
    os.chmod(ws / "tool", 0o6755)
    (ws / "shared").mkdir()
    os.chmod(ws / "shared", 0o3777)
    cp = vm.checkpoints.create(p.id).checkpoint
    os.unlink(ws / "tool")
    os.rmdir(ws / "shared")
    vm.restores.restore(cp.id)
    assert stat.S_IMODE(os.lstat(ws / "tool").st_mode) == 0o755
    assert stat.S_IMODE(os.lstat(ws / "shared").st_mode) & 0o7000 == 0


# -- helpers --------------------------------------------------------------------------------------


def _run(env, *args):
    return subprocess.run([sys.executable, "-m", "vmuser_tui", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def _ok(env, *args) -> str:
    r = _run(env, *args)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_an_old_auto_checkpoint_never_writes_a_secret_over_the_live_one(make_vm):
    """An automatic checkpoint taken while secret_patterns were narrower (an older vmuser)
    holds .npmrc; restoring it now leaves the live .npmrc as it is, and says so."""
    old = make_vm(config_text="[snapshots]\nsecret_patterns = []\n")
    p = old.projects.create("Old auto")
    ws = Path(p.workspace)
    write(ws, ".npmrc", "//registry/:_authToken=old\n")
    write(ws, "a.txt", "1\n")
    auto = old.checkpoints.create(p.id, kind="auto").checkpoint
    assert old.checkpoints.entry(auto.id, ".npmrc") is not None
    old.close()
    vm = make_vm(config_text="")  # today's defaults
    write(ws, ".npmrc", "//registry/:_authToken=new\n")
    write(ws, "a.txt", "2\n")
    preview = vm.restores.preview(auto.id)
    assert [c.path for c in preview.changes] == ["a.txt"] and preview.left_alone == [".npmrc"]
    vm.restores.restore(auto.id)
    assert (ws / ".npmrc").read_text() == "//registry/:_authToken=new\n"
    assert (ws / "a.txt").read_text() == "1\n"


@pytest.mark.skipif(os.getuid() != 0, reason="only root makes files for another user")
def test_as_root_a_restore_gives_what_it_makes_to_the_workspace_owner(vm, tmp_path):
    """vmuser run as root, a user's folder (uid 1234): the session runs as 1234, so what a
    restore writes (files, folders, links) belongs to 1234, made so, not re-owned after."""
    ws = tmp_path / "alice"
    ws.mkdir()
    os.chown(ws, 1234, 1234)
    p = vm.projects.create("Owner", workspace=str(ws))
    write(ws, "src/a.py", "a = 1\n")
    os.symlink("a.py", ws / "src" / "link")
    cp = vm.checkpoints.create(p.id).checkpoint
    import shutil

    shutil.rmtree(ws / "src")
    vm.restores.restore(cp.id)
    for rel in ("src", "src/a.py", "src/link"):
        st = os.lstat(ws / rel)
        assert (st.st_uid, st.st_gid) == (1234, 1234), rel


@pytest.mark.skipif(os.getuid() != 0 or not shutil.which("setpriv"), reason="needs root and setpriv")
def test_what_the_pre_restore_checkpoint_could_not_take_is_left_alone(request):
    """A folder its owner locked (mode 000) cannot be listed, so the pre-restore checkpoint
    leaves it out, and an undo could not bring it back: the restore leaves it alone rather
    than failing on it or writing into it. Run as an ordinary user (uid 4321)."""
    import tempfile

    home = Path(tempfile.mkdtemp(prefix="vmuser-uid-"))  # pytest's tmp dirs are root's alone (0700)
    request.addfinalizer(lambda: shutil.rmtree(home, ignore_errors=True))
    os.chmod(home, 0o755)
    ws = home / "ws"
    (ws / "locked").mkdir(parents=True)
    (ws / "locked" / "x.txt").write_text("x v1\n")
    (ws / "a.txt").write_text("1\n")
    for dirpath, dirnames, filenames in os.walk(home):
        for name in [dirpath, *(os.path.join(dirpath, n) for n in dirnames + filenames)]:
            os.chown(name, 4321, 4321)
    env = dict(os.environ, VMUSER_DATA_DIR=str(home / "data"), VMUSER_CONFIG=str(home / "c.toml"), HOME=str(home))
    user = ["setpriv", "--reuid", "4321", "--regid", "4321", "--clear-groups", "--inh-caps=-all",
            "--bounding-set=-all", sys.executable, "-m", "vmuser_tui"]

    def run(*args):
        return subprocess.run([*user, *args], env=env, capture_output=True, text=True, timeout=120)

    r = run("project", "create", "mine", "--workspace", str(ws))
    assert r.returncode == 0, r.stderr
    pid = r.stdout.strip()
    c1 = run("checkpoint", "create", pid).stdout.strip()
    (ws / "locked" / "x.txt").write_text("x v2, never captured\n")
    (ws / "a.txt").write_text("2\n")
    os.chmod(ws / "locked", 0)
    r = run("checkpoint", "restore", c1, "--yes")
    assert r.returncode == 0, r.stderr
    assert "skipped locked: cannot list" in r.stderr
    assert (ws / "a.txt").read_text() == "1\n"
    os.chmod(ws / "locked", 0o755)
    assert (ws / "locked" / "x.txt").read_text() == "x v2, never captured\n"
