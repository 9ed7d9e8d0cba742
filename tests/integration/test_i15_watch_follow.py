"""The single watcher follows the workspace and the running set (issue 15 item 1): a folder
made inside is watched (with what is in it) as its event is read, a deleted one loses its
watch, a workspace that disappears does not stop the job, a stopped session's watches go,
and projects on other engines are not watched (the interval run polls them)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from i15_watchutil import Served, kernel_watches, make_tree, wait_for

from vmuser_tui.core.workers import snapshot

pytestmark = pytest.mark.skipif(not Path("/proc/sys/fs/inotify").exists(), reason="inotify is Linux-only")

CONFIG = "[snapshots]\ndebounce = 0.3\ninterval = 3600\n"


@pytest.fixture
def served(make_vm):
    vm = make_vm(config_text=CONFIG)
    p = vm.projects.create("follow")
    ws = Path(p.workspace)
    n = make_tree(ws, 2, 3)
    vm.sessions.start(p.id, runtime="none")
    s = Served(vm)
    try:
        assert wait_for(lambda: s.watcher.watched().get(p.id) == n)
        yield vm, p, ws, n, s
    finally:
        s.stop()


def _watches(vm) -> int:
    return kernel_watches(vm.ctx.monitor_hub().fileno())


def test_a_new_folder_is_watched_with_its_subfolders_and_a_deleted_one_unwatched(served):
    vm, p, ws, n, s = served
    hub, w = vm.ctx.monitor_hub(), s.watcher
    rebuilds = w.rebuilds
    (ws / "new" / "a" / "b").mkdir(parents=True)
    hub.pump()
    assert _watches(vm) == n + 3
    assert w.due(now=float("inf")) == {p.id}
    (ws / "new" / "a" / "b" / "deep.txt").write_text("seen\n")  # only a watch on new/a/b sees this
    hub.pump()
    assert w.due(now=float("inf")) == {p.id}
    # A tree moved in from outside the workspace: watched as its event is read.
    outside = ws.parent / f"{ws.name}-outside"
    (outside / "x" / "y").mkdir(parents=True)
    os.rename(outside, ws / "moved")
    hub.pump()
    assert _watches(vm) == n + 6
    shutil.rmtree(ws / "new")
    shutil.rmtree(ws / "moved")
    hub.pump()
    assert _watches(vm) == n == hub.watch_count()
    assert w.rebuilds == rebuilds  # one folder at a time, never the whole tree again


def test_a_workspace_that_disappears_does_not_stop_the_job(served):
    vm, p, ws, n, s = served
    w = s.watcher
    shutil.rmtree(ws)
    vm.ctx.monitor_hub().pump()
    assert w.due(now=float("inf")) == {p.id}  # it changed: the capture says what is wrong
    res = snapshot.run(vm, only={p.id}, why="files changed")
    assert res["checkpoints"] == [] and [e["project"] for e in res["errors"]] == [p.id]
    assert wait_for(lambda: p.id not in w.watched())  # gone from the watched set
    assert _watches(vm) == 0 and s.thread.is_alive() and w._thread.is_alive()
    # It comes back (e.g. re-created by hand): watched again, changes seen again.
    rebuilds = w.rebuilds
    ws.mkdir()
    (ws / "back.txt").write_text("back\n")
    assert wait_for(lambda: w.watched().get(p.id) == 1)
    assert w.rebuilds == rebuilds + 1
    (ws / "back.txt").write_text("changed\n")
    vm.ctx.monitor_hub().pump()
    assert p.id in w.due(now=float("inf"))


def test_a_stopped_session_loses_its_watches(served):
    vm, p, ws, n, s = served
    (ws / "last.txt").write_text("work\n")
    vm.sessions.stop(vm.sessions.list(p.id)[0].id)  # its checkpoint is taken on the way
    assert wait_for(lambda: p.id not in s.watcher.watched())
    assert _watches(vm) == 0


def test_projects_on_other_engines_are_not_watched(make_vm):
    vm = make_vm(config_text=CONFIG)
    here, there = vm.projects.create("here"), vm.projects.create("there")
    for p in (here, there):
        make_tree(Path(p.workspace), 1, 2)
        vm.sessions.start(p.id, runtime="none")
    with vm.db.write() as conn:  # as if its workspace were a volume on another engine (issue 14)
        conn.execute("UPDATE projects SET engine = 'far' WHERE id = ?", (there.id,))
    s = Served(vm)
    try:
        assert wait_for(lambda: s.watcher.watched().get(here.id) == 4)
        assert there.id not in s.watcher.watched()
        assert _watches(vm) == 4
        (Path(there.workspace) / "g0" / "d0" / "f.txt").write_text("unseen here\n")
        vm.ctx.monitor_hub().pump()
        assert s.watcher.next_due_in() is None
    finally:
        s.stop()


def test_a_changed_vmuserignore_changes_what_marks_dirty(served):
    vm, p, ws, n, s = served
    hub, w = vm.ctx.monitor_hub(), s.watcher
    (ws / ".vmuserignore").write_text("*.tmp\n")
    hub.pump()
    assert w.due(now=float("inf")) == {p.id}  # the file itself is part of the workspace
    # re-read by the watcher's thread (maybe more than once: once per event of the write)
    assert wait_for(lambda: (m := w._rules.get(p.id)) is not None and m("g0/scratch.tmp", False))
    hub.pump()
    w.due(now=float("inf"))
    (ws / "g0" / "scratch.tmp").write_text("ignored now\n")
    hub.pump()
    assert w.next_due_in() is None
