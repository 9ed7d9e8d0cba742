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


def apply(
    store: ObjectStore,
    workspace: Path,
    the_plan: RestorePlan,
    *,
    progress: Progress | None = None,
) -> RestoreResult:
    """Carry out ``the_plan`` on ``workspace``. Raises :class:`StoreError` on I/O errors
    (naming the path); what was done before the error stays done and is reported by the
    caller's next diff."""
    base = os.fspath(workspace)
    result = RestoreResult()
    total_files = len(the_plan.write)
    total_bytes = sum(e.size for _, e in the_plan.write)
    done_bytes = 0
    try:
        for rel in the_plan.delete:
            _remove(os.path.join(base, rel))
            result.deleted += 1
        for rel, e in the_plan.mkdir:
            normalize(rel)
            _ensure_parents(base, rel)
            full = os.path.join(base, rel)
            _remove(full)
            os.mkdir(full, 0o700)
            os.chmod(full, e.mode & 0o777, follow_symlinks=False)
            result.dirs += 1
        for i, (rel, e) in enumerate(the_plan.write):
            normalize(rel)
            _ensure_parents(base, rel)
            result.bytes_written += _write_file(store, base, rel, e)
            result.written += 1
            done_bytes += e.size
            if progress:
                progress(i + 1, total_files, done_bytes, total_bytes)
        for rel, e in the_plan.chmod:
            full = os.path.join(base, rel)
            if not os.path.islink(full):
                os.chmod(full, e.mode & 0o777, follow_symlinks=False)
                result.chmods += 1
        for rel, e in the_plan.symlink:
            normalize(rel)
            target = store.read_blob(e.hash)
            text = os.fsdecode(target)
            if not symlink_stays_inside(rel, text):
                result.refused.append((rel, f"symlink target {text!r} points outside the workspace"))
                continue
            _ensure_parents(base, rel)
            full = os.path.join(base, rel)
            _remove(full)
            os.symlink(target, os.fsencode(full))
            result.symlinks += 1
    except InvalidPathError as exc:
        raise StoreError(f"refusing to restore an invalid stored path: {exc}") from None
    except OSError as exc:
        raise StoreError(f"restore failed at {exc.filename or base}: {exc.strerror}") from None
    return result


def _write_file(store: ObjectStore, base: str, rel: str, e: Entry) -> int:
    """Write one file via a temp file and rename; returns bytes written."""
    full = os.path.join(base, rel)
    directory, name = os.path.split(full)
    tmp = os.path.join(directory, f".{name}.vmuser-tmp-{os.getpid()}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW
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
