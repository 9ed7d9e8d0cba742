"""Materialize a stored tree onto the live workspace, writing only what differs.

Order (as git's checkout, with tarfile's ``data`` filter's caution): remove what the
target does not have (deepest first), create directories, write changed files to a
temporary file in the same directory and ``rename`` it into place, fix modes, and create
symlinks last, and only those whose target stays inside the workspace. A parent that is
a symlink is replaced by a real directory, never followed; setuid/setgid/sticky bits are
dropped; nothing but regular files, directories and symlinks is created.
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
from vmuser_tui.core.pathcheck import InvalidPathError, normalize, symlink_stays_inside
from vmuser_tui.core.store.objects import ObjectStore
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


def apply(
    store: ObjectStore,
    workspace: Path,
    the_plan: RestorePlan,
    *,
    progress: Progress | None = None,
) -> RestoreResult:
    """Carry out ``the_plan`` on ``workspace``.

    The plan is validated first (:func:`validate`), so a hostile tree changes nothing.
    Directories are created owner-writable and get their stored modes last (as tar
    does), so a read-only directory can still be filled. Raises :class:`StoreError` on
    I/O errors, naming the path.
    """
    validate(the_plan)
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
