"""Materialize a stored tree onto the live workspace, writing only what differs.

Order (as git's checkout, with tarfile's ``data`` filter's caution): remove what the
target does not have (deepest first), create directories, write changed files to a
temporary file in the same directory and ``rename`` it into place, fix modes, and create
symlinks last, and only those whose target stays inside the workspace (the others are
left out and reported, or with ``[limits] outside_symlinks = "store"`` written as plain
files holding the target text). A parent that is a symlink is replaced by a real
directory, never followed; setuid/setgid/sticky bits are dropped; nothing but regular
files, directories and symlinks is created (a tree cannot even express a hard link, a
device or a fifo: :func:`vmuser_tui.core.store.trees.decode` refuses such entries).

Every change walks from the workspace root with directory file descriptors and never
follows a symlink in any path component (``O_NOFOLLOW | O_DIRECTORY`` at each step, then
``unlinkat``/``mkdirat``/``renameat``/``symlinkat`` on the parent's descriptor, as
``shutil.rmtree`` does to stay safe): a session container may swap a folder for a link to
the host while the restore runs, and then that path fails (listed in ``failed``) and
nothing outside the workspace is touched. A folder is removed only when what the plan
removed from it leaves it empty: files the restore does not know of (ignored ones,
ones made meanwhile) keep their folder (``kept``). Runs of zeros are written as holes, so
a sparse file stays sparse.

Everything that can be checked is checked before the first change (:func:`check`: paths,
names that clash, the content of every blob against its hash, and the free space), so a
refused restore changes nothing. What can still fail half-way (I/O errors, a kill) is
covered by the caller's restore journal: applying a plan is idempotent, because a plan made
again from the half-restored workspace lists only what still differs, and
:func:`sweep_temp_files` removes the temp files a kill left behind.

Over 600 lines on purpose: plan, checks and apply share one set of rules (what is spared,
what a race may change under us, the dirfd walk of :mod:`~vmuser_tui.core.store.confined`) that
must be read together to be kept; the policy around it (journal, roll back, recovery) lives in
:mod:`vmuser_tui.core.restoring`.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import stat as statmod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from vmuser_tui.core.errors import StoreError
from vmuser_tui.core.pathcheck import (
    RESERVED_NAMES,
    InvalidPathError,
    check_siblings,
    normalize,
    shown,
    symlink_stays_inside,
)
from vmuser_tui.core.store.confined import Confined, PathChanged, give, lstat_at, replace_file
from vmuser_tui.core.store.objects import CDC, CHUNKS, LISTS, PACKED, ObjectStore
from vmuser_tui.core.store.scan import TMP_PREFIX
from vmuser_tui.core.store.trees import DIR, FILE, SYMLINK, Entry

Progress = Callable[[int, int, int, int], None]
REFUSE, STORE = "refuse", "store"  # what [limits] outside_symlinks does with a link pointing outside
MAX_LINK_TARGET = 4095  # bytes; PATH_MAX less the NUL: a longer (or empty) target fails symlink(2)


@dataclass
class RestorePlan:
    """What a restore will do, by workspace-relative path."""

    delete: list[str] = field(default_factory=list)
    mkdir: list[tuple[str, Entry]] = field(default_factory=list)
    write: list[tuple[str, Entry]] = field(default_factory=list)
    chmod: list[tuple[str, Entry]] = field(default_factory=list)
    symlink: list[tuple[str, Entry]] = field(default_factory=list)
    freed: int = 0  # bytes of the live files the plan deletes or replaces

    @property
    def empty(self) -> bool:
        return not (self.delete or self.mkdir or self.write or self.chmod or self.symlink)


@dataclass
class RestoreResult:
    """Counts of what a restore did; ``refused`` lists ``(path, reason)`` not materialized;
    ``as_files`` the symlinks pointing outside that were written as plain files holding
    their target (``[limits] outside_symlinks = "store"``)."""

    written: int = 0
    deleted: int = 0
    dirs: int = 0
    chmods: int = 0
    symlinks: int = 0
    bytes_written: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)
    as_files: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # a path changed under the restore
    kept: list[str] = field(default_factory=list)  # folders left because they hold files the plan does not know


def _in(path: str, scope: list[str] | None) -> bool:
    return not scope or any(path == p or path.startswith(p + "/") for p in scope)


def plan(target: dict[str, Entry], live: dict[str, Entry], scope: list[str] | None = None) -> RestorePlan:
    """Compare the target's flat ``{path: Entry}`` with the live one's, within ``scope``."""
    p = RestorePlan()
    e: Entry | None  # the path in the workspace now (None: not there)
    t: Entry | None  # the path in the target (None: not there)
    for path, e in live.items():
        if not _in(path, scope):
            continue
        t = target.get(path)
        if t is None or t.kind != e.kind:
            p.delete.append(path)
            p.freed += e.size if e.kind == FILE else 0
        elif e.kind == FILE and e.hash != t.hash:
            p.freed += e.size
    # A scoped restore writes below folders outside its scope: one that is a link or a
    # file in the workspace but a folder in the target is replaced (the link is removed,
    # never followed), as a whole restore would.
    for top in scope or ():
        parent = top.rpartition("/")[0]
        while parent:
            e, t = live.get(parent), target.get(parent)
            if e is not None and e.kind != DIR and t is not None and t.kind == DIR and parent not in p.delete:
                p.delete.append(parent)
                p.mkdir.append((parent, t))
            parent = parent.rpartition("/")[0]
    # deepest first: a folder is removed once what the plan removes from it is gone
    p.delete.sort(key=lambda x: (-x.count("/"), x))
    for path, t in sorted(target.items()):
        if not _in(path, scope):
            continue
        e = live.get(path)
        if e is None or e.kind != t.kind:  # not there, or another kind: made anew
            if t.kind == DIR:
                p.mkdir.append((path, t))
            elif t.kind == FILE:
                p.write.append((path, t))
            elif t.kind == SYMLINK:
                p.symlink.append((path, t))
        elif t.kind == DIR:
            if e.mode != t.mode:
                p.chmod.append((path, t))
        elif t.kind == FILE:
            if e.hash != t.hash:
                p.write.append((path, t))
            elif e.mode != t.mode:
                p.chmod.append((path, t))
        elif t.kind == SYMLINK and e.hash != t.hash:
            p.symlink.append((path, t))
    p.mkdir.sort(key=lambda x: x[0])  # parents first (a scoped restore's replaced folders too)
    return p


def spare(the_plan: RestorePlan, match, live: dict[str, Entry] | None = None) -> set[str]:
    """Take out of ``the_plan`` every path that ``match(path, is_dir)`` (the workspace's
    ignore rules) matches, or that lies below a matched folder, and return them: ignored
    paths are the user's, so a restore neither writes, re-creates, chmods nor deletes
    them (git's rule for untracked ignored files, here for ignored files of every kind).
    ``live``: the workspace's flat map, which says which deleted paths are folders. A
    folder the plan deletes is still only removed when that leaves it empty."""
    if match is None:
        return set()
    memo: dict[tuple[str, bool], bool] = {}

    def ignored(path: str, is_dir: bool) -> bool:
        key = (path, is_dir)
        if key not in memo:
            parent = path.rpartition("/")[0]
            memo[key] = bool(match(path, is_dir)) or (bool(parent) and ignored(parent, True))
        return memo[key]

    spared: set[str] = set()

    def _spared(path: str, flat: dict[str, Entry]) -> bool:
        e = flat.get(path)
        if ignored(path, e is not None and e.kind == DIR):
            spared.add(path)
            return True
        return False

    def keep(items: list, is_dir) -> list:
        out = []
        for item in items:
            path, entry = (item, None) if isinstance(item, str) else item
            if ignored(path, is_dir(entry)):
                spared.add(path)
            else:
                out.append(item)
        return out

    the_plan.write = keep(the_plan.write, lambda e: False)
    the_plan.symlink = keep(the_plan.symlink, lambda e: False)
    the_plan.mkdir = keep(the_plan.mkdir, lambda e: True)
    the_plan.chmod = keep(the_plan.chmod, lambda e: e.kind == DIR)
    live = live or {}
    the_plan.delete = [p for p in the_plan.delete if not _spared(p, live)]
    return spared


def validate(the_plan: RestorePlan, workspace: Path | None = None) -> None:
    """Refuse a plan with any invalid stored path *before* anything is touched: a path
    :func:`~vmuser_tui.core.pathcheck.normalize` refuses, or one it would change (not NFC:
    two names that look alike, the one folding to the other). With ``workspace`` on a
    case-insensitive filesystem, also two created names that differ only in case (they
    would be one file there, the second overwriting the first).

    Raises :class:`StoreError`; the workspace is unchanged when it does.
    """
    created = [*(p for p, _ in the_plan.mkdir), *(p for p, _ in the_plan.write), *(p for p, _ in the_plan.symlink)]
    paths = [*the_plan.delete, *created, *(p for p, _ in the_plan.chmod)]
    known = set(paths)
    for rel in paths:
        try:
            out = normalize(rel)
            if out != rel:
                sibling = "its sibling " if out in known else ""
                raise InvalidPathError(f"{shown(rel)} is not NFC-normalized and folds to {sibling}{out!r}")
        except InvalidPathError as exc:
            raise StoreError(f"refusing to restore: the checkpoint holds an invalid path ({exc}); "
                             "nothing was changed") from None
    if workspace is None or len(created) < 2:
        return
    by_parent: dict[str, list[str]] = {}
    for rel in created:
        parent, _, name = rel.rpartition("/")
        by_parent.setdefault(parent, []).append(name)
    try:
        for parent, names in by_parent.items():
            if len(names) > 1:
                check_siblings(names, where=parent or "/", casefold=True)
    except InvalidPathError as exc:
        # Only a case-insensitive filesystem stores such names as one file; ask it (rarely needed).
        if case_insensitive(workspace):
            raise StoreError(f"refusing to restore: {exc}; nothing was changed") from None


def case_insensitive(directory: Path) -> bool:
    """True when ``directory``'s filesystem takes names differing only in case for one
    (probed with a temp file that is removed at once). False when it cannot be probed
    (read-only, say): then the restore fails at its first write anyway."""
    name = f"{TMP_PREFIX}{secrets.token_hex(6)}-case"
    probe = os.path.join(os.fspath(directory), name)
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600))
    except OSError:
        return False
    try:
        return os.path.lexists(os.path.join(os.fspath(directory), name.upper()))
    finally:
        os.unlink(probe)


def check_blobs(store: ObjectStore, the_plan: RestorePlan) -> int:
    """Refuse a plan that needs a blob (or a chunk, or a pack) the store lacks or holds
    damaged, or whose tree entry claims another size than its blob holds (a damaged or
    forged tree), *before* anything is touched, so a damaged store cannot leave a
    half-restored workspace nor write a damaged byte.

    Every blob the plan writes is read and verified against its hash here (and again as
    it is written). Returns the bytes the written files will take on disk, holes left out
    (runs of :data:`HOLE` zero bytes). Raises :class:`StoreError` naming the path and the fix.
    """
    wanted: dict[str, str] = {}
    entries = [*the_plan.write, *the_plan.symlink]
    for rel, e in entries:
        wanted.setdefault(e.hash, rel)
    conn = store.conn
    chunks: dict[str, str] = {}
    packs: dict[int, str] = {}
    found: dict[str, int] = {}
    digests = list(wanted)
    for i in range(0, len(digests), 500):
        part = digests[i : i + 500]
        marks = ",".join("?" * len(part))
        sql = (f"SELECT hash, codec, pack_id, CASE WHEN codec IN (?, ?) THEN data END, size FROM blobs "
               f"WHERE hash IN ({marks})")
        for digest, codec, pack_id, data, size in conn.execute(sql, (CHUNKS, CDC, *part)):
            found[digest] = size
            if codec in LISTS:
                for j in range(0, len(data), 32):
                    chunks.setdefault(data[j : j + 32].hex(), wanted[digest])
            elif codec == PACKED:
                packs.setdefault(pack_id, wanted[digest])
    missing = [(d, rel) for d, rel in wanted.items() if d not in found]
    if chunks:
        have = _present(conn, "SELECT hash FROM blobs WHERE hash IN ({})", list(chunks))
        missing += [(d, rel) for d, rel in chunks.items() if d not in have]
    if not missing and packs:
        have = _present(conn, "SELECT id FROM packs WHERE id IN ({})", list(packs))
        lost = [(pid, rel) for pid, rel in packs.items() if pid not in have]
        if lost:
            raise StoreError(f"refusing to restore: pack {lost[0][0]} holding {lost[0][1]} is missing from the "
                             "store; run 'vmuser check' (nothing was changed)")
    if missing:
        digest, rel = missing[0]
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        raise StoreError(f"refusing to restore: blob {digest[:12]} of {rel}{more} is missing from the store; "
                         "run 'vmuser check' (nothing was changed)")
    for rel, e in entries:  # capture records the size of the bytes it stored: any other claim is forged
        if found[e.hash] != e.size:
            raise StoreError(f"refusing to restore: the checkpoint says {rel} holds {e.size:,} bytes but its blob "
                             f"holds {found[e.hash]:,}; run 'vmuser check' (nothing was changed)")
    return _verify_content(store, wanted, {e.hash for _, e in the_plan.write})


def _verify_content(store: ObjectStore, wanted: dict[str, str], files: set[str]) -> int:
    """Read every blob of ``wanted`` (``{digest: a path using it}``) through the verifying
    reader; returns the bytes the blobs in ``files`` take on disk once holes are skipped,
    counted once per blob. Raises :class:`StoreError` naming every damaged path."""
    damaged: list[str] = []
    allocated = 0
    for digest, rel in wanted.items():
        blocks, last = 0, None
        try:
            for piece in store.iter_blob(digest):
                if piece is not last:  # a run of equal chunks (a big zero file) is one piece object
                    counted, last = _data_blocks(piece), piece
                blocks += counted
        except StoreError:
            damaged.append(rel)
            continue
        if digest in files:
            allocated += blocks * HOLE
    if damaged:
        shown_paths = ", ".join(shown(p) for p in sorted(damaged)[:5])
        more = f" and {len(damaged) - 5} more" if len(damaged) > 5 else ""
        raise StoreError(f"refusing to restore: the stored content of {shown_paths}{more} is damaged (it does not "
                         "match its hash); run 'vmuser check' (nothing was changed)")
    return allocated


def _data_blocks(piece: bytes) -> int:
    """How many :data:`HOLE`-sized blocks of ``piece`` hold a non-zero byte."""
    view = memoryview(piece)
    return sum(1 for i in range(0, len(view), HOLE) if view[i : i + HOLE] != _ZEROS[: len(view[i : i + HOLE])])


def _present(conn, sql: str, keys: list) -> set:
    """Which of ``keys`` the one-column query ``sql`` (with ``IN ({})``) finds, 500 at a time."""
    out: set = set()
    for i in range(0, len(keys), 500):
        part = keys[i : i + 500]
        out.update(r[0] for r in conn.execute(sql.format(",".join("?" * len(part))), part))
    return out


def check(store: ObjectStore, the_plan: RestorePlan, workspace: Path | None = None) -> None:
    """Everything :func:`apply` can check before its first change: :func:`validate`,
    :func:`check_blobs` (content included) and, with ``workspace``, that its filesystem has
    room for what the plan writes (holes left out, less what it deletes or replaces, plus
    a block per entry), so a container cannot fill the host's disk through a restore.
    Raises :class:`StoreError`; the workspace is unchanged when it does."""
    validate(the_plan, workspace)
    needed = check_blobs(store, the_plan)
    if workspace is None or not (the_plan.write or the_plan.mkdir or the_plan.symlink):
        return
    needed += BLOCK * (len(the_plan.write) + len(the_plan.mkdir) + len(the_plan.symlink))
    try:
        st = os.statvfs(workspace)
    except OSError:
        return  # cannot tell: the first write says what is wrong
    free = st.f_bavail * st.f_frsize
    if needed > free + the_plan.freed:
        raise StoreError(f"refusing to restore: it needs about {_size(needed - the_plan.freed)} of free space in "
                         f"{workspace} and only {_size(free)} is free; free some space there (nothing was changed)")


def _size(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:,} bytes" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n}"


_OUR_TEMP = re.compile(re.escape(TMP_PREFIX) + r"[0-9a-f]{12}")  # as confined.replace_file names them


def sweep_temp_files(workspace: Path) -> int:
    """Remove the temp files (``.vmuser-tmp-*``) an interrupted restore or write left in
    ``workspace``, without following symlinks; returns how many. Captures never see them
    (the scan skips the prefix), so only this keeps a recovered workspace exact."""
    removed = 0
    base = os.fspath(workspace)
    # fwalk hands out a descriptor per folder, opened without following links, and the
    # unlink goes through it: a folder swapped for a link meanwhile cannot redirect it.
    for dirpath, dirnames, filenames, dirfd in os.fwalk(base, follow_symlinks=False):
        if dirpath == base:
            dirnames[:] = [d for d in dirnames if d.lower() not in RESERVED_NAMES]
        for name in filenames:
            if _OUR_TEMP.fullmatch(name):  # only names vmuser makes: a user's ".vmuser-tmp-draft" stays
                try:
                    os.unlink(name, dir_fd=dirfd)
                    removed += 1
                except (FileNotFoundError, IsADirectoryError):
                    pass
    return removed


def apply(
    store: ObjectStore,
    workspace: Path,
    the_plan: RestorePlan,
    *,
    progress: Progress | None = None,
    checked: bool = False,
    outside_symlinks: str = REFUSE,
    owner: tuple[int, int] | None = None,
) -> RestoreResult:
    """Carry out ``the_plan`` on ``workspace``.

    The plan is checked first (:func:`check`: paths, blob content, free space), so a
    hostile tree or a damaged store changes nothing; ``checked=True`` says the caller has
    just done that. A symlink that would point outside the workspace is never created:
    with ``outside_symlinks`` ``"refuse"`` it is left out (listed in ``refused``), with
    ``"store"`` a plain file holding its target text takes its place (``as_files``).
    Directories are created owner-writable and get their stored modes last (as tar
    does), so a read-only directory can still be filled. Every change goes through
    directory descriptors (see the module's docstring): a path whose folders changed
    under the restore (a folder swapped for a link or a file, one that vanished) is not
    restored and is listed in ``failed``; a folder the plan deletes that still holds
    files it does not know is left in ``kept``. ``owner``: ``(uid, gid)`` every file,
    folder and link made gets (vmuser as root, a session running as that user: see
    :func:`vmuser_tui.core.container_user.workspace_owner`). Raises :class:`StoreError` on
    other I/O errors (disk full, permissions), naming the path.
    """
    if not checked:
        check(store, the_plan, workspace)
    result = RestoreResult()
    total_files = len(the_plan.write)
    total_bytes = sum(e.size for _, e in the_plan.write)
    done_bytes = 0
    tree = Confined(os.fspath(workspace), owner)
    try:
        for rel in the_plan.delete:
            _step(result, rel, lambda rel=rel: _delete(tree, rel, result))
        for rel, _ in the_plan.mkdir:
            if _step(result, rel, lambda rel=rel: _mkdir(tree, rel)):
                result.dirs += 1
        for i, (rel, e) in enumerate(the_plan.write):
            n = _step(result, rel, lambda rel=rel, e=e: _write_file(store, tree, rel, e))
            if n is not None:
                result.bytes_written += n
                result.written += 1
            done_bytes += e.size
            if progress:
                progress(i + 1, total_files, done_bytes, total_bytes)
        for rel, e in the_plan.chmod:
            if e.kind != DIR and _step(result, rel, lambda rel=rel, e=e: _chmod(tree, rel, e.mode, store, e)):
                result.chmods += 1
        created = []
        for rel, e in the_plan.symlink:
            if not 0 < e.size <= MAX_LINK_TARGET:  # the kernel refuses these: skip before reading the blob
                result.refused.append((rel, f"symlink target of {e.size:,} bytes is not a valid link target"))
                continue
            target = store.read_blob(e.hash)
            text = os.fsdecode(target)
            if not symlink_stays_inside(rel, text):
                if outside_symlinks == STORE:
                    _step(result, rel, lambda rel=rel, e=e: _as_file(store, tree, rel, e, result))
                else:
                    result.refused.append((rel, f"symlink target {text!r} points outside the workspace"))
                continue
            if _step(result, rel, lambda rel=rel, target=target: _symlink(tree, rel, target)):
                created.append(rel)
                result.symlinks += 1
        result.symlinks -= _drop_escaping_links(tree, created, result, store, the_plan, outside_symlinks)
        # directory modes last, deepest first, so read-only folders could be filled above
        dirs = [(rel, e) for rel, e in the_plan.mkdir] + [(rel, e) for rel, e in the_plan.chmod if e.kind == DIR]
        chmodded = {r for r, _ in the_plan.chmod}
        for rel, e in sorted(dirs, key=lambda x: -x[0].count("/")):
            if _step(result, rel, lambda rel=rel, e=e: _chmod(tree, rel, e.mode)) and rel in chmodded:
                result.chmods += 1
    except OSError as exc:
        where = os.path.join(tree.base, exc.filename) if isinstance(exc.filename, str) else tree.base
        raise StoreError(f"restore failed at {where}: {exc.strerror}") from None
    finally:
        tree.close()
    return result


# errno values that mean "a folder on the path changed under us" (swapped for a link or a
# file, removed): the path is skipped and reported; anything else (ENOSPC, EIO, EACCES)
# stops the restore so that the caller rolls back.
_RACE = {errno.ELOOP, errno.ENOTDIR, errno.ENOENT, errno.EISDIR, errno.ENOTEMPTY, errno.EEXIST}


def _step(result: RestoreResult, rel: str, action):
    """Run one change of the plan; a path that changed under the restore goes to
    ``result.failed`` (returns None), any other error propagates."""
    try:
        out = action()
    except PathChanged as exc:
        result.failed.append((rel, exc.why))
        return None
    except OSError as exc:
        if exc.errno not in _RACE:
            exc.filename = rel  # the system call saw a name relative to a folder descriptor
            raise
        result.failed.append((rel, f"it changed during the restore ({exc.strerror})"))
        return None
    return True if out is None else out


def _delete(tree: Confined, rel: str, result: RestoreResult) -> None:
    """Remove ``rel`` without following links: a file or link is unlinked; a folder is
    removed only when empty (what the plan removed from it went first, deepest first), so
    a folder holding files the restore does not know of, ignored ones or ones made
    meanwhile, is kept and listed in ``result.kept``."""
    try:
        fd, name = tree.parent(rel)
    except PathChanged as exc:
        if exc.gone:  # its folder went, and it with it
            return
        raise
    st = lstat_at(fd, name)
    if st is None:
        return
    if statmod.S_ISDIR(st.st_mode):
        if not _rmdir_if_empty(tree, fd, rel, name):
            result.kept.append(rel)
            return
    else:
        os.unlink(name, dir_fd=fd)
    result.deleted += 1


def _rmdir_if_empty(tree: Confined, fd: int, rel: str, name: str) -> bool:
    """Remove the folder ``name`` (``rel``) in folder ``fd`` when it is empty; False when
    it is not (it holds what the plan does not know). Other errors propagate."""
    tree.forget(rel)
    try:
        os.rmdir(name, dir_fd=fd)
    except OSError as exc:
        if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
            return False
        raise
    return True


def _clear(tree: Confined, fd: int, rel: str, name: str) -> None:
    """Make room for a new entry ``name``: unlink a file or link there; a folder there is
    only removed when empty (else the path fails: its contents are not the plan's)."""
    st = lstat_at(fd, name)
    if st is None:
        return
    if not statmod.S_ISDIR(st.st_mode):
        os.unlink(name, dir_fd=fd)
    elif not _rmdir_if_empty(tree, fd, rel, name):
        raise PathChanged(f"{shown(rel)} is a folder holding files the checkpoint does not have; "
                          "move them away and restore again")


def _mkdir(tree: Confined, rel: str) -> None:
    fd, name = tree.parent(rel, create=True)
    st = lstat_at(fd, name)
    if st is not None and statmod.S_ISDIR(st.st_mode):
        return  # made meanwhile (or kept): the modes are set last
    _clear(tree, fd, rel, name)
    os.mkdir(name, 0o700, dir_fd=fd)
    give(fd, name, tree.owner)


def _chmod(tree: Confined, rel: str, mode: int, store: ObjectStore | None = None, e: Entry | None = None) -> None:
    """Set the permission bits (never set-uid, set-gid or sticky: ``mode & 0o777``) of
    ``rel`` without following a link: it is opened ``O_PATH | O_NOFOLLOW`` and changed
    through ``/proc/self/fd``, which works for a file its owner cannot read, too. A link
    found there is left alone. A file with more than one hard link is written anew from
    ``store`` (its entry ``e``) instead: a chmod changes the inode, and another name of it
    may be outside the workspace (pnpm's store, ``cp -al``, an ``ln`` by hand), as
    :func:`~vmuser_tui.core.container_user.hand_over` leaves such files alone."""
    fd, name = tree.parent(rel)
    try:
        target = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
    except FileNotFoundError:
        raise PathChanged("it vanished during the restore") from None
    try:
        st = os.fstat(target)
        if statmod.S_ISLNK(st.st_mode):
            raise PathChanged("a link took its place during the restore; left alone")
        if statmod.S_ISREG(st.st_mode) and st.st_nlink > 1 and store is not None and e is not None:
            _write_file(store, tree, rel, e)  # a new inode: the other names keep theirs, mode and all
            return
        os.chmod(f"/proc/self/fd/{target}", mode & 0o777)
    finally:
        os.close(target)


def _symlink(tree: Confined, rel: str, target: bytes) -> None:
    fd, name = tree.parent(rel, create=True)
    _clear(tree, fd, rel, name)
    os.symlink(target, name, dir_fd=fd)
    give(fd, name, tree.owner)


def _as_file(store: ObjectStore, tree: Confined, rel: str, e: Entry, result: RestoreResult) -> None:
    """Write a symlink that points outside as a plain 0644 file holding its target text
    (its blob), never as a link: ``[limits] outside_symlinks = "store"``."""
    result.bytes_written += _write_file(store, tree, rel, Entry(e.name, FILE, 0o644, e.size, e.hash))
    result.as_files.append(rel)


def _drop_escaping_links(tree: Confined, created: list[str], result: RestoreResult,
                         store: ObjectStore | None = None, the_plan: RestorePlan | None = None,
                         outside_symlinks: str = REFUSE) -> int:
    """Remove created symlinks that resolve outside the workspace once all exist (with
    ``outside_symlinks`` ``"store"``, put a plain file holding the target in their place).

    Each link was checked lexically, but links can chain (``d/q -> ..`` then
    ``r -> d/q/..``), so resolve them for real, and repeat until nothing changes; the
    removal itself goes through the parent's descriptor. Returns how many were removed.
    """
    entries = dict(the_plan.symlink) if the_plan is not None else {}
    base = tree.base
    root = os.path.realpath(base)
    removed = 0
    remaining = list(created)
    changed = True
    while changed:
        changed = False
        for rel in list(remaining):
            resolved = os.path.realpath(os.path.join(base, rel))
            if resolved != root and not resolved.startswith(root + os.sep):
                remaining.remove(rel)
                try:
                    fd, name = tree.parent(rel)
                except PathChanged as exc:  # its folder went elsewhere: so did the link, out of reach
                    result.failed.append((rel, exc.why))
                    removed += 1
                    changed = True
                    continue
                st = lstat_at(fd, name)
                if st is not None and statmod.S_ISLNK(st.st_mode):
                    os.unlink(name, dir_fd=fd)
                if outside_symlinks == STORE and store is not None and rel in entries:
                    _step(result, rel, lambda rel=rel: _as_file(store, tree, rel, entries[rel], result))
                else:
                    result.refused.append((rel, "symlink resolves outside the workspace through other links"))
                removed += 1
                changed = True
    return removed


HOLE = 64 * 1024  # bytes: a run of zeros this long (aligned) is left as a hole, not written
BLOCK = 4096  # bytes: what an entry takes on disk at the least (the free-space check)
_ZEROS = bytes(HOLE)


def _write_file(store: ObjectStore, tree: Confined, rel: str, e: Entry) -> int:
    """Write one file via a temp file in its folder (through the folder's descriptor) and
    ``renameat`` it into place (:func:`~vmuser_tui.core.store.confined.replace_file`);
    returns the bytes of content. Aligned runs of :data:`HOLE` zero bytes are skipped with
    ``lseek`` and the size set with ``ftruncate``, so a sparse file stays sparse."""
    fd, name = tree.parent(rel, create=True)
    written = 0

    def fill(out: int) -> None:
        nonlocal written
        for piece in store.iter_blob(e.hash):
            view = memoryview(piece)
            for i in range(0, len(view), HOLE):
                block = view[i : i + HOLE]
                if block == _ZEROS[: len(block)]:
                    os.lseek(out, len(block), os.SEEK_CUR)
                else:
                    while block:
                        block = block[os.write(out, block) :]
            written += len(piece)
        os.ftruncate(out, written)
        give(out, None, tree.owner)  # before the mode: chown clears set-id bits, and there are none
        os.fchmod(out, e.mode & 0o777)

    def make_room() -> None:
        st = lstat_at(fd, name)
        if st is not None and statmod.S_ISDIR(st.st_mode):  # rename replaces a file or a link, not a folder
            _clear(tree, fd, rel, name)

    replace_file(fd, name, fill, before_rename=make_room)
    return written
