"""One long-lived watch per running workspace, driving both the snapshot job's debounce and
the capture's dirty set (issue 15 item 1).

:class:`Watcher` follows the projects with a running session whose workspace is a folder
here (``engine = 'local'``; a volume on another engine has no inotify here, the interval
run polls it). For each it asks the project's :class:`~vmuser_tui.core.store.live.LiveState`
(the capture's in-memory state, :meth:`Context.live_state`) to keep every folder watched
with a listener: each changed path that is not ignored marks the project dirty, and
:meth:`Watcher.due` hands out the projects quiet for ``debounce`` seconds. The watches are
the capture's own, so the checkpoint after a change stats and hashes only what changed,
and a folder is watched once per process, not once per consumer.

Watches are walked (a watch per folder, added before the folder is listed) only when the
set of running local workspaces changes: every ``refresh`` seconds the thread re-reads
that set (one query, one ``stat`` per running workspace) and compares. In between it
sleeps in ``poll(2)`` on the inotify descriptor: an idle workspace costs no CPU whatever
its size. A folder made (or moved in) is watched as its event is read; a deleted one
loses its watch with it (the kernel's ``IN_IGNORED``); a workspace that disappears breaks
its monitor (the listener marks it dirty, the capture logs the error, the next change of
the running set drops it), never the job.

Why inotify_simple (the :class:`~vmuser_tui.core.store.live.MonitorHub`) and not
watchfiles: watchfiles (Rust ``notify``) runs its own thread and hands out only paths,
and its watched set is fixed for one ``watch()`` call: following sessions that start and
stop meant stopping it and starting it again, re-adding a watch on every folder each
time (the 2-second rebuild that cost 7.3% of a core over 6,000 folders). The capture
already needed inotify_simple for what paths alone do not say: the watch descriptor of
each folder (added before a scan lists it, so nothing is missed), ``IN_ISDIR`` on a new
folder, ``IN_IGNORED`` when one goes, ``IN_Q_OVERFLOW`` when events were lost. Keeping
that one library lets watches be added and removed one folder at a time and serves both
consumers from one set; watchfiles is no longer a dependency.
"""

from __future__ import annotations

import functools
import logging
import os
import select
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from vmuser_tui.core.errors import VmuserError
from vmuser_tui.core.workers.snapshot import running_projects

if TYPE_CHECKING:  # pragma: no cover
    from vmuser_tui.core.store.live import LiveState
    from vmuser_tui.core.store.scan import IgnoreFn

log = logging.getLogger("vmuser.worker")

IGNORE_FILE = ".vmuserignore"


class Watcher:
    """Watch the workspaces of running sessions and report quiet, dirty projects.

    A background thread follows the set of running local sessions (re-read every
    ``refresh`` seconds) and records, per project, the time (monotonic seconds) of the
    last relevant change. :meth:`due` returns the projects whose last change is at least
    ``debounce`` seconds old and forgets them. Thread-safe; :meth:`stop` ends the thread.
    ``rebuilds`` counts the walks of a workspace's folders (one per workspace that starts
    running), ``syncs`` the re-reads of the running set; :meth:`watched` gives the
    folders watched per project.
    """

    def __init__(self, vm, *, debounce: float, refresh: float = 2.0):
        self.vm = vm
        self.debounce = debounce
        self.refresh = refresh
        self.rebuilds = 0
        self.syncs = 0
        self.synced = threading.Event()  # set after the first pass over the running sessions
        self._dirty: dict[str, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._watched: dict[str, tuple[Path, LiveState]] = {}
        self._own: dict[str, LiveState] = {}  # states made here when the process keeps none (live off)
        self._rules: dict[str, IgnoreFn | None] = {}
        self._stale_rules: set[str] = set()
        self._warned_full = False
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(target=self._run, name="vmuser-watch", daemon=True)

    def start(self) -> Watcher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        try:
            os.write(self._wake_w, b"x")  # out of poll() at once
        except OSError:
            pass
        self._thread.join(timeout=5)
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass

    # -- what the scheduler asks -----------------------------------------------------
    def due(self, now: float | None = None) -> set[str]:
        """Projects quiet for ``debounce`` seconds since their last change (then forgotten)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            ready = {p for p, t in self._dirty.items() if now - t >= self.debounce}
            for p in ready:
                del self._dirty[p]
        return ready

    def retry(self, projects: set[str]) -> None:
        """Put projects back as due now (their checkpoint could not be taken this time)."""
        with self._lock:
            for pid in projects:
                self._dirty.setdefault(pid, time.monotonic() - self.debounce)

    def next_due_in(self) -> float | None:
        """Seconds until the next dirty project becomes due, or None when none is dirty."""
        with self._lock:
            if not self._dirty:
                return None
            return max(0.0, min(self._dirty.values()) + self.debounce - time.monotonic())

    def watched(self) -> dict[str, int]:
        """``{project id: folders watched}`` for the workspaces watched now."""
        out = {}
        for pid, (_, state) in list(self._watched.items()):
            monitor = state.monitor
            out[pid] = monitor.watched() if monitor is not None else 0
        return out

    # -- the thread ----------------------------------------------------------------------
    def _run(self) -> None:
        hub = self.vm.ctx.monitor_hub()
        if hub is None:
            log.warning("watcher: no inotify here: running sessions are checkpointed by the interval run only")
            self.synced.set()
            return
        poller = select.poll()
        poller.register(hub.fileno(), select.POLLIN)
        poller.register(self._wake_r, select.POLLIN)
        next_sync = 0.0
        try:
            while not self._stop.is_set():
                if time.monotonic() >= next_sync:
                    self._sync()
                    next_sync = time.monotonic() + self.refresh
                if self._stale_rules:
                    self._reload_rules()
                timeout_ms = max(0, int((next_sync - time.monotonic()) * 1000))
                for fd, ev in poller.poll(timeout_ms):
                    if fd != hub.fileno():
                        continue  # the wake pipe: stop() was called
                    if ev & (select.POLLNVAL | select.POLLERR):
                        return  # the hub was closed (the service is closing)
                    hub.pump()  # the listeners mark projects dirty
        except (OSError, ValueError) as exc:  # the descriptor closed under us
            if not self._stop.is_set():
                log.warning("watcher stopped: %s", exc)
        finally:
            for _, state in self._watched.values():
                state.detach()
            for state in self._own.values():
                state.close()

    def _sync(self) -> None:
        """Follow the set of running local workspaces: watch the new, drop the gone."""
        try:
            running = running_projects(self.vm, local_only=True)
        except VmuserError as exc:
            log.warning("watcher: %s", exc)
            return
        wanted = {pid: ws for pid, ws in running.items() if ws.is_dir()}
        for pid in [p for p, (ws, _) in self._watched.items() if wanted.get(p) != ws]:
            self._unwatch(pid)
        for pid, ws in wanted.items():
            held = self._watched.get(pid)
            if held is not None and not held[1].closed and held[1].monitor is not None:
                continue  # watched already: nothing to do while the set stays the same
            self._watch(pid, ws)
        self.syncs += 1
        self.synced.set()

    def _watch(self, pid: str, ws: Path) -> None:
        from vmuser_tui.core.store.live import LiveState

        rules = self._load_rules(pid, ws)
        state = self.vm.ctx.live_state(pid, ws)
        if state is None:  # this process keeps no capture state: watch for the debounce alone
            old = self._own.pop(pid, None)
            if old is not None:
                old.close()
            state = self._own[pid] = LiveState(ws, self.vm.ctx.monitor_hub())
        hub = state.hub
        errors = hub.add_errors if hub is not None else 0
        walked = state.watch(functools.partial(self._changed, pid), rules)
        if walked > 0:
            self.rebuilds += 1
            log.debug("watcher: %d folders of %s watched", walked, ws)
        self._watched[pid] = (ws, state)
        if hub is not None and hub.add_errors > errors and not self._warned_full:
            self._warned_full = True
            limit = _read_int("/proc/sys/fs/inotify/max_user_watches")
            log.warning("watcher: not every folder of %s can be watched (fs.inotify.max_user_watches = %s): "
                        "its changes are checkpointed by the interval run; raise the limit with "
                        "sysctl fs.inotify.max_user_watches=524288", ws, limit)

    def _unwatch(self, pid: str) -> None:
        _, state = self._watched.pop(pid)
        self._rules.pop(pid, None)
        own = self._own.pop(pid, None)
        if own is not None:
            own.close()
        else:
            state.unwatch()

    def _load_rules(self, pid: str, ws: Path) -> IgnoreFn | None:
        try:
            match: IgnoreFn | None = self.vm.checkpoints.ignore_rules(ws, "auto").match
        except (OSError, VmuserError):
            match = None
        self._rules[pid] = match
        return match

    def _reload_rules(self) -> None:
        """``.vmuserignore`` changed: its rules decide what marks dirty and what is watched."""
        with self._lock:
            stale, self._stale_rules = self._stale_rules, set()
        for pid in stale:
            held = self._watched.get(pid)
            if held is not None:
                rules = self._load_rules(pid, held[0])
                held[1].watch(functools.partial(self._changed, pid), rules)

    def _changed(self, pid: str, path: str | None) -> None:
        """The listener (called under the hub's lock: short, no lock a capture holds)."""
        if path is not None and path != IGNORE_FILE and _ignored(self._rules.get(pid), path):
            return
        now = time.monotonic()
        with self._lock:
            self._dirty[pid] = now
            if path == IGNORE_FILE:  # new rules: what marks dirty, and what is watched
                self._stale_rules.add(pid)


def _ignored(match, rel: str) -> bool:
    """Whether ``rel`` (workspace-relative, ``/``-separated) or one of its parent folders is
    ignored (a deleted path cannot be stat'ed, so a folder rule is tried on every parent)."""
    parts = rel.split("/")
    if parts[0].lower() == ".vmuser" or parts[-1].startswith(".vmuser-tmp-"):
        return True  # vmuser's own folder and a restore's temp files
    if match is None:
        return False
    for i in range(1, len(parts)):
        if match("/".join(parts[:i]), True):
            return True
    return match(rel, False) or match(rel, True)


def _read_int(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return "?"
