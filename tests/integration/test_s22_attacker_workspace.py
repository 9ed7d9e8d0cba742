"""Session 22, a careless operator: the folder a project was created on (``--workspace``)
is later replaced by a symlink to a folder vmuser refuses as a workspace: the home folder
holding vmuser's data dir, or a system folder. A restore (or a session) must not follow
it there: the restore would delete every file of the home folder the checkpoint lacks,
and a session would get the data dir (every project's stored files) mounted."""

from __future__ import annotations

import os

import pytest

from vmuser_tui.core.errors import VmuserError


@pytest.fixture
def swapped(vm, tmp_path):
    """``(project, home)``: a project on ``home/proj`` with one checkpoint, whose folder was
    then moved away and replaced by a link to ``home`` (which holds the data dir)."""
    home = tmp_path
    ws = home / "proj"
    ws.mkdir()
    (ws / "a.txt").write_text("a\n")
    p = vm.projects.create("careless", workspace=ws)
    cp = vm.checkpoints.create(p.id).checkpoint
    (home / "precious.txt").write_text("the user's own\n")
    os.rename(ws, home / "proj.moved")
    os.symlink(home, ws)
    return p, cp, home


def test_a_restore_never_follows_a_workspace_replaced_by_a_link_to_the_data_dirs_home(vm, swapped):
    p, cp, home = swapped
    before = sorted(os.listdir(home))

    with pytest.raises(VmuserError) as err:
        vm.restores.restore(cp.id)

    assert "link" in str(err.value) or "data dir" in str(err.value)
    assert sorted(os.listdir(home)) == before
    assert (home / "precious.txt").read_text() == "the user's own\n"
    assert (home / "proj.moved" / "a.txt").read_text() == "a\n"


def test_a_session_never_mounts_a_workspace_replaced_by_a_link_to_the_data_dirs_home(vm, swapped):
    p, _, home = swapped
    with pytest.raises(VmuserError) as err:
        vm.sessions.start(p.id, runtime="none")  # the check comes before any container
    assert "symlink" in str(err.value)
    assert vm.sessions.list(p.id) == []


def test_captures_and_file_changes_refuse_it_too(vm, swapped):
    p, _, home = swapped
    with pytest.raises(VmuserError):
        vm.checkpoints.create(p.id)
    with pytest.raises(VmuserError):
        vm.fs.write(p.id, "x.txt", b"x")
    assert not (home / "x.txt").exists()


def test_a_project_moved_to_another_disk_and_linked_back_still_works(vm, tmp_path):
    ws = tmp_path / "code" / "proj"
    ws.mkdir(parents=True)
    (ws / "a.txt").write_text("a\n")
    p = vm.projects.create("moved", workspace=ws)
    cp = vm.checkpoints.create(p.id).checkpoint
    os.rename(tmp_path / "code", tmp_path / "disk2")
    os.symlink(tmp_path / "disk2", tmp_path / "code")
    (ws / "a.txt").write_text("changed\n")
    vm.restores.restore(cp.id)
    assert (tmp_path / "disk2" / "proj" / "a.txt").read_text() == "a\n"
