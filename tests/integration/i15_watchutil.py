"""Helpers of the single-watcher tests (issue 15 item 1): kernel watch counts, a served
scheduler, waiting for a condition (never for a time)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path


def kernel_watches(fd: int) -> int:
    """Watches the kernel holds on inotify descriptor ``fd`` of this process (one
    ``inotify wd:`` line each in ``/proc/self/fdinfo``)."""
    return sum(line.startswith("inotify wd:") for line in Path(f"/proc/self/fdinfo/{fd}").read_text().splitlines())


def wait_for(pred, timeout: float = 20.0) -> bool:
    """Poll ``pred`` until it holds (a ceiling against hanging, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.02)
    return bool(pred())


def make_tree(ws: Path, groups: int, per_group: int) -> int:
    """``groups`` folders of ``per_group`` folders, one file in each leaf; returns the
    folders in the workspace counting the workspace itself."""
    for g in range(groups):
        for d in range(per_group):
            leaf = ws / f"g{g}" / f"d{d}"
            leaf.mkdir(parents=True)
            (leaf / "f.txt").write_text(f"{g}/{d}\n")
    return 1 + groups + groups * per_group


def folders(ws: Path) -> int:
    """Folders in ``ws`` counting itself, not following symlinks."""
    return 1 + sum(len(dirs) for _, dirs, _ in os.walk(ws))


class Served:
    """``vm.scheduler().serve`` in a thread, quick ticks; ``stop()`` joins it."""

    def __init__(self, vm, *, tick: float = 0.1, refresh: float = 0.1, on_result=None):
        self.stop_event = threading.Event()
        self.sched = vm.scheduler(on_result=on_result)
        self.thread = threading.Thread(target=self.sched.serve, args=(self.stop_event,),
                                       kwargs={"tick": tick, "refresh": refresh}, daemon=True)
        self.thread.start()
        assert wait_for(lambda: self.sched.watcher is not None and self.sched.watcher.synced.is_set())
        self.watcher = self.sched.watcher

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(20)
