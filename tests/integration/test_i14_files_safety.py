"""EngineFiles never follows a symlink in a parent: a link a session put in the volume (to
the helper's own root filesystem, or to another folder of the workspace) is refused with
vfs's message, and nothing is written, moved or removed through it."""

from __future__ import annotations

import pytest
from engine_helper_stub import helper_stub

from vmuser_tui.core.errors import InvalidPathError, UsageError, VmuserError
from vmuser_tui.core.store.engine_files import EngineFiles

pytestmark = pytest.mark.docker

LINK_MSG = "^{} is a symlink; vmuser does not write through symlinks$"


@pytest.fixture
def helper(docker_available):
    with helper_stub("safety") as h:
        # "out" points outside the volume (the helper's /etc), "in" at a folder inside it,
        # "deep/x" is a link a few levels down
        h.sh("cd /workspace && mkdir -p real/sub deep && echo secret > real/sub/kept && ln -s /etc out "
             "&& ln -s real in && ln -s ../real deep/x && echo f > plain && touch /tmp/marker")
        yield h


@pytest.fixture
def files(helper):
    return EngineFiles(helper)


def tree(helper) -> bytes:
    """Everything in the volume (name, size, mtime, inode), and whatever changed in the
    helper's own root filesystem since the test began (where links to / would lead). Not
    the mtime of /workspace itself (a write's bytes land there first, as a temp file), nor
    of the helper's / (the engine touches it on every put_archive, creating nothing)."""
    return helper.sh("cd /workspace && find . -mindepth 1 -exec stat -c '%n %s %y %i' {} + | sort && "
                     "find / -xdev -mindepth 1 -newer /tmp/marker ! -path /tmp/marker ! -path /workspace")


@pytest.mark.parametrize("parent", ["out", "in", "deep/x", "in/sub"])
def test_every_change_through_a_linked_parent_is_refused(files, helper, parent):
    shown = parent.split("/x")[0] + "/x" if parent.startswith("deep") else parent.split("/")[0]
    before = tree(helper)
    msg = LINK_MSG.format(shown)
    with pytest.raises(InvalidPathError, match=msg):
        files.write(f"{parent}/new.txt", b"x")
    with pytest.raises(InvalidPathError, match=msg):
        files.write(f"{parent}/a/b/new.txt", b"x")  # with parents to make
    with pytest.raises(InvalidPathError, match=msg):
        files.mkdir(f"{parent}/newdir")
    with pytest.raises(InvalidPathError, match=msg):
        files.mv("plain", f"{parent}/moved")
    with pytest.raises(InvalidPathError, match=msg):
        files.mv(f"{parent}/passwd", "stolen")
    with pytest.raises(InvalidPathError, match=msg):
        files.rm(f"{parent}/sub", recursive=True)
    with pytest.raises(InvalidPathError, match=msg):
        files.read(f"{parent}/passwd")
    with pytest.raises(InvalidPathError, match=msg):
        files.ls(f"{parent}/sub")
    with pytest.raises(InvalidPathError, match=msg):
        files.stat(f"{parent}/sub")
    assert tree(helper) == before  # nothing written, moved or removed, inside or outside


def test_the_link_itself_is_handled_not_followed(files, helper):
    before_etc = helper.sh("ls -la /etc")
    with pytest.raises(UsageError, match="^out: not a directory"):
        files.ls("out")
    assert files.stat("out").kind == "symlink" and files.stat("out").target == "/etc"
    with pytest.raises(UsageError, match="^out: exists and is not a directory$"):
        files.mkdir("out")
    with pytest.raises(UsageError, match="^out: cannot read"):
        files.read("out")
    files.mv("out", "out2")  # renames the link
    files.rm("out2", recursive=True)  # removes the link, not /etc
    files.rm("in", recursive=True)
    assert files.read("real/sub/kept") == b"secret\n"
    assert helper.sh("ls -la /etc") == before_etc


def test_a_parent_that_is_a_file(files):
    with pytest.raises(UsageError, match="^plain: exists and is not a directory$"):
        files.write("plain/x", b"1")  # vfs's words: write makes the folder first, and cannot
    with pytest.raises(InvalidPathError, match="^plain is not a directory$"):
        files.write("plain/x", b"1", parents=False)
    with pytest.raises(InvalidPathError, match="^plain is not a directory$"):
        files.mkdir("plain/x")


@pytest.mark.parametrize("bad", ["../etc/passwd", "/etc/passwd", "a/../../x", ".vmuser/x", ".VMUSER",
                                 ".vmuser-tmp-abc", "a\nb", "a\\b", ""])
def test_paths_outside_or_reserved_are_refused_before_any_exec(files, helper, bad):
    count = helper.exec_count
    with pytest.raises(InvalidPathError):
        files.write(bad, b"x")
    with pytest.raises(InvalidPathError):
        files.rm(bad)
    assert helper.exec_count == count


def test_writes_racing_a_folder_swapped_for_a_link_stay_inside(files, helper):
    # a "session" swaps the folder d for a link to the helper's /etc, over and over, while
    # vmuser writes into d: each write lands in the real d or is refused, never in /etc
    helper.sh("mkdir /workspace/d")
    loop = ("cd /workspace && while [ ! -e /tmp/stop ]; do mv d d.real && ln -s /etc d; "
            "rm d; mv d.real d; done")
    ex = helper.api.exec_create(helper.container.id, ["sh", "-c", loop], user="0:0")
    helper.api.exec_start(ex["Id"], detach=True)
    outcomes = set()
    try:
        for i in range(40):
            try:
                files.write(f"d/f{i}", b"x")
                outcomes.add("written")
            except VmuserError as exc:  # refused in one of several words, by timing
                outcomes.add(type(exc).__name__)
    finally:
        helper.sh("touch /tmp/stop; sleep 0.3")
    assert helper.sh("find / -xdev -mindepth 1 -newer /tmp/marker ! -path /tmp/marker ! -path /workspace "
                     "! -path /tmp/stop ! -path /tmp") == b""
    assert helper.sh("ls /etc | grep '^f[0-9]' || true") == b""
    assert outcomes, outcomes  # (which ones: written or refused, depends on timing)
