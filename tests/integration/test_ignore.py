"""Ignore rules (.vmuserignore and [snapshots] ignore) keep paths out of checkpoints and
live diffs, and a restore leaves ignored files alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from vmuser_tui.core.errors import ConfigError


def _names(vm, project_id, at):
    out, stack = set(), [""]
    while stack:
        d = stack.pop()
        for f in vm.fs.ls(project_id, d, at=at):
            out.add(f.path)
            if f.kind == "dir":
                stack.append(f.path)
    return out


def test_vmuserignore_and_config_patterns(make_vm):
    vm = make_vm(config_text="[snapshots]\nignore = [\"*.tmp\"]\n")
    project = vm.projects.create("ign")
    ws = Path(project.workspace)
    (ws / "build").mkdir()
    (ws / "build" / "out.bin").write_bytes(b"\0" * 10)
    (ws / "app.log").write_text("noise\n")
    (ws / "keep.log").write_text("kept\n")
    (ws / "scratch.tmp").write_text("tmp\n")
    (ws / "src.py").write_text("print(1)\n")
    (ws / ".vmuserignore").write_text("# build output\nbuild/\n*.log\n!keep.log\n")
    cp = vm.checkpoints.create(project.id).checkpoint
    assert _names(vm, project.id, cp.id) == {".vmuserignore", "keep.log", "src.py"}
    # changes to ignored files are no changes at all
    (ws / "app.log").write_text("more noise\n")
    (ws / "build" / "new.o").write_text("x")
    assert vm.checkpoints.create(project.id).created is False
    assert vm.checkpoints.diff(cp.id).changes == []
    # a restore does not delete what is ignored
    (ws / "src.py").write_text("print(2)\n")
    vm.restores.restore(cp.id)
    assert (ws / "app.log").read_text() == "more noise\n" and (ws / "build" / "new.o").exists()
    assert (ws / "src.py").read_text() == "print(1)\n"


def test_changing_the_rules_takes_effect_at_once(vm):
    project = vm.projects.create("rules")
    ws = Path(project.workspace)
    (ws / "a.log").write_text("a\n")
    (ws / "b.txt").write_text("b\n")
    first = vm.checkpoints.create(project.id).checkpoint
    assert _names(vm, project.id, first.id) == {"a.log", "b.txt"}
    (ws / ".vmuserignore").write_text("*.log\n")
    second = vm.checkpoints.create(project.id).checkpoint
    assert _names(vm, project.id, second.id) == {".vmuserignore", "b.txt"}
    (ws / ".vmuserignore").unlink()
    third = vm.checkpoints.create(project.id).checkpoint
    assert _names(vm, project.id, third.id) == {"a.log", "b.txt"}


def test_unreadable_rules_file_is_a_clear_error(vm):
    project = vm.projects.create("bad")
    ws = Path(project.workspace)
    (ws / ".vmuserignore").write_bytes(b"\xff\xfe not utf-8")
    with pytest.raises(ConfigError, match=r"\.vmuserignore: cannot read ignore rules"):
        vm.checkpoints.create(project.id)
    assert vm.checkpoints.list(project.id) == []


def test_names_restore_would_refuse_are_skipped_at_capture_not_stored(vm, tmp_path):
    """A top-level `c:foo` or a `.vmuser` spelling NTFS/HFS+ fold (`.vmuser.`, `VMUSER~1`) would
    make the whole checkpoint unrestorable: capture leaves them out (reported) instead."""
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "ok.txt").write_text("ok\n")
    (ws / "c:foo").write_text("drive\n")
    (ws / ".vmuser.").mkdir()
    (ws / "VMUSER~1").mkdir()
    p = vm.projects.create("oddnames", workspace=ws)
    out = vm.checkpoints.create(p.id)
    assert [path for path, _ in out.skipped] == ["c:foo"]
    assert sorted(e.path for e in vm.fs.ls(p.id, "", at=out.checkpoint.id)) == ["ok.txt"]
    (ws / "ok.txt").write_text("changed\n")
    vm.restores.restore(out.checkpoint.id)  # restorable: nothing in it is refused
    assert (ws / "ok.txt").read_text() == "ok\n"
