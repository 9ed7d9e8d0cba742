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

Everything that can be checked is checked before the first change (:func:`check`: paths,
names that clash, and the presence and size of every blob), so a refused restore changes
nothing. What can still fail half-way (I/O errors, a kill) is covered by the caller's restore journal: applying a plan
is idempotent, because a plan made again from the half-restored workspace lists only what
still differs, and :func:`sweep_temp_files` removes the temp files a kill left behind.
"""

from __future__ import annotations

import os
import secrets
import shutil
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
from vmuser_tui.core.store.objects import CHUNKS, PACKED, ObjectStore
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


def _in(path: str, scope: list[str] | None) -> bool:
    return not scope or any(path == p or path.startswith(p + "/") for p in scope)


def plan(target: dict[str, Entry], live: dict[str, Entry], scope: list[str] | None = None) -> RestorePlan:
    """Compare the target's flat ``{path: Entry}`` with the live one's, within ``scope``."""
    p = RestorePlan()
    for path, e in live.items():
        if not _in(path, scope):
            continue
        t = target.get(path)
        if t is None or t.kind != e.kind:
            p.delete.append(path)
    # deepest first; a deleted dir takes its contents with it
    p.delete.sort(key=lambda x: (-x.count("/"), x))
    for path, t in sorted(target.items()):
        if not _in(path, scope):
            continue
        e = live.get(path)
        same_kind = e is not None and e.kind == t.kind
        if t.kind == DIR:
            if not same_kind:
                p.mkdir.append((path, t))
            elif e.mode != t.mode:
                p.chmod.append((path, t))
        elif t.kind == FILE:
            if not same_kind or e.hash != t.hash:
                p.write.append((path, t))
            elif e.mode != t.mode:
                p.chmod.append((path, t))
        elif t.kind == SYMLINK and (not same_kind or e.hash != t.hash):
            p.symlink.append((path, t))
    return p


def _remove(abs_path: str) -> None:
    try:
        st = os.lstat(abs_path)
    except FileNotFoundError:
        return
    if statmod.S_ISDIR(st.st_mode):
        shutil.rmtree(abs_path)
    else:
        os.unlink(abs_path)


def _ensure_parents(base: str, rel: str) -> None:
    """Make every parent of ``rel`` a real directory; a symlink or file there is replaced."""
    parts = rel.split("/")[:-1]
    current = base
    for part in parts:
        current = os.path.join(current, part)
        try:
            st = os.lstat(current)
        except FileNotFoundError:
            os.mkdir(current, 0o755)
            continue
        if not statmod.S_ISDIR(st.st_mode):  # symlinks included: never follow them
            os.unlink(current)
            os.mkdir(current, 0o755)


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
            raise StoreError(f"refusing to restore: the checkpoint holds an invalid path ({exc}); nothing was changed") from None
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


def check_blobs(store: ObjectStore, the_plan: RestorePlan) -> None:
    """Refuse a plan that needs a blob (or a chunk, or a pack) the store lacks, or whose
    tree entry claims another size than its blob holds (a damaged or forged tree), *before*
    anything is touched, so a damaged store cannot leave a half-restored workspace.

    Costs one query per 500 blobs. Raises :class:`StoreError` naming the path and the fix.
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
        sql = f"SELECT hash, codec, pack_id, CASE WHEN codec = ? THEN data END, size FROM blobs WHERE hash IN ({marks})"
        for digest, codec, pack_id, data, size in conn.execute(sql, (CHUNKS, *part)):
            found[digest] = size
            if codec == CHUNKS:
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


def _present(conn, sql: str, keys: list) -> set:
    """Which of ``keys`` the one-column query ``sql`` (with ``IN ({})``) finds, 500 at a time."""
    out: set = set()
    for i in range(0, len(keys), 500):
        part = keys[i : i + 500]
        out.update(r[0] for r in conn.execute(sql.format(",".join("?" * len(part))), part))
    return out


def check(store: ObjectStore, the_plan: RestorePlan, workspace: Path | None = None) -> None:
    """Everything :func:`apply` can check before its first change: :func:`validate` and
    :func:`check_blobs`. Raises :class:`StoreError`; the workspace is unchanged when it does."""
    validate(the_plan, workspace)
    check_blobs(store, the_plan)


def sweep_temp_files(workspace: Path) -> int:
    """Remove the temp files (``.vmuser-tmp-*``) an interrupted restore or write left in
    ``workspace``, without following symlinks; returns how many. Captures never see them
    (the scan skips the prefix), so only this keeps a recovered workspace exact."""
    removed = 0
    base = os.fspath(workspace)
    for dirpath, dirnames, filenames in os.walk(base, followlinks=False):
        if dirpath == base:
            dirnames[:] = [d for d in dirnames if d.lower() not in RESERVED_NAMES]
        for name in filenames:
            if name.startswith(TMP_PREFIX):
                try:
                    os.unlink(os.path.join(dirpath, name))
                    removed += 1
                except FileNotFoundError:
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
) -> RestoreResult:
    """Carry out ``the_plan`` on ``workspace``.

    The plan is checked first (:func:`check`: paths and blobs), so a hostile tree or a
    damaged store changes nothing; ``checked=True`` says the caller has just done that.
    A symlink that would point outside the workspace is never created: with
    ``outside_symlinks`` ``"refuse"`` it is left out (listed in ``refused``), with
    ``"store"`` a plain file holding its target text takes its place (``as_files``).
    Directories are created owner-writable and get their stored modes last (as tar
    does), so a read-only directory can still be filled. Raises :class:`StoreError` on
    I/O errors, naming the path.
    """
    if not checked:
        check(store, the_plan, workspace)
    base = os.fspath(workspace)
    result = RestoreResult()
    total_files = len(the_plan.write)
    total_bytes = sum(e.size for _, e in the_plan.write)
    done_bytes = 0
    try:
        for rel in the_plan.delete:
            _remove(os.path.join(base, rel))
            result.deleted += 1
        for rel, _ in the_plan.mkdir:
            _ensure_parents(base, rel)
            full = os.path.join(base, rel)
            _remove(full)
            os.mkdir(full, 0o700)
            result.dirs += 1
        for i, (rel, e) in enumerate(the_plan.write):
            _ensure_parents(base, rel)
            result.bytes_written += _write_file(store, base, rel, e)
            result.written += 1
            done_bytes += e.size
            if progress:
                progress(i + 1, total_files, done_bytes, total_bytes)
        for rel, e in the_plan.chmod:
            full = os.path.join(base, rel)
            if not os.path.islink(full) and e.kind != DIR:
                os.chmod(full, e.mode & 0o777, follow_symlinks=False)
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
                    _as_file(store, base, rel, e, result)
                else:
                    result.refused.append((rel, f"symlink target {text!r} points outside the workspace"))
                continue
            _ensure_parents(base, rel)
            full = os.path.join(base, rel)
            _remove(full)
            os.symlink(target, os.fsencode(full))
            created.append(rel)
            result.symlinks += 1
        result.symlinks -= _drop_escaping_links(base, created, result, store, the_plan, outside_symlinks)
        # directory modes last, deepest first, so read-only folders could be filled above
        dirs = [(rel, e) for rel, e in the_plan.mkdir] + [(rel, e) for rel, e in the_plan.chmod if e.kind == DIR]
        for rel, e in sorted(dirs, key=lambda x: -x[0].count("/")):
            full = os.path.join(base, rel)
            if not os.path.islink(full):
                os.chmod(full, e.mode & 0o777, follow_symlinks=False)
                result.chmods += rel in {r for r, _ in the_plan.chmod}
    except OSError as exc:
        raise StoreError(f"restore failed at {exc.filename or base}: {exc.strerror}") from None
    return result


def _as_file(store: ObjectStore, base: str, rel: str, e: Entry, result: RestoreResult) -> None:
    """Write a symlink that points outside as a plain 0644 file holding its target text
    (its blob), never as a link: ``[limits] outside_symlinks = "store"``."""
    _ensure_parents(base, rel)
    _remove(os.path.join(base, rel))
    result.bytes_written += _write_file(store, base, rel, Entry(e.name, FILE, 0o644, e.size, e.hash))
    result.as_files.append(rel)


def _drop_escaping_links(base: str, created: list[str], result: RestoreResult, store: ObjectStore | None = None,
                         the_plan: RestorePlan | None = None, outside_symlinks: str = REFUSE) -> int:
    """Remove created symlinks that resolve outside the workspace once all exist (with
    ``outside_symlinks`` ``"store"``, put a plain file holding the target in their place).

    Each link was checked lexically, but links can chain (``d/q -> ..`` then
    ``r -> d/q/..``), so resolve them for real, and repeat until nothing changes.
    Returns how many were removed.
    """
    entries = {rel: e for rel, e in the_plan.symlink} if the_plan is not None else {}
    root = os.path.realpath(base)
    removed = 0
    remaining = list(created)
    changed = True
    while changed:
        changed = False
        for rel in list(remaining):
            full = os.path.join(base, rel)
            resolved = os.path.realpath(full)
            if resolved != root and not resolved.startswith(root + os.sep):
                os.unlink(full)
                remaining.remove(rel)
                if outside_symlinks == STORE and store is not None and rel in entries:
                    _as_file(store, base, rel, entries[rel], result)
                else:
                    result.refused.append((rel, "symlink resolves outside the workspace through other links"))
                removed += 1
                changed = True
    return removed


def _write_file(store: ObjectStore, base: str, rel: str, e: Entry) -> int:
    """Write one file via a temp file and rename; returns bytes written. The temp name is
    short and fixed-length, so even a 255-byte file name can be restored."""
    full = os.path.join(base, rel)
    directory = os.path.dirname(full)
    tmp = os.path.join(directory, f".vmuser-tmp-{secrets.token_hex(6)}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    fd = os.open(tmp, flags, 0o600)
    written = 0
    try:
        with os.fdopen(fd, "wb") as fh:
            for piece in store.iter_blob(e.hash):
                fh.write(piece)
                written += len(piece)
            os.fchmod(fh.fileno(), e.mode & 0o777)
        if os.path.isdir(full) and not os.path.islink(full):
            shutil.rmtree(full)
        os.replace(tmp, full)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return written
