"""What a workspace looks like now, kept in memory and updated from kernel change events.

git's ``core.fsmonitor`` idea, inside the process: after one full scan, the kernel
(inotify, via ``inotify_simple``) tells us which paths changed, so the next capture
stats and hashes only those and re-hashes only the directories above them. Watches are
added *before* a directory is listed, so a change during a scan is never missed; events
are drained without blocking, and inotify queues an event before the write that caused it
returns, so a capture right after an edit sees it.

A full scan is done instead whenever the monitor cannot vouch for the state: on the
first capture in a process, after an event-queue overflow or a failed watch, after any
error mid-update, and when the last full scan is older than :data:`TRUST_SECONDS`
(a periodic re-crawl, as watchman does, in case a change came from where inotify does
not see, such as another host writing to a network mount).
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat as statmod
import threading
import time
from pathlib import Path

from vmuser_tui.core.pathcheck import RESERVED_NAMES
from vmuser_tui.core.store.scan import GONE_ERRNOS, TMP_PREFIX, IgnoreFn, ScanResult, StatInfo, _bad_name, scan
from vmuser_tui.core.store.trees import DIR, FILE, SYMLINK, Entry, TreeIndex

TRUST_SECONDS = 300.0


class MonitorHub:
    """The process's one inotify instance, shared by every workspace's :class:`Monitor`.

    The kernel allows few instances per user (128 by default) but many watches, so one
    instance serves all projects; each watch descriptor maps to the monitors that asked
    for it (the same directory watched twice gets the same descriptor).
    """

    def __init__(self) -> None:
        from inotify_simple import INotify, flags  # Linux only: ImportError/OSError elsewhere

        self.flags = flags
        self.mask = (flags.MODIFY | flags.ATTRIB | flags.CLOSE_WRITE | flags.MOVED_FROM | flags.MOVED_TO
                     | flags.CREATE | flags.DELETE | flags.DELETE_SELF | flags.MOVE_SELF
                     | flags.DONT_FOLLOW | flags.EXCL_UNLINK | flags.ONLYDIR)
        self._fd = INotify()
        self._owners: dict[int, list[tuple[Monitor, str]]] = {}
        self._lock = threading.Lock()

    def add(self, monitor: Monitor, rel: str, abs_path: str) -> int | None:
        """Watch ``abs_path`` for ``monitor`` (as its directory ``rel``); None on failure."""
        with self._lock:
            try:
                wd = self._fd.add_watch(abs_path, self.mask)
            except OSError:
                return None
            owners = self._owners.setdefault(wd, [])
            owners[:] = [(m, r) for m, r in owners if m is not monitor] + [(monitor, rel)]
            return wd

    def remove(self, monitor: Monitor, wd: int) -> None:
        """``monitor`` no longer needs ``wd``; the watch goes when nobody does."""
        with self._lock:
            owners = [(m, r) for m, r in self._owners.get(wd, []) if m is not monitor]
            if owners:
                self._owners[wd] = owners
                return
            self._owners.pop(wd, None)
            try:
                self._fd.rm_watch(wd)
            except OSError:
                pass  # already gone with its directory

    def pump(self) -> None:
        """Read every queued event (without blocking) and hand each to its monitors."""
        with self._lock:
            self._pump_locked()

    def _pump_locked(self) -> None:
        """:meth:`pump`'s work; the caller holds ``self._lock``."""
        f = self.flags
        while True:
            events = self._fd.read(timeout=0)
            if not events:
                return
            for ev in events:
                if ev.mask & f.Q_OVERFLOW:  # events were lost: nobody can vouch now
                    for owners in self._owners.values():
                        for m, _ in owners:
                            m.broken = True
                    continue
                owners = self._owners.get(ev.wd, [])
                if ev.mask & f.IGNORED:
                    self._owners.pop(ev.wd, None)
                for m, rel in owners:
                    m.event(ev, rel, f)

    def close(self) -> None:
        with self._lock:
            self._owners.clear()
            try:
                self._fd.close()
            except OSError:
                pass


class Monitor:
    """One workspace's watches on the shared hub; ``drain()`` says what changed."""

    def __init__(self, hub: MonitorHub) -> None:
        self.hub = hub
        self._wds: dict[str, int] = {}
        self._paths: set[str] = set()
        self.broken = False
        # Paths where a directory appeared, or whose watched directory went away, since the
        # last drain: the folder there is a new one (inode numbers are reused at once, so
        # comparing them cannot tell), to be scanned whole.
        self.fresh_dirs: set[str] = set()

    def watch(self, rel: str, abs_path: str) -> None:
        """Watch directory ``rel``; a failure (e.g. out of watches) breaks the monitor."""
        wd = self.hub.add(self, rel, abs_path)
        if wd is None:
            self.broken = True
        else:
            self._wds[rel] = wd

    def unwatch_tree(self, rel: str) -> None:
        """Forget the watches of ``rel`` and below (it was moved away or replaced)."""
        prefix = rel + "/"
        for d in [d for d in self._wds if d == rel or d.startswith(prefix)]:
            self.hub.remove(self, self._wds.pop(d))

    def event(self, ev, rel: str, f) -> None:
        """One kernel event on this monitor's directory ``rel`` (called by the hub)."""
        if ev.mask & f.IGNORED:  # the watched directory itself is gone
            if self._wds.get(rel) == ev.wd:
                del self._wds[rel]
                if rel:
                    self.fresh_dirs.add(rel)
                    self._paths.add(rel)
                else:
                    self.broken = True
            return
        if not ev.name:  # an event on the watched directory itself
            if rel == "" and ev.mask & (f.DELETE_SELF | f.MOVE_SELF):
                self.broken = True
            if rel:
                self._paths.add(rel)
            return
        path = f"{rel}/{ev.name}" if rel else ev.name
        if ev.mask & f.ISDIR and ev.mask & (f.CREATE | f.MOVED_TO):
            self.fresh_dirs.add(path)
        self._paths.add(path)

    def drain(self) -> tuple[set[str], set[str]] | None:
        """``(changed paths, fresh directories)`` since the last drain, workspace-relative;
        None when the monitor can no longer vouch (overflow, workspace itself gone) and a
        full scan is needed. Taken under the hub's lock, so an event that another thread
        pumps meanwhile lands in the next drain, never in a set already handed out."""
        with self.hub._lock:
            self.hub._pump_locked()
            paths, self._paths = self._paths, set()
            fresh, self.fresh_dirs = self.fresh_dirs, set()
        return None if self.broken else (paths, fresh)

    def close(self) -> None:
        for wd in list(self._wds.values()):
            self.hub.remove(self, wd)
        self._wds.clear()


class LiveState:
    """The last known state of one workspace and the monitor that keeps it current.

    Used under ``lock`` by one capture at a time. ``flat``, ``stats`` and ``symlinks``
    mirror :class:`ScanResult`; ``index`` holds the directories and their tree hashes.
    """

    def __init__(self, workspace: Path, hub: MonitorHub | None = None):
        self.workspace = Path(workspace)
        self.hub = hub
        self.lock = threading.Lock()
        self.monitor: Monitor | None = None
        self.valid = False
        self.flat: dict[str, Entry] = {}
        self.stats: dict[str, StatInfo] = {}
        self.symlinks: dict[str, bytes] = {}
        self.dir_inodes: dict[str, int] = {}  # a folder removed and re-created is a new one
        self.rules_key = ""  # the ignore rules the state was built under
        self.index = TreeIndex()
        self.scanned_at = 0.0

    # -- full scans --------------------------------------------------------------------
    def start_full_scan(self):
        """A fresh monitor before a full scan; returns the ``on_dir`` hook for :func:`scan`."""
        self.valid = False
        if self.monitor is not None:
            self.monitor.close()
            self.monitor = None
        if self.hub is None:  # not Linux, or no inotify instance to be had
            return None
        self.monitor = Monitor(self.hub)
        return self.monitor.watch

    def adopt(self, found: ScanResult, index: TreeIndex) -> None:
        """Take over a completed full scan (hashes filled in) as the known state; the
        scan's dicts are taken, not copied (it is not used after this)."""
        self.flat = found.flat
        self.stats = found.stats
        self.symlinks = found.symlinks
        self.dir_inodes = found.dir_inodes
        self.index = index
        self.scanned_at = time.monotonic()
        self.valid = self.monitor is not None and not self.monitor.broken

    def invalidate(self) -> None:
        """Forget everything: the next capture does a full scan."""
        self.valid = False

    def changed(self) -> tuple[set[str], set[str]] | None:
        """``(changed paths, fresh dirs)`` since the state was last current, or None when a
        full scan is due."""
        if not self.valid or self.monitor is None or time.monotonic() - self.scanned_at > TRUST_SECONDS:
            return None
        return self.monitor.drain()

    # -- applying changes -----------------------------------------------------------------
    def _forget(self, path: str) -> None:
        """Remove ``path`` and everything below it from the state."""
        old = self.flat.pop(path, None)
        if old is not None and old.kind == DIR:
            prefix = path + "/"
            for p in [p for p in self.flat if p.startswith(prefix)]:
                del self.flat[p]
                self.stats.pop(p, None)
                self.symlinks.pop(p, None)
                self.dir_inodes.pop(p, None)
            if self.monitor is not None:
                self.monitor.unwatch_tree(path)
        self.stats.pop(path, None)
        self.symlinks.pop(path, None)
        self.dir_inodes.pop(path, None)
        self.index.remove(path)

    def apply(self, changes: tuple[set[str], set[str]], ignore: IgnoreFn | None
              ) -> tuple[ScanResult, set[str], list[str]]:
        """Bring the state up to date for ``changes`` (paths, and the directories among
        them that are new folders, from :meth:`Monitor.drain`).

        Returns ``(delta, dirty dirs, removed paths)``: ``delta`` lists the files to hash
        (``pending``, with their stats and placeholder entries) and new symlinks; the
        caller hashes them, then calls :meth:`finish`.
        """
        paths, fresh_dirs = changes
        base = os.fspath(self.workspace)
        delta = ScanResult()
        dirty: set[str] = set()
        removed: list[str] = []
        for path in sorted(paths, key=lambda p: (p.count("/"), p)):
            parent, _, name = path.rpartition("/")
            if parent and parent not in self.index.children:
                continue  # its parent is gone or not captured: the parent's own event decides
            top = path.split("/", 1)[0]
            if top.lower() in RESERVED_NAMES or name.startswith(TMP_PREFIX):
                continue
            full = os.path.join(base, path)
            try:
                st = os.lstat(full)
            except (FileNotFoundError, NotADirectoryError):
                st = None
            why = _bad_name(name) if st is not None else None
            if why:
                delta.skipped.append((path, why))
                st = None
            if st is not None and ignore is not None and ignore(path, statmod.S_ISDIR(st.st_mode)):
                st = None
            old = self.flat.get(path)
            if st is None:
                if old is not None:
                    self._forget(path)
                    removed.append(path)
                    dirty.add(parent)
                continue
            mode = st.st_mode
            if statmod.S_ISDIR(mode):
                fresh = path in fresh_dirs
                if old is not None and old.kind == DIR and self.dir_inodes.get(path) == st.st_ino and not fresh:
                    if old.mode != mode & 0o777:  # a chmod of the directory itself
                        self.flat[path] = Entry(name, DIR, mode & 0o777, 0, "")
                        self.index.modes[path] = mode & 0o777
                        dirty.add(path)
                    continue
                if old is not None:
                    self._forget(path)
                    removed.append(path)
                self._scan_new_dir(path, st, ignore, delta, dirty)
                dirty.add(parent)
            elif statmod.S_ISREG(mode):
                info = StatInfo.of(st)
                if old is not None and old.kind == FILE and self.stats.get(path) == info:
                    continue
                if old is not None and old.kind != FILE:
                    self._forget(path)
                self.stats[path] = delta.stats[path] = info
                delta.flat[path] = Entry(name, FILE, info.mode, info.size, "")
                delta.pending.append(path)
                dirty.add(parent)
            elif statmod.S_ISLNK(mode):
                try:
                    target = os.readlink(os.fsencode(full))
                except OSError as exc:  # gone since the lstat, or no longer a link (EINVAL)
                    if exc.errno not in GONE_ERRNOS and exc.errno != errno.EINVAL:
                        raise
                    if old is not None:
                        self._forget(path)
                        removed.append(path)
                        dirty.add(parent)
                    delta.vanished.append(path)
                    continue
                if old is not None and old.kind != SYMLINK:
                    self._forget(path)
                entry = Entry(name, SYMLINK, 0o777, len(target), hashlib.sha256(target).hexdigest())
                if old == entry:
                    continue
                self.flat[path] = entry
                self.symlinks[path] = delta.symlinks[path] = target
                self.index.set(path, entry)
                dirty.add(parent)
            else:
                delta.skipped.append((path, "not a regular file, directory or symlink"))
                if old is not None:
                    self._forget(path)
                    removed.append(path)
                    dirty.add(parent)
        delta.pending.sort()
        return delta, dirty, removed

    def _scan_new_dir(self, path: str, st: os.stat_result, ignore, delta: ScanResult, dirty: set[str]) -> bool:
        """A directory appeared (created, moved in, or re-created): scan it whole, watching
        it first. False when it vanished before it could be listed (a build's temp folder):
        it is then left out, as a full scan would."""
        on_dir = self.monitor.watch if self.monitor is not None else None
        mode = st.st_mode
        try:
            sub = scan(self.workspace, {}, ignore=ignore, root=path, on_dir=on_dir)
        except OSError as exc:
            if exc.errno not in GONE_ERRNOS:
                raise
            delta.vanished.append(path)
            return False
        self.dir_inodes[path] = st.st_ino
        self.dir_inodes.update(sub.dir_inodes)
        name = path.rpartition("/")[2]
        self.flat[path] = Entry(name, DIR, mode & 0o777, 0, "")
        self.index.add_dir(path, mode & 0o777)
        dirty.add(path)
        for p, e in sub.flat.items():
            self.flat[p] = e
            if e.kind == DIR:
                self.index.add_dir(p, e.mode)
                dirty.add(p)
            elif e.kind == SYMLINK:
                self.index.set(p, e)
                self.symlinks[p] = delta.symlinks[p] = sub.symlinks[p]
        for p in sub.pending:
            self.stats[p] = delta.stats[p] = sub.stats[p]
            delta.flat[p] = sub.flat[p]
            delta.pending.append(p)
        delta.skipped.extend(sub.skipped)
        delta.vanished.extend(sub.vanished)
        return True

    def finish(self, delta: ScanResult, hashes: dict[str, str], dirty: set[str]) -> dict[str, list[Entry]]:
        """Record the hashed files and re-hash the dirty directories; returns new trees.
        Files that vanished or kept changing while read (``delta.vanished``,
        ``delta.changing``) are forgotten: not in this checkpoint, re-read on the next."""
        for path in hashes:
            entry = delta.flat[path]
            self.flat[path] = entry
            self.stats[path] = delta.stats[path]  # the stat of what was read
            self.index.set(path, entry)
            dirty.add(path.rpartition("/")[0])
        for path in delta.vanished + delta.changing:
            if path in self.flat or path in self.stats:
                self._forget(path)
                dirty.add(path.rpartition("/")[0])
        return self.index.rehash(dirty)

    def close(self) -> None:
        if self.monitor is not None:
            self.monitor.close()
            self.monitor = None
        self.valid = False
