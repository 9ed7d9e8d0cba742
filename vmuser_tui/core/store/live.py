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
from collections.abc import Callable
from pathlib import Path

from vmuser_tui.core.pathcheck import RESERVED_NAMES
from vmuser_tui.core.store.confined import Confined, PathChanged
from vmuser_tui.core.store.scan import (
    GONE_ERRNOS,
    TMP_PREFIX,
    TOO_LONG,
    IgnoreFn,
    ScanResult,
    StatInfo,
    _bad_name,
    open_below,
    open_listed,
    scan,
    too_long,
)
from vmuser_tui.core.store.trees import DIR, FILE, SYMLINK, Entry, TreeIndex

TRUST_SECONDS = 300.0


class MonitorHub:
    """The process's one inotify instance, shared by every workspace's :class:`Monitor`.

    The kernel allows few instances per user (128 by default) but many watches, so one
    instance serves all projects; each watch descriptor maps to the monitors that asked
    for it (the same directory watched twice gets the same descriptor). Events are read
    without blocking by a capture's :meth:`Monitor.drain`, or, in a process that runs the
    snapshot job, as they come by the watcher's thread (:meth:`fileno` is what it polls;
    :mod:`vmuser_tui.core.workers.watch`).
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
        self.adds = 0  # inotify_add_watch calls made (a cost the idle benchmark and tests watch)
        self.add_errors = 0  # failed ones (ENOSPC: fs.inotify.max_user_watches)

    def fileno(self) -> int:
        """The inotify file descriptor (readable when events are queued)."""
        return self._fd.fileno()

    def watch_count(self) -> int:
        """Watches held (one per watched directory, whoever asked for it)."""
        with self._lock:
            return len(self._owners)

    def add(self, monitor: Monitor, rel: str, abs_path: str) -> int | None:
        """Watch ``abs_path`` for ``monitor`` (as its directory ``rel``); None on failure."""
        with self._lock:
            return self._add_locked(monitor, rel, abs_path)

    def _add_locked(self, monitor: Monitor, rel: str, abs_path: str) -> int | None:
        self.adds += 1
        try:
            wd = self._fd.add_watch(abs_path, self.mask)
        except OSError:
            self.add_errors += 1
            return None
        owners = self._owners.setdefault(wd, [])
        owners[:] = [(m, r) for m, r in owners if m is not monitor] + [(monitor, rel)]
        return wd

    def remove(self, monitor: Monitor, wd: int, rel: str | None = None) -> None:
        """``monitor`` no longer needs ``wd``; the watch goes when nobody does. With
        ``rel``, only if ``monitor`` still has it as that directory: after a move inside
        the workspace the same descriptor serves the directory's new path."""
        with self._lock:
            self._remove_locked(monitor, wd, rel)

    def _remove_locked(self, monitor: Monitor, wd: int, rel: str | None = None) -> None:
        owners = self._owners.get(wd, [])
        if rel is not None and any(m is monitor and r != rel for m, r in owners):
            return
        owners = [(m, r) for m, r in owners if m is not monitor]
        if owners:
            self._owners[wd] = owners
            return
        if self._owners.pop(wd, None) is None:
            return  # already gone with its directory (IGNORED was read)
        try:
            self._fd.rm_watch(wd)
        except OSError:
            pass  # gone with its directory, its IGNORED event not read yet

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
                    for m in {id(m): m for owners in self._owners.values() for m, _ in owners}.values():
                        m.set_broken()
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


Listener = Callable[[str | None], None]


class Monitor:
    """One workspace's watches on the shared hub; ``drain()`` says what changed.

    ``root`` is the workspace folder. A directory that appears (made, or moved in) is
    watched, with the folders inside it, as soon as its event is read, so a burst of
    writes in a new tree is seen whole; ``ignore(rel, is_dir)`` (the workspace's ignore
    rules) leaves ignored folders unwatched, as a scan does. ``listener(rel)`` is called
    (under the hub's lock: keep it short, take no other lock that waits for a capture)
    for each changed path as its event is read, and with None when the monitor can no
    longer vouch (events lost, workspace gone): the snapshot job's debounce.
    """

    def __init__(self, hub: MonitorHub, root: str = "", listener: Listener | None = None,
                 ignore: IgnoreFn | None = None) -> None:
        self.hub = hub
        self.root = root
        self.listener = listener
        self.ignore = ignore
        self._wds: dict[str, int] = {}
        self._paths: set[str] = set()
        self.broken = False
        self.closed = False
        # Paths where a directory appeared, or whose watched directory went away, since the
        # last drain: the folder there is a new one (inode numbers are reused at once, so
        # comparing them cannot tell), to be scanned whole.
        self.fresh_dirs: set[str] = set()

    def set_broken(self) -> None:
        self.broken = True
        if self.listener is not None:
            self.listener(None)

    def watch(self, rel: str, abs_path: str) -> None:
        """Watch directory ``rel``; a failure (e.g. out of watches) breaks the monitor."""
        if self.closed:
            return
        wd = self.hub.add(self, rel, abs_path)
        if wd is None:
            self.broken = True
        else:
            self._wds[rel] = wd

    def watch_known(self, rel: str, abs_path: str) -> None:
        """:meth:`watch`, skipping a directory this monitor already watches: a full scan
        over a monitor that kept up. A path whose watch went stale (the folder there moved
        away and another took its place) has a creation event queued, which makes the
        next capture scan it whole and watch it anew."""
        if rel not in self._wds:
            self.watch(rel, abs_path)

    def watch_tree(self, rel: str = "") -> int:
        """Watch ``rel`` and every folder below it that is not ignored, each before it is
        listed (so a folder made meanwhile is seen); returns how many were watched."""
        return self._walk(rel, self.watch)

    def _walk(self, rel: str, add: Callable[[str, str], None]) -> int:
        """Depth-first over the folders at and below ``rel``, calling ``add(rel, abs)``
        before listing each; no stat calls (the directory entry's type is enough)."""
        count = 0
        # (folder, (st_dev, st_ino) its parent's listing saw: None for the start)
        stack: list[tuple[str, tuple[int, int] | None]] = [(rel, None)]
        while stack:
            d, expect = stack.pop()
            if self.closed:
                return count
            abs_dir = os.path.join(self.root, d) if d else self.root
            add(d, abs_dir)
            count += 1
            try:  # listed through a verified descriptor (s22): a folder swapped for a link to a
                # host tree is not walked, so its folders are never watched (see scan.open_listed)
                fd = open_below(self.root, d) if expect is None else open_listed(abs_dir, expect)
            except OSError:
                continue  # gone (or unreadable) since its parent was listed: its events tell
            try:
                with os.scandir(fd) as it:
                    for de in it:
                        try:
                            if not de.is_dir(follow_symlinks=False):
                                continue
                            sub = f"{d}/{de.name}" if d else de.name
                            if not self._wanted(sub):
                                continue
                            st = de.stat(follow_symlinks=False)  # folders only: few
                        except OSError:
                            continue
                        stack.append((sub, (st.st_dev, st.st_ino)))
            except OSError:
                continue
            finally:
                os.close(fd)
        return count

    def _wanted(self, rel: str) -> bool:
        """Whether folder ``rel`` is watched: not vmuser's own, not a temp, not ignored."""
        name = rel.rpartition("/")[2]
        if ("/" not in rel and name.lower() in RESERVED_NAMES) or name.startswith(TMP_PREFIX):
            return False
        if self.ignore is not None:
            try:
                return not self.ignore(rel, True)
            except (ValueError, OSError):
                return True
        return True

    def _add_locked(self, rel: str, abs_path: str) -> None:
        wd = self.hub._add_locked(self, rel, abs_path)
        if wd is None:
            self.broken = True
        else:
            self._wds[rel] = wd

    def unwatch_tree(self, rel: str) -> None:
        """Forget the watches of ``rel`` and below (it was moved away or replaced)."""
        prefix = rel + "/"
        for d in [d for d in self._wds if d == rel or d.startswith(prefix)]:
            self.hub.remove(self, self._wds.pop(d), d)

    def watched(self) -> int:
        """Folders watched for this monitor now (as far as the events read so far tell)."""
        return len(set(self._wds.values()))

    def _note(self, path: str) -> None:
        self._paths.add(path)
        if self.listener is not None:
            self.listener(path)

    def event(self, ev, rel: str, f) -> None:
        """One kernel event on this monitor's directory ``rel`` (called by the hub, which
        holds its lock)."""
        if self.closed:
            return
        if ev.mask & f.IGNORED:  # the watched directory itself is gone
            if self._wds.get(rel) == ev.wd:
                del self._wds[rel]
                if rel:
                    self.fresh_dirs.add(rel)
                    self._note(rel)
                else:
                    self.set_broken()
            return
        if not ev.name:  # an event on the watched directory itself
            if rel == "" and ev.mask & (f.DELETE_SELF | f.MOVE_SELF):
                self.set_broken()
            if rel:
                self._note(rel)
            return
        path = f"{rel}/{ev.name}" if rel else ev.name
        if ev.mask & f.ISDIR and ev.mask & (f.CREATE | f.MOVED_TO):
            self.fresh_dirs.add(path)
            if self.root and self._wanted(path):
                self._walk(path, self._add_locked)  # a new folder: watched now, with what is in it
        self._note(path)

    def reset(self) -> None:
        """Forget the changes read so far (a full scan is about to cover them)."""
        with self.hub._lock:
            self.hub._pump_locked()
            self._paths = set()
            self.fresh_dirs = set()

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
        with self.hub._lock:
            self.closed = True
            self.listener = None
            for wd in set(self._wds.values()):
                self.hub._remove_locked(self, wd)
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
        self.closed = False
        self.flat: dict[str, Entry] = {}
        self.stats: dict[str, StatInfo] = {}
        self.symlinks: dict[str, bytes] = {}
        self.dir_inodes: dict[str, int] = {}  # a folder removed and re-created is a new one
        self.rules_key = ""  # the ignore rules the state was built under
        self.index = TreeIndex()
        self.scanned_at = 0.0
        # The snapshot job's hooks, kept when a broken monitor is replaced (see watch()).
        self._listener: Listener | None = None
        self._watch_ignore: IgnoreFn | None = None

    # -- the long-lived watch ------------------------------------------------------------
    def watch(self, listener: Listener | None, ignore: IgnoreFn | None) -> int:
        """Keep every folder of the workspace watched, calling ``listener`` per change (see
        :class:`Monitor`), until :meth:`unwatch`. A monitor that already covers the
        workspace (a capture made it) is kept: only the hooks change. Otherwise a new one
        is made and the tree walked (the state then waits for a full scan). Returns how
        many folders were walked (0: kept); -1 when there is nothing to watch with (no
        inotify here, or the state was closed)."""
        with self.lock:
            if self.closed or self.hub is None:
                return -1
            self._listener, self._watch_ignore = listener, ignore
            if self.monitor is not None and not self.monitor.broken:
                self.monitor.listener, self.monitor.ignore = listener, ignore
                if not self.valid:  # a capture that failed part-way may have left folders out
                    self.monitor._walk("", self.monitor.watch_known)
                return 0
            if self.monitor is not None:
                self.monitor.close()
            self.valid = False  # changes before the new watches were not seen: full scan next
            self.monitor = Monitor(self.hub, os.fspath(self.workspace), listener, ignore)
            return self.monitor.watch_tree()

    def unwatch(self) -> None:
        """Stop watching (the workspace's session stopped): the watches go, and the next
        capture, if any, scans in full and watches again."""
        with self.lock:
            self._listener = self._watch_ignore = None
            if self.monitor is not None:
                self.monitor.close()
                self.monitor = None
            self.valid = False

    def detach(self) -> None:
        """Keep the watches (for captures) but stop calling the listener (its job stopped)."""
        with self.lock:
            self._listener = None
            if self.monitor is not None:
                self.monitor.listener = None

    # -- full scans --------------------------------------------------------------------
    def start_full_scan(self):
        """Make ready for a full scan; returns the ``on_dir`` hook for :func:`scan`. A
        monitor that kept up (the snapshot job's long-lived one, or the last scan's) is
        kept and only the folders it lacks are watched; a broken one is replaced."""
        self.valid = False
        if self.closed or self.hub is None:  # not Linux, or no inotify instance to be had
            return None
        if self.monitor is not None and not self.monitor.broken:
            self.monitor.reset()  # what changed before the scan, the scan reads
            return self.monitor.watch_known
        if self.monitor is not None:
            self.monitor.close()
        self.monitor = Monitor(self.hub, os.fspath(self.workspace), self._listener, self._watch_ignore)
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
        tree = Confined(base)
        base_bytes = len(os.fsencode(base)) + 1
        try:
            for path in sorted(paths, key=lambda p: (p.count("/"), p)):
                parent, _, name = path.rpartition("/")
                if parent and parent not in self.index.children:
                    continue  # its parent is gone or not captured: the parent's own event decides
                top = path.split("/", 1)[0]
                if top.lower() in RESERVED_NAMES or name.startswith(TMP_PREFIX):
                    continue
                try:  # through folder descriptors: a folder swapped for a link since the event is not followed
                    st = tree.lstat(path)
                except PathChanged:
                    st = None
                why = None
                if st is not None:
                    why = _bad_name(name) or (TOO_LONG if too_long(base_bytes, path) else None)
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
                        fd, _ = tree.parent(path)
                        target = os.readlink(os.fsencode(name), dir_fd=fd)
                    except (OSError, PathChanged) as exc:  # gone since the lstat, or no longer a link (EINVAL)
                        if isinstance(exc, OSError) and exc.errno not in GONE_ERRNOS and exc.errno != errno.EINVAL:
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
        finally:
            tree.close()
        delta.pending.sort()
        return delta, dirty, removed

    def _scan_new_dir(self, path: str, st: os.stat_result, ignore, delta: ScanResult, dirty: set[str]) -> bool:
        """A directory appeared (created, moved in, or re-created): scan it whole, watching
        it first. False when it vanished before it could be listed (a build's temp folder):
        it is then left out, as a full scan would."""
        on_dir = self.monitor.watch if self.monitor is not None else None  # always: its old watch may be stale
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
        """Drop the watches for good (project deleted, process ending)."""
        with self.lock:
            self.closed = True
            if self.monitor is not None:
                self.monitor.close()
                self.monitor = None
            self.valid = False
