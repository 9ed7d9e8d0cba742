"""Issue 11, cases 1-3: which folders may be a workspace, and what a capture never takes in.

``project create`` refuses system folders, pseudo-filesystems, the data dir, folders
holding it or inside it, and nesting with another project's workspace (both directions);
``--import`` of the data dir is refused before anything is copied. For databases made by
older versions (or a data dir moved later), a capture leaves out the data dir and other
projects' workspaces that lie inside the workspace, and a restore then cannot roll the
database back (case 1, end to end through the CLI).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from vmuser_tui.core import workspace_guard as guard
from vmuser_tui.core.errors import UsageError

from wsutil import write


def _rows(data_dir: Path, sql: str) -> list:
    conn = sqlite3.connect(data_dir / "vmuser.db")
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def _nothing_made(vm, data_dir: Path, before: set[str]) -> None:
    """No project row and no new folder under workspaces/."""
    assert vm.projects.list() == [] or all(p.name != "x" for p in vm.projects.list())
    ws = data_dir / "workspaces"
    assert (set(os.listdir(ws)) if ws.is_dir() else set()) == before


@pytest.mark.parametrize("path, words", [
    ("/", "it is a system folder"),
    ("/etc", "it is a system folder"),
    ("/usr", "it is a system folder"),
    ("/usr/share", "it is a system folder"),
    ("/proc", "it is a system folder"),
    ("/dev", "it is a system folder"),
    ("/dev/shm", "it is a system folder"),
    ("/sys", "it is a system folder"),
    ("/var", "it is a system folder"),
    ("/tmp", "it is a system folder"),
    ("/boot", "it is a system folder"),
])
def test_system_folders_are_refused(vm, data_dir, path, words):
    if not os.path.isdir(path):
        pytest.skip(f"{path} does not exist here")
    with pytest.raises(UsageError, match=words) as err:
        vm.projects.create("x", workspace=path)
    assert "give a project folder of your own" in str(err.value)
    _nothing_made(vm, data_dir, set())


def test_a_symlink_to_a_system_folder_is_refused(vm, data_dir, tmp_path):
    link = tmp_path / "link"
    os.symlink("/etc", link)
    with pytest.raises(UsageError, match=rf"refusing workspace {link} \(/etc\): it is a system folder"):
        vm.projects.create("x", workspace=link)
    _nothing_made(vm, data_dir, set())


def test_pseudo_filesystems_are_found_in_mountinfo():
    """A proc or cgroup mount outside the usual places is still no folder of files."""
    text = ("27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n"
            "90 27 0:21 / /srv/my\\040proc rw - proc proc rw\n"
            "91 27 0:40 / /home/u/cg rw - cgroup2 cgroup2 rw\n")
    assert guard.mount_fstype("/srv/my proc/1", text) == "proc"
    assert "proc filesystem" in guard.system_reason("/srv/my proc/1", text)
    assert "cgroup2 filesystem" in guard.system_reason("/home/u/cg", text)
    assert guard.system_reason("/home/u/code", text) is None
    assert guard.system_reason("/srv/site", text) is None


def test_the_data_dir_and_folders_holding_it_are_refused(vm, data_dir, tmp_path):
    with pytest.raises(UsageError, match="it is vmuser's data directory"):
        vm.projects.create("x", workspace=data_dir)
    with pytest.raises(UsageError, match=rf"it holds vmuser's data directory \({data_dir}\)"):
        vm.projects.create("x", workspace=tmp_path)
    # through a second name for the same folder (a bind mount looks the same: device and inode)
    alias = tmp_path / "alias"
    os.symlink(tmp_path, alias)
    with pytest.raises(UsageError, match="it holds vmuser's data directory"):
        vm.projects.create("x", workspace=alias)
    with pytest.raises(UsageError, match=r"it is inside vmuser's data directory"):
        (data_dir / "mine").mkdir()
        vm.projects.create("x", workspace=data_dir / "mine")
    assert vm.projects.list() == []


def test_a_folder_inside_another_vmuser_data_dir_is_refused(vm, make_vm, tmp_path):
    other = tmp_path / "elsewhere" / "vmuser-data"
    from vmuser_tui.core.service import Vmuser

    Vmuser.open(data_dir=str(other), config_path=tmp_path / "none.toml").close()
    (other / "inner").mkdir()
    with pytest.raises(UsageError, match="it is vmuser's data directory"):
        vm.projects.create("x", workspace=other)
    with pytest.raises(UsageError, match="it is inside a vmuser data directory"):
        vm.projects.create("x", workspace=other / "inner")
    assert vm.projects.list() == []


def test_nested_workspaces_are_refused_in_both_directions(vm, tmp_path):
    outer = tmp_path / "nest"
    (outer / "inner").mkdir(parents=True)
    (tmp_path / "other" / "deep").mkdir(parents=True)
    a = vm.projects.create("A", workspace=outer)
    with pytest.raises(UsageError, match=rf"it is inside the workspace of project {a.id} \(A, {outer}\)"):
        vm.projects.create("B", workspace=outer / "inner")
    b = vm.projects.create("B", workspace=tmp_path / "other" / "deep")
    with pytest.raises(UsageError, match=rf"it holds the workspace of project {b.id} \(B,"):
        vm.projects.create("C", workspace=tmp_path / "other")
    with pytest.raises(UsageError, match=rf"it is the workspace of project {a.id} \(A\)"):
        vm.projects.create("D", workspace=outer)
    # a managed workspace counts too
    m = vm.projects.create("M")
    (Path(m.workspace) / "sub").mkdir()
    with pytest.raises(UsageError, match=f"inside the workspace of project {m.id}"):
        vm.projects.create("E", workspace=Path(m.workspace) / "sub")
    assert sorted(p.name for p in vm.projects.list()) == ["A", "B", "M"]
    # side by side is fine
    (tmp_path / "nest2").mkdir()
    assert vm.projects.create("F", workspace=tmp_path / "nest2").name == "F"


def test_import_of_the_data_dir_is_refused_before_copying(vm, data_dir, tmp_path):
    vm.projects.create("keep")
    before = set(os.listdir(data_dir / "workspaces"))
    with pytest.raises(UsageError, match="refusing to import .*: it is a vmuser data directory .*nothing was copied"):
        vm.projects.create("x", import_dir=data_dir)
    with pytest.raises(UsageError, match=rf"it holds vmuser's data directory \({data_dir}\) with its live database"):
        vm.projects.create("x", import_dir=tmp_path)
    assert set(os.listdir(data_dir / "workspaces")) == before
    assert [p.name for p in vm.projects.list()] == ["keep"]
    # a folder beside it imports as before
    write(tmp_path / "src", "a.txt", "a\n")
    assert (Path(vm.projects.create("y", import_dir=tmp_path / "src").workspace) / "a.txt").read_text() == "a\n"


# -- captures of workspaces made by older versions ------------------------------------------


def _paths(vm, cid: str) -> set[str]:
    out, stack = set(), [("", vm.checkpoints.get(cid).root_tree)]
    while stack:
        prefix, digest = stack.pop()
        for e in vm.ctx.store.get_tree(digest):
            rel = f"{prefix}{e.name}"
            out.add(rel)
            if e.kind == "dir":
                stack.append((rel + "/", e.hash))
    return out


def test_a_capture_leaves_out_the_data_dir_and_inner_workspaces(vm, data_dir, tmp_path):
    """Rows written as an older vmuser would have: a workspace holding the data dir and
    another project's workspace."""
    home = tmp_path / "home"
    write(home, "notes.txt", "mine\n")
    write(home, "inner/code.py", "x = 1\n")
    (tmp_path / "elsewhere").mkdir()
    homews = vm.projects.create("homews", workspace=home)
    inner = vm.projects.create("inner", workspace=tmp_path / "elsewhere")
    rules_before = vm.checkpoints.ignore_rules(home)
    assert rules_before.match is None  # nothing inside: no per-file cost
    with vm.db.write() as conn:  # what an older vmuser let through
        conn.execute("UPDATE projects SET workspace = ? WHERE id = ?", (str(tmp_path), homews.id))
        conn.execute("UPDATE projects SET workspace = ? WHERE id = ?", (str(home / "inner"), inner.id))
    write(tmp_path, "notes.txt", "mine\n")
    rules = vm.checkpoints.ignore_rules(tmp_path)
    assert rules.match("data", True) and rules.match("home/inner", True)
    auto = vm.checkpoints.ignore_rules(tmp_path, "auto")  # every kind, secret patterns or not
    assert auto.match("data", True) and auto.match("data/vmuser.db", False) and auto.match("home/inner", True)
    assert not rules.match("home", True) and not rules.match("notes.txt", False)
    assert rules.key != rules_before.key and rules.key != vm.checkpoints.ignore_rules(tmp_path / "x").key
    cp = vm.checkpoints.create(homews.id).checkpoint
    paths = _paths(vm, cp.id)
    assert "notes.txt" in paths and "home/notes.txt" in paths
    assert not any(p == "data" or p.startswith("data/") for p in paths), sorted(paths)
    assert "home/inner" not in paths and "home/inner/code.py" not in paths
    assert _paths(vm, vm.checkpoints.create(inner.id).checkpoint.id) == {"code.py"}


def _cli(env, *args, check=True):
    r = subprocess.run([sys.executable, "-m", "vmuser_tui", *args], env=env, capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=120)
    if check:
        assert r.returncode == 0, r.stderr
    return r


def test_case_1_the_cli_refuses_a_home_that_holds_the_data_dir(cli_env, tmp_path):
    home = tmp_path / "H"
    home.mkdir()
    env = {**cli_env, "VMUSER_DATA_DIR": str(home / ".local/share/vmuser")}
    r = _cli(env, "project", "create", "homews", "--workspace", str(home), check=False)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        f"vmuser: error: refusing workspace {home}: it holds vmuser's data directory "
        f"({home}/.local/share/vmuser), which its sessions could then read and its restores roll back; give a "
        "subfolder that does not hold it, or move the data directory elsewhere (--data-dir or VMUSER_DATA_DIR)"]
    assert _cli(env, "project", "list", "--json").stdout.strip() == "[]"


def test_case_1_a_data_dir_moved_into_a_workspace_survives_a_restore(cli_env, tmp_path):
    """The issue's steps, with the data dir moved into the home after the project was made
    (as a database from an older vmuser would hold it): the restore leaves the database,
    the other project's history and the undo checkpoint alone."""
    home = tmp_path / "H"
    write(home, "doc.txt", "v1\n")
    first_dir = tmp_path / "first-data"
    env = {**cli_env, "VMUSER_DATA_DIR": str(first_dir)}
    homews = _cli(env, "project", "create", "homews", "--workspace", str(home)).stdout.strip()
    (home / ".local/share").mkdir(parents=True)
    os.rename(first_dir, home / ".local/share/vmuser")
    env["VMUSER_DATA_DIR"] = str(home / ".local/share/vmuser")
    first = _cli(env, "checkpoint", "create", homews, "-m", "first").stdout.split()[0]
    other = _cli(env, "project", "create", "other").stdout.strip()
    _cli(env, "fs", "put", other, "o.txt", "-", check=True)
    o1 = _cli(env, "checkpoint", "create", other, "-m", "o1").stdout.split()[0]
    write(home, "doc.txt", "v2\n")
    _cli(env, "checkpoint", "create", homews, "-m", "second")
    r = _cli(env, "checkpoint", "restore", first, "--yes")
    assert (home / "doc.txt").read_text() == "v1\n"
    projects = {p["id"] for p in json.loads(_cli(env, "project", "list", "--json").stdout)}
    assert projects == {homews, other}
    assert o1 in _cli(env, "checkpoint", "list", other).stdout
    undo = r.stdout.strip().rsplit(" ", 1)[-1]  # "...; undo with: vmuser checkpoint restore ID"
    assert undo in {c["id"] for c in json.loads(_cli(env, "checkpoint", "list", homews, "--json").stdout)}
    assert "checkpoint.restore" in _cli(env, "log", "--limit", "5").stdout
    paths = {row[0] for row in _rows(home / ".local/share/vmuser", "SELECT path FROM stat_cache")}
    assert not any(p.startswith(".local") for p in paths), sorted(paths)


def test_exclusions_stay_cheap_for_many_projects(vm, tmp_path):
    """One query and string work per capture: 10,000 workspaces are judged in well under
    a tenth of a second (no filesystem call per row)."""
    import time

    rows = [str(vm.ctx.workspaces_dir / f"p-{i:08x}") for i in range(10_000)] + [str(tmp_path / "w" / "in")]
    start = time.perf_counter()
    got = guard.excluded_inside(tmp_path / "w", vm.ctx.data_dir, rows)
    assert time.perf_counter() - start < 0.1
    assert got == ["in"]


def test_the_new_project_form_shows_each_refusal_under_its_field(vm, data_dir, tmp_path):
    from vmuser_tui.tui.screens.new_project import field_of

    for kwargs, field in (({"workspace": "/etc"}, "workspace"), ({"workspace": tmp_path}, "workspace"),
                          ({"import_dir": data_dir}, "import_dir"), ({"import_dir": tmp_path}, "import_dir")):
        with pytest.raises(UsageError) as err:
            vm.projects.create("x", **kwargs)
        assert field_of(str(err.value)) == field, str(err.value)
