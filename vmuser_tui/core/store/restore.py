"""Materialize a stored tree onto the live workspace, writing only what differs.

Order (as git's checkout, with tarfile's ``data`` filter's caution): remove what the
target does not have (deepest first), create directories, write changed files to a
temporary file in the same directory and ``rename`` it into place, fix modes, and create
symlinks last, and only those whose target stays inside the workspace. A parent that is
a symlink is replaced by a real directory, never followed; setuid/setgid/sticky bits are
dropped; nothing but regular files, directories and symlinks is created.

Everything that can be checked is checked before the first change (:func:`check`: paths
and the presence of every blob), so a refused restore changes nothing. What can still fail
half-way (I/O errors, a kill) is covered by the caller's restore journal: applying a plan
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
from vmuser_tui.core.pathcheck import RESERVED_NAMES, InvalidPathError, normalize, symlink_stays_inside
from vmuser_tui.core.store.objects import CHUNKS, PACKED, ObjectStore
from vmuser_tui.core.store.scan import TMP_PREFIX
from vmuser_tui.core.store.trees import DIR, FILE, SYMLINK, Entry

Progress = Callable[[int, int, int, int], None]


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
    """Counts of what a restore did; ``refused`` lists ``(path, reason)`` not materialized."""

    written: int = 0
    deleted: int = 0
    dirs: int = 0
    chmods: int = 0
    symlinks: int = 0
    bytes_written: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)


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


def validate(the_plan: RestorePlan) -> None:
    """Refuse a plan with any invalid stored path *before* anything is touched.

    Raises :class:`StoreError`; the workspace is unchanged when it does.
    """
    paths = [*the_plan.delete, *(p for p, _ in the_plan.mkdir), *(p for p, _ in the_plan.write),
             *(p for p, _ in the_plan.chmod), *(p for p, _ in the_plan.symlink)]
    for rel in paths:
        try:
            if normalize(rel) != rel:
                raise InvalidPathError(f"{rel!r} is not in canonical form")
        except InvalidPathError as exc:
            raise StoreError(f"refusing to restore: the checkpoint holds an invalid path ({exc}); nothing was changed") from None


def check_blobs(store: ObjectStore, the_plan: RestorePlan) -> None:
    """Refuse a plan that needs a blob (or a chunk, or a pack) the store lacks, *before*
    anything is touched, so a damaged store cannot leave a half-restored workspace.

    Costs one query per 500 blobs. Raises :class:`StoreError` naming the path and the fix.
    """
    wanted: dict[str, str] = {}
    for rel, e in [*the_plan.write, *the_plan.symlink]:
        wanted.setdefault(e.hash, rel)
    conn = store.conn
    chunks: dict[str, str] = {}
    packs: dict[int, str] = {}
    found: set[str] = set()
    digests = list(wanted)
    for i in range(0, len(digests), 500):
        part = digests[i : i + 500]
        marks = ",".join("?" * len(part))
        sql = f"SELECT hash, codec, pack_id, CASE WHEN codec = ? THEN data END FROM blobs WHERE hash IN ({marks})"
        for digest, codec, pack_id, data in conn.execute(sql, (CHUNKS, *part)):
            found.add(digest)
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


def _present(conn, sql: str, keys: list) -> set:
    """Which of ``keys`` the one-column query ``sql`` (with ``IN ({})``) finds, 500 at a time."""
    out: set = set()
    for i in range(0, len(keys), 500):
        part = keys[i : i + 500]
        out.update(r[0] for r in conn.execute(sql.format(",".join("?" * len(part))), part))
    return out


def check(store: ObjectStore, the_plan: RestorePlan) -> None:
    """Everything :func:`apply` can check before its first change: :func:`validate` and
    :func:`check_blobs`. Raises :class:`StoreError`; the workspace is unchanged when it does."""
    validate(the_plan)
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
) -> RestoreResult:
    """Carry out ``the_plan`` on ``workspace``.

    The plan is checked first (:func:`check`: paths and blobs), so a hostile tree or a
    damaged store changes nothing; ``checked=True`` says the caller has just done that.
    Directories are created owner-writable and get their stored modes last (as tar
    does), so a read-only directory can still be filled. Raises :class:`StoreError` on
    I/O errors, naming the path.
    """
    if not checked:
        check(store, the_plan)
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
            target = store.read_blob(e.hash)
            text = os.fsdecode(target)
            if not symlink_stays_inside(rel, text):
                result.refused.append((rel, f"symlink target {text!r} points outside the workspace"))
                continue
            _ensure_parents(base, rel)
            full = os.path.join(base, rel)
            _remove(full)
            os.symlink(target, os.fsencode(full))
            created.append(rel)
            result.symlinks += 1
        result.symlinks -= _drop_escaping_links(base, created, result)
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


def _drop_escaping_links(base: str, created: list[str], result: RestoreResult) -> int:
    """Remove created symlinks that resolve outside the workspace once all exist.

    Each link was checked lexically, but links can chain (``d/q -> ..`` then
    ``r -> d/q/..``), so resolve them for real, and repeat until nothing changes.
    Returns how many were removed.
    """
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
