"""The virtual filesystem: reads of checkpoints and the live workspace; changes to the live
workspace, each logged; limits from the config file; no writing through symlinks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from vmuser_tui.core.errors import InvalidPathError, LimitError, NotFoundError, StateError, UsageError

from wsutil import snapshot, symlink, write


@pytest.fixture
def project(vm):
    p = vm.projects.create("Files")
    ws = Path(p.workspace)
    write(ws, "README.md", "hello\nworld\n")
    write(ws, "bin/tool", "#!/bin/sh\n", 0o755)
    write(ws, "src/main.py", "print(1)\n")
    (ws / "empty").mkdir()
    symlink(ws, "link", "README.md")
    return p


def fs_log(vm, project_id):
    return [e for e in vm.log(project=project_id) if e["operation"].startswith("fs.")]


# -- reads ---------------------------------------------------------------------------------


def test_ls_live_and_at_checkpoint(vm, project):
    cp = vm.checkpoints.create(project.id).checkpoint
    write(project.workspace, "later.txt", "added after the checkpoint\n")
    live = vm.fs.ls(project.id)
    stored = vm.fs.ls(project.id, "/", at=cp.id)
    assert [(f.name, f.kind) for f in stored] == [
        ("bin", "dir"),
        ("empty", "dir"),
        ("src", "dir"),
        ("README.md", "file"),
        ("link", "symlink"),
    ]
    assert [f.name for f in live] == ["bin", "empty", "src", "README.md", "later.txt", "link"]
    readme = next(f for f in stored if f.name == "README.md")
    assert (readme.path, readme.size, readme.mode) == ("README.md", 12, 0o644)
    assert readme.hash and readme.mtime is None
    link = next(f for f in live if f.name == "link")
    assert link.target == "README.md"
    assert next(f for f in stored if f.name == "link").target == "README.md"
    assert [f.path for f in vm.fs.ls(project.id, "bin", at=cp.id)] == ["bin/tool"]
    assert vm.fs.ls(project.id, "empty") == []


def test_ls_errors(vm, project):
    cp = vm.checkpoints.create(project.id).checkpoint
    with pytest.raises(NotFoundError):
        vm.fs.ls(project.id, "nope")
    with pytest.raises(NotFoundError):
        vm.fs.ls(project.id, "nope", at=cp.id)
    with pytest.raises(UsageError, match="not a directory"):
        vm.fs.ls(project.id, "README.md")
    with pytest.raises(UsageError, match="not a directory"):
        vm.fs.ls(project.id, "README.md", at=cp.id)


def test_ls_hides_reserved_dir(vm, project):
    write(project.workspace, ".vmuser/internal", "x")
    assert ".vmuser" not in [f.name for f in vm.fs.ls(project.id)]


def test_stat_live_and_at_checkpoint(vm, project):
    cp = vm.checkpoints.create(project.id).checkpoint
    live = vm.fs.stat(project.id, "bin/tool")
    assert (live.kind, live.size, live.mode) == ("file", 10, 0o755)
    assert live.mtime and live.mtime.endswith("Z")
    stored = vm.fs.stat(project.id, "bin/tool", at=cp.id)
    assert (stored.kind, stored.size, stored.mode) == ("file", 10, 0o755)
    assert stored.hash == vm.checkpoints.entry(cp.id, "bin/tool").hash
    assert vm.fs.stat(project.id, "src", at=cp.id).kind == "dir"
    assert vm.fs.stat(project.id, "", at=cp.id).kind == "dir"
    with pytest.raises(NotFoundError):
        vm.fs.stat(project.id, "missing")
    with pytest.raises(NotFoundError):
        vm.fs.stat(project.id, "missing", at=cp.id)


def test_read_checkpoint_keeps_old_content(vm, project):
    cp = vm.checkpoints.create(project.id).checkpoint
    write(project.workspace, "README.md", "changed\n")
    assert vm.fs.read(project.id, "README.md", at=cp.id) == b"hello\nworld\n"
    assert vm.fs.read(project.id, "README.md") == b"changed\n"
    assert vm.fs.read(project.id, "README.md", at=cp.id, limit=5) == b"hello"
    assert vm.fs.read(project.id, "README.md", limit=3) == b"cha"


def test_read_errors(vm, project):
    cp = vm.checkpoints.create(project.id).checkpoint
    with pytest.raises(UsageError):
        vm.fs.read(project.id, "src", at=cp.id)
    with pytest.raises(UsageError):
        vm.fs.read(project.id, "link", at=cp.id)  # a symlink, not a file
    with pytest.raises(UsageError):
        vm.fs.read(project.id, "link")  # reads never follow a final symlink
    with pytest.raises(NotFoundError):
        vm.fs.read(project.id, "nope.txt")


def test_read_of_live_directory_is_a_usage_error(vm, project):
    with pytest.raises(UsageError, match="directory"):
        vm.fs.read(project.id, "src")


def test_checkpoint_of_another_project_is_refused(vm, project):
    other = vm.projects.create("Other")
    write(other.workspace, "o.txt", "o")
    cp = vm.checkpoints.create(other.id).checkpoint
    with pytest.raises(UsageError, match="belongs to project"):
        vm.fs.ls(project.id, "", at=cp.id)
    with pytest.raises(UsageError):
        vm.fs.read(project.id, "o.txt", at=cp.id)


@pytest.mark.parametrize("bad", ["../escape", "/etc/passwd", "a//b", ".vmuser/x", "a\\b", "x\x00y", ""])
def test_invalid_paths_refused_everywhere(vm, project, bad):
    ws = Path(project.workspace)
    before = snapshot(ws)
    for call in (
        lambda: vm.fs.write(project.id, bad, b"x"),
        lambda: vm.fs.mkdir(project.id, bad),
        lambda: vm.fs.rm(project.id, bad),
        lambda: vm.fs.mv(project.id, "README.md", bad),
        lambda: vm.fs.mv(project.id, bad, "new"),
        lambda: vm.fs.read(project.id, bad),
    ):
        with pytest.raises(InvalidPathError):
            call()
    assert snapshot(ws) == before
    assert fs_log(vm, project.id) == []


# -- changes, each logged --------------------------------------------------------------------


def test_write_creates_and_replaces_and_logs(vm, project):
    ws = Path(project.workspace)
    info = vm.fs.write(project.id, "src/new.py", b"x = 1\n")
    assert (ws / "src/new.py").read_bytes() == b"x = 1\n"
    assert (info.kind, info.size, info.mode) == ("file", 6, 0o644)
    vm.fs.write(project.id, "src/new.py", b"x = 2\n", mode=0o755)
    assert (ws / "src/new.py").read_bytes() == b"x = 2\n"
    assert os.stat(ws / "src/new.py").st_mode & 0o777 == 0o755
    log = fs_log(vm, project.id)
    assert [(e["operation"], e["details"]["path"], e["details"]["created"]) for e in log] == [
        ("fs.write", "src/new.py", False),
        ("fs.write", "src/new.py", True),
    ]
    assert log[0]["details"]["bytes"] == 6
    assert not [n for n in os.listdir(ws / "src") if "tmp" in n]  # no temp files left


def test_write_creates_missing_parents_unless_told_not_to(vm, project):
    ws = Path(project.workspace)
    with pytest.raises(NotFoundError):
        vm.fs.write(project.id, "no/such/dir/f.txt", b"x", parents=False)
    assert not (ws / "no").exists()
    assert fs_log(vm, project.id) == []
    vm.fs.write(project.id, "new/deep/f.txt", b"x")
    assert (ws / "new/deep/f.txt").read_bytes() == b"x"
    ops = [(e["operation"], e["details"]["path"]) for e in reversed(fs_log(vm, project.id))]
    assert ops == [("fs.mkdir", "new/deep"), ("fs.write", "new/deep/f.txt")]


def test_write_onto_directory_or_below_a_file_is_refused(vm, project):
    ws = Path(project.workspace)
    before = snapshot(ws)
    with pytest.raises(UsageError, match="is a directory"):
        vm.fs.write(project.id, "src", b"x")
    with pytest.raises((InvalidPathError, UsageError), match="not a directory"):
        vm.fs.write(project.id, "README.md/inner", b"x")
    assert snapshot(ws) == before
    assert fs_log(vm, project.id) == []


def test_write_replaces_a_final_symlink_without_following_it(vm, project, tmp_path):
    ws = Path(project.workspace)
    victim = write(tmp_path, "victim.txt", "outside\n")
    os.symlink(victim, ws / "out-link")
    vm.fs.write(project.id, "out-link", b"inside\n")
    assert victim.read_bytes() == b"outside\n"
    assert not (ws / "out-link").is_symlink()
    assert (ws / "out-link").read_bytes() == b"inside\n"


def test_mkdir_and_log(vm, project):
    ws = Path(project.workspace)
    vm.fs.mkdir(project.id, "a/b/c")
    assert (ws / "a/b/c").is_dir()
    with pytest.raises(NotFoundError):
        vm.fs.mkdir(project.id, "x/y", parents=False)
    with pytest.raises(UsageError, match="not a directory"):
        vm.fs.mkdir(project.id, "README.md")
    assert [(e["operation"], e["details"]["path"]) for e in fs_log(vm, project.id)] == [("fs.mkdir", "a/b/c")]


def test_mv_and_log(vm, project):
    ws = Path(project.workspace)
    vm.fs.mv(project.id, "src/main.py", "main.py")
    assert (ws / "main.py").read_bytes() == b"print(1)\n"
    assert not (ws / "src/main.py").exists()
    vm.fs.mv(project.id, "bin", "tools")
    assert (ws / "tools/tool").exists()
    with pytest.raises(UsageError, match="already exists"):
        vm.fs.mv(project.id, "main.py", "README.md")
    assert (ws / "README.md").read_bytes() == b"hello\nworld\n"
    with pytest.raises(UsageError, match="into itself"):
        vm.fs.mv(project.id, "tools", "tools/sub")
    with pytest.raises(NotFoundError):
        vm.fs.mv(project.id, "ghost", "ghost2")
    log = fs_log(vm, project.id)
    assert [(e["operation"], e["details"]["src"], e["details"]["dst"]) for e in log] == [
        ("fs.mv", "bin", "tools"),
        ("fs.mv", "src/main.py", "main.py"),
    ]


def test_rm_and_log(vm, project):
    ws = Path(project.workspace)
    vm.fs.rm(project.id, "README.md")
    assert not (ws / "README.md").exists()
    assert (ws / "link").is_symlink()  # a dangling link now, still there
    vm.fs.rm(project.id, "link")
    assert not os.path.lexists(ws / "link")
    vm.fs.rm(project.id, "empty")
    with pytest.raises(StateError, match="not empty"):
        vm.fs.rm(project.id, "src")
    assert (ws / "src/main.py").exists()
    vm.fs.rm(project.id, "src", recursive=True)
    assert not (ws / "src").exists()
    with pytest.raises(NotFoundError):
        vm.fs.rm(project.id, "src")
    log = fs_log(vm, project.id)
    assert [(e["operation"], e["details"]["path"], e["details"]["recursive"]) for e in log] == [
        ("fs.rm", "src", True),
        ("fs.rm", "empty", False),
        ("fs.rm", "link", False),
        ("fs.rm", "README.md", False),
    ]


def test_changes_are_visible_to_the_next_checkpoint(vm, project):
    cp1 = vm.checkpoints.create(project.id).checkpoint
    vm.fs.write(project.id, "notes.txt", b"note\n")
    vm.fs.rm(project.id, "README.md")
    cp2 = vm.checkpoints.create(project.id).checkpoint
    changes = {(c.path, c.status) for c in vm.checkpoints.diff(cp1.id, cp2.id).changes}
    assert changes == {("notes.txt", "A"), ("README.md", "D")}


# -- limits from the config file -------------------------------------------------------------


def test_max_file_size_refused_before_anything_is_written(make_vm):
    vm = make_vm(config_text='[limits]\nmax_file_size = "1k"\n')
    assert vm.config.get("limits", "max_file_size") == 1024
    p = vm.projects.create("limits")
    ws = Path(p.workspace)
    vm.fs.write(p.id, "ok.bin", b"x" * 1024)  # exactly the limit is fine
    write(ws, "existing.txt", "old content\n")
    before = snapshot(ws)
    log_before = fs_log(vm, p.id)
    with pytest.raises(LimitError, match="max_file_size"):
        vm.fs.write(p.id, "big.bin", b"x" * 1025)
    with pytest.raises(LimitError):
        vm.fs.write(p.id, "existing.txt", b"y" * 2000)
    assert snapshot(ws) == before  # nothing created, nothing truncated, no temp files
    assert fs_log(vm, p.id) == log_before


def test_max_entries_per_dir(make_vm):
    vm = make_vm(config_text="[limits]\nmax_entries_per_dir = 3\n")
    p = vm.projects.create("entries")
    ws = Path(p.workspace)
    for name in ("a", "b", "c"):
        vm.fs.write(p.id, name, b"1")
    with pytest.raises(LimitError, match="max_entries_per_dir"):
        vm.fs.write(p.id, "d", b"1")
    with pytest.raises(LimitError):
        vm.fs.mkdir(p.id, "e")
    vm.fs.write(p.id, "a", b"replacing an existing file is fine")
    assert sorted(os.listdir(ws)) == ["a", "b", "c"]


# -- symlinked parents ------------------------------------------------------------------------


@pytest.fixture
def escape(project, tmp_path):
    """A symlink inside the workspace pointing at a directory outside it."""
    outside = tmp_path / "outside"
    outside.mkdir()
    write(outside, "victim.txt", "outside\n")
    os.symlink(outside, Path(project.workspace) / "escape")
    return outside


def test_no_write_through_symlinked_parent(vm, project, escape):
    before = snapshot(escape)
    with pytest.raises(InvalidPathError, match="symlink"):
        vm.fs.write(project.id, "escape/new.txt", b"pwned")
    with pytest.raises(InvalidPathError, match="symlink"):
        vm.fs.write(project.id, "escape/victim.txt", b"pwned")
    with pytest.raises(InvalidPathError, match="symlink"):
        vm.fs.write(project.id, "escape/sub/new.txt", b"pwned")  # would create parents
    with pytest.raises(InvalidPathError, match="symlink"):
        vm.fs.mkdir(project.id, "escape/sub")
    with pytest.raises(InvalidPathError, match="symlink"):
        vm.fs.mkdir(project.id, "escape/sub/deeper", parents=True)
    with pytest.raises(InvalidPathError, match="symlink"):
        vm.fs.mv(project.id, "README.md", "escape/README.md")
    with pytest.raises(InvalidPathError, match="symlink"):
        vm.fs.mv(project.id, "escape/victim.txt", "stolen.txt")
    with pytest.raises(InvalidPathError, match="symlink"):
        vm.fs.rm(project.id, "escape/victim.txt")
    assert snapshot(escape) == before
    assert (Path(project.workspace) / "README.md").exists()


def test_no_read_through_symlinked_parent(vm, project, escape):
    with pytest.raises(InvalidPathError):
        vm.fs.read(project.id, "escape/victim.txt")
    with pytest.raises(InvalidPathError):
        vm.fs.ls(project.id, "escape/deeper")
    with pytest.raises((InvalidPathError, UsageError)):  # the link itself is not listed through
        vm.fs.ls(project.id, "escape/")
    with pytest.raises(InvalidPathError):
        vm.fs.stat(project.id, "escape/victim.txt")


def test_rm_of_the_symlink_itself_leaves_the_target(vm, project, escape):
    vm.fs.rm(project.id, "escape", recursive=True)
    assert not os.path.lexists(Path(project.workspace) / "escape")
    assert (escape / "victim.txt").read_bytes() == b"outside\n"


def test_write_long_valid_name(vm, project):
    name = "n" * 250
    vm.fs.write(project.id, name, b"long\n")
    assert (Path(project.workspace) / name).read_bytes() == b"long\n"
