"""One long-lived watch per running workspace (issue 15 item 1): one kernel watch per
folder, shared by the snapshot job's debounce and the capture; nothing re-added while the
workspace is idle; a change makes exactly one auto checkpoint, which reads only that file.

Counts come from the kernel (``/proc/self/fdinfo`` of the inotify descriptor) and from the
hub's own bookkeeping; waits are for conditions, never for a time."""

from __future__ import annotations

from pathlib import Path

import pytest
from i15_watchutil import Served, folders, kernel_watches, make_tree, wait_for

pytestmark = pytest.mark.skipif(not Path("/proc/sys/fs/inotify").exists(), reason="inotify is Linux-only")

CONFIG = "[snapshots]\ndebounce = 0.3\ninterval = 3600\n"


def _auto(vm, pid):
    return [c for c in vm.checkpoints.list(pid) if c.kind == "auto"]


@pytest.fixture
def running(make_vm):
    """A running workspace-only session over 6 x 20 folders (one file each), a base
    checkpoint, and the scheduler serving (its first snapshot run done)."""
    vm = make_vm(config_text=CONFIG)
    p = vm.projects.create("watched")
    ws = Path(p.workspace)
    n = make_tree(ws, 6, 20)
    (ws / ".vmuserignore").write_text("node_modules/\n*.log\n")
    (ws / "node_modules" / "pkg" / "lib").mkdir(parents=True)  # ignored: never watched
    (ws / "node_modules" / "pkg" / "lib" / "x.js").write_text("x\n")
    vm.checkpoints.create(p.id, description="base")
    vm.sessions.start(p.id, runtime="none")
    results = []
    served = Served(vm, on_result=results.append)
    try:
        assert wait_for(lambda: "snapshot" in served.sched.last_runs())  # the first interval run (a full scan)
        assert wait_for(lambda: served.watcher.watched().get(p.id) == n)
        yield vm, p, ws, n, served, results
    finally:
        served.stop()


def test_one_kernel_watch_per_folder_for_both_the_debounce_and_the_capture(running):
    vm, p, ws, n, served, _ = running
    hub = vm.ctx.monitor_hub()
    assert n == folders(ws) - 3  # node_modules, pkg, lib are ignored
    assert kernel_watches(hub.fileno()) == n == hub.watch_count()
    adds = hub.adds
    # A capture in the same process uses the same watches: none added, none dropped.
    vm.checkpoints.create(p.id, description="manual", allow_empty=True)
    state = vm.ctx._live[p.id]
    assert state.valid and state.monitor is not None and state.monitor.listener is not None
    assert kernel_watches(hub.fileno()) == n and hub.adds == adds


def test_nothing_is_rebuilt_or_re_added_while_idle(running):
    vm, p, ws, n, served, _ = running
    hub = vm.ctx.monitor_hub()
    w = served.watcher
    rebuilds, adds, syncs = w.rebuilds, hub.adds, w.syncs
    # Several passes over the running sessions (each 0.1 s, as are the scheduler's ticks), no change.
    assert wait_for(lambda: w.syncs >= syncs + 5) and served.thread.is_alive()
    assert (w.rebuilds, hub.adds) == (rebuilds, adds)
    assert kernel_watches(hub.fileno()) == n
    assert w.next_due_in() is None and _auto(vm, p.id) == []


def test_a_change_makes_exactly_one_auto_checkpoint_that_reads_only_the_changed_file(running):
    vm, p, ws, n, served, results = running
    w = served.watcher
    target = ws / "g3" / "d7" / "f.txt"
    target.write_text("edit 4\n")  # open, truncate, write, close: several events, one change
    assert wait_for(lambda: len(_auto(vm, p.id)) == 1)
    made = [m for r in results if r.name == "snapshot" for m in r.summary.get("checkpoints", [])]
    assert [(m["project"], m["hashed"]) for m in made] == [(p.id, 1)]
    auto = _auto(vm, p.id)[0]
    assert vm.fs.read(p.id, "g3/d7/f.txt", at=auto.id) == b"edit 4\n"
    # Quiet again: more passes, no second checkpoint, still one watch per folder.
    syncs = w.syncs
    assert wait_for(lambda: w.syncs >= syncs + 3)
    assert w.next_due_in() is None and len(_auto(vm, p.id)) == 1
    assert kernel_watches(vm.ctx.monitor_hub().fileno()) == n


def test_ignored_paths_do_not_mark_the_project_dirty(running):
    vm, p, ws, n, served, _ = running
    hub, w = vm.ctx.monitor_hub(), served.watcher
    (ws / "debug.log").write_text("noise\n")
    (ws / "g0" / "d0" / "trace.log").write_text("noise\n")
    (ws / "node_modules" / "pkg" / "lib" / "x.js").write_text("changed\n")  # not even watched
    hub.pump()  # the events are queued before the writes return: read them now
    assert w.next_due_in() is None
    (ws / "g0" / "d0" / "f.txt").write_text("real\n")
    hub.pump()
    assert w.next_due_in() is not None
