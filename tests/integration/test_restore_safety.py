"""Restore touches only what it should, can always be undone, and never writes outside the
workspace: partial restores, undo, hostile trees inserted by hand, symlinked parents."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from vmuser_tui.core import clock
from vmuser_tui.core.errors import NotFoundError, StoreError, UsageError, VmuserError
from vmuser_tui.core.ids import new_short_id
from vmuser_tui.core.store.trees import DIR, FILE, SYMLINK, Entry, sort_key

from wsutil import describe_difference, snapshot, symlink, write


@pytest.fixture
def project(vm):
    p = vm.projects.create("Restore")
    ws = Path(p.workspace)
    write(ws, "a.txt", "a v1\n")
    write(ws, "b.txt", "b v1\n")
    write(ws, "src/x.py", "x = 1\n")
    write(ws, "src/y.py", "y = 1\n")
    write(ws, "docs/readme.md", "docs v1\n")
    return p


def test_restore_of_chosen_paths_touches_only_those(vm, project):
    ws = Path(project.workspace)
    cp1 = vm.checkpoints.create(project.id).checkpoint
    write(ws, "a.txt", "a v2\n")
    write(ws, "b.txt", "b v2\n")
    write(ws, "src/x.py", "x = 2\n")
    os.unlink(ws / "src/y.py")
    write(ws, "src/z.py", "z = 2\n")
    write(ws, "docs/readme.md", "docs v2\n")
    b_inode = os.stat(ws / "b.txt").st_ino
    before = snapshot(ws)

    outcome = vm.restores.restore(cp1.id, paths=["a.txt", "src"])
    after = snapshot(ws)
    assert after["a.txt"][2] == b"a v1\n"
    assert after["src/x.py"][2] == b"x = 1\n"
    assert after["src/y.py"][2] == b"y = 1\n"
    assert "src/z.py" not in after  # extra file inside the restored folder removed
    # everything else untouched, down to the inode
    untouched = {p for p in before if p != "a.txt" and not p.startswith("src")}
    assert {p: after[p] for p in untouched} == {p: before[p] for p in untouched}
    assert os.stat(ws / "b.txt").st_ino == b_inode
    assert outcome.paths == ["a.txt", "src"]
    # a partial restore does not move the head
    assert vm.projects.get(project.id).head_checkpoint_id == outcome.pre_restore.id


def test_restore_one_file_that_was_deleted(vm, project):
    ws = Path(project.workspace)
    cp = vm.checkpoints.create(project.id).checkpoint
    os.unlink(ws / "docs/readme.md")
    os.rmdir(ws / "docs")
    vm.restores.restore(cp.id, paths=["docs/readme.md"])
    assert (ws / "docs/readme.md").read_bytes() == b"docs v1\n"


def test_restore_preview_shows_what_restore_will_do_and_changes_nothing(vm, project):
    ws = Path(project.workspace)
    cp = vm.checkpoints.create(project.id).checkpoint
    write(ws, "a.txt", "a v2\nmore\n")
    write(ws, "extra.txt", "will be deleted\n")
    os.unlink(ws / "b.txt")
    before = snapshot(ws)
    preview = vm.restores.preview(cp.id)
    got = {(c.path, c.status) for c in preview.changes}
    assert got == {("a.txt", "M"), ("extra.txt", "D"), ("b.txt", "A")}
    a = next(c for c in preview.changes if c.path == "a.txt")
    assert (a.additions, a.deletions) == (1, 2)  # the workspace's 2 lines go, the checkpoint's 1 comes
    assert (preview.from_id, preview.to_id) == (None, cp.id)
    assert snapshot(ws) == before
    vm.restores.restore(cp.id)
    assert not (ws / "extra.txt").exists() and (ws / "b.txt").read_bytes() == b"b v1\n"


def test_restore_unknown_path_is_refused(vm, project):
    cp = vm.checkpoints.create(project.id).checkpoint
    with pytest.raises(UsageError, match="neither in checkpoint"):
        vm.restores.restore(cp.id, paths=["no/such/file"])


def test_restore_takes_pre_restore_checkpoint_and_undo_brings_workspace_back(vm, project):
    ws = Path(project.workspace)
    cp1 = vm.checkpoints.create(project.id).checkpoint
    write(ws, "a.txt", "unsaved work\n")
    write(ws, "new/file.txt", "also unsaved\n", 0o755)
    os.unlink(ws / "b.txt")
    unsaved = snapshot(ws)

    outcome = vm.restores.restore(cp1.id)
    pre = outcome.pre_restore
    assert pre.kind == "pre-restore" and pre.id != cp1.id
    assert cp1.id in pre.description
    assert (ws / "a.txt").read_bytes() == b"a v1\n"
    entry = vm.log(project=project.id, operation="checkpoint.restore", limit=1)[0]
    assert entry["details"]["pre_restore"] == pre.id
    assert entry["details"]["checkpoint"] == cp1.id

    vm.restores.undo(project.id)
    now = snapshot(ws)
    assert now == unsaved, describe_difference(now, unsaved)


def test_undo_of_partial_restore_restores_only_those_paths(vm, project):
    ws = Path(project.workspace)
    cp1 = vm.checkpoints.create(project.id).checkpoint
    write(ws, "a.txt", "a v2\n")
    write(ws, "b.txt", "b v2\n")
    vm.restores.restore(cp1.id, paths=["a.txt"])
    write(ws, "b.txt", "b v3, after the restore\n")
    vm.restores.undo(project.id)
    assert (ws / "a.txt").read_bytes() == b"a v2\n"
    assert (ws / "b.txt").read_bytes() == b"b v3, after the restore\n"


def test_undo_without_restore_is_not_found(vm, project):
    vm.checkpoints.create(project.id)
    with pytest.raises(NotFoundError, match="no restore to undo"):
        vm.restores.undo(project.id)


def test_restore_replaces_symlinked_dir_instead_of_writing_through(vm, project, tmp_path):
    """A directory replaced by a symlink to outside: restore must not write into the outside dir."""
    ws = Path(project.workspace)
    cp = vm.checkpoints.create(project.id).checkpoint
    outside = tmp_path / "outside"
    outside.mkdir()
    write(outside, "victim.txt", "do not touch\n")
    for f in ("x.py", "y.py"):
        os.unlink(ws / "src" / f)
    os.rmdir(ws / "src")
    os.symlink(outside, ws / "src")

    vm.restores.restore(cp.id)
    assert sorted(os.listdir(outside)) == ["victim.txt"]
    assert (outside / "victim.txt").read_bytes() == b"do not touch\n"
    assert not (ws / "src").is_symlink()
    assert (ws / "src/x.py").read_bytes() == b"x = 1\n"


def test_partial_restore_under_symlinked_dir_does_not_write_through(vm, project, tmp_path):
    ws = Path(project.workspace)
    cp = vm.checkpoints.create(project.id).checkpoint
    outside = tmp_path / "outside"
    outside.mkdir()
    for f in ("x.py", "y.py"):
        os.unlink(ws / "src" / f)
    os.rmdir(ws / "src")
    os.symlink(outside, ws / "src")
    vm.restores.restore(cp.id, paths=["src/x.py"])
    assert os.listdir(outside) == []
    assert (ws / "src/x.py").read_bytes() == b"x = 1\n"
    assert not (ws / "src").is_symlink()


def test_restore_replaces_symlinked_file_without_following(vm, project, tmp_path):
    ws = Path(project.workspace)
    cp = vm.checkpoints.create(project.id).checkpoint
    victim = write(tmp_path, "victim.txt", "outside\n")
    os.unlink(ws / "a.txt")
    os.symlink(victim, ws / "a.txt")
    vm.restores.restore(cp.id)
    assert victim.read_bytes() == b"outside\n"
    assert not (ws / "a.txt").is_symlink()
    assert (ws / "a.txt").read_bytes() == b"a v1\n"


# -- hostile trees inserted by hand ----------------------------------------------------------


class Hostile:
    """Write blobs, trees and a checkpoint row straight into the database."""

    def __init__(self, vm, project_id: str):
        self.vm, self.project_id = vm, project_id
        self.store = vm.ctx.store

    def link(self, name: str, target: str) -> Entry:
        raw = target.encode()
        digest = hashlib.sha256(raw).hexdigest()
        with self.vm.db.write():
            self.store.put_blob_packed(digest, len(raw), "raw", raw)
        return Entry(name, SYMLINK, 0o777, len(raw), digest)

    def file(self, name: str, data: bytes, mode: int = 0o644) -> Entry:
        with self.vm.db.write():
            return Entry(name, FILE, mode, len(data), self.store.put_blob(data))

    def dir(self, name: str, entries: list[Entry], mode: int = 0o755) -> Entry:
        return Entry(name, DIR, mode, 0, self.tree(entries))

    def tree(self, entries: list[Entry]) -> str:
        with self.vm.db.write():
            return self.store.put_tree(sorted(entries, key=lambda e: sort_key(e.name)))

    def checkpoint(self, entries: list[Entry]) -> str:
        cid = new_short_id()
        root = self.tree(entries)
        with self.vm.db.write() as conn:
            conn.execute(
                "INSERT INTO checkpoints(id, project_id, root_tree, kind, created_at) VALUES (?,?,?,?,?)",
                (cid, self.project_id, root, "manual", clock.now_iso()),
            )
        return cid


def test_hostile_symlinks_are_refused(vm, project, tmp_path):
    ws = Path(project.workspace)
    h = Hostile(vm, project.id)
    cid = h.checkpoint(
        [
            h.file("ok.txt", b"fine\n"),
            h.link("evil", "../../etc/passwd"),
            h.link("abs", "/etc/passwd"),
            h.link("up", ".."),
            h.dir("d", [h.link("deep", "../../x"), h.link("fine", "../ok.txt")]),
        ]
    )
    result = vm.restores.restore(cid).result
    refused = {path for path, _ in result.refused}
    assert refused == {"evil", "abs", "up", "d/deep"}
    for path in refused:
        assert not os.path.lexists(ws / path)
    assert os.readlink(ws / "d/fine") == "../ok.txt"
    assert (ws / "ok.txt").read_bytes() == b"fine\n"
    entry = vm.log(project=project.id, operation="checkpoint.restore", limit=1)[0]
    assert sorted(entry["details"]["refused"]) == sorted(refused)


@pytest.mark.parametrize("name", ["..", "/tmp/vmuser-pwned-abs", "x/../../vmuser-pwned-rel", ".vmuser", "a\\b"])
def test_hostile_file_names_are_refused_and_nothing_is_written_outside(vm, project, tmp_path, name):
    h = Hostile(vm, project.id)
    cid = h.checkpoint([h.file(name, b"pwned\n")])
    ws = Path(project.workspace)
    with pytest.raises(VmuserError):
        vm.restores.restore(cid)
    assert not Path("/tmp/vmuser-pwned-abs").exists()
    assert not (ws.parent / "vmuser-pwned-rel").exists()
    assert not (ws.parent.parent / "vmuser-pwned-rel").exists()


def test_hostile_dir_named_dotdot_is_refused(vm, project):
    h = Hostile(vm, project.id)
    ws = Path(project.workspace)
    cid = h.checkpoint([h.dir("..", [h.file("escaped.txt", b"pwned\n")])])
    with pytest.raises(StoreError):
        vm.restores.restore(cid)
    assert not (ws.parent / "escaped.txt").exists()


def test_refused_restore_leaves_the_workspace_untouched(vm, project):
    ws = Path(project.workspace)
    before = snapshot(ws)
    h = Hostile(vm, project.id)
    cid = h.checkpoint([h.file("..", b"pwned\n")])
    with pytest.raises(StoreError):
        vm.restores.restore(cid)
    now = snapshot(ws)
    assert now == before, describe_difference(now, before)


def test_symlink_chain_cannot_escape(vm, project):
    ws = Path(project.workspace)
    h = Hostile(vm, project.id)
    cid = h.checkpoint([h.dir("d", [h.link("q", "..")]), h.link("r", "d/q/..")])
    vm.restores.restore(cid)
    real_ws = os.path.realpath(ws)
    for name in ("r", "d/q"):
        if os.path.lexists(ws / name):
            resolved = os.path.realpath(ws / name)
            assert resolved == real_ws or resolved.startswith(real_ws + os.sep), f"{name} -> {resolved}"


def test_missing_blob_is_a_store_error_not_a_crash(vm, project):
    h = Hostile(vm, project.id)
    ghost = Entry("ghost.txt", FILE, 0o644, 5, "0" * 64)
    cid = h.checkpoint([ghost])
    with pytest.raises(StoreError, match="missing"):
        vm.restores.restore(cid)


def test_checkpoints_of_another_project_cannot_be_diffed_together(vm, project):
    other = vm.projects.create("Other")
    write(other.workspace, "o.txt", "o\n")
    c1 = vm.checkpoints.create(project.id).checkpoint
    c2 = vm.checkpoints.create(other.id).checkpoint
    with pytest.raises(UsageError, match="different projects"):
        vm.checkpoints.diff(c1.id, c2.id)
