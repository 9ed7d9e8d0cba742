"""Copy a host directory into a new managed workspace (``project create --import DIR``).

Two passes, as tar's ``data`` filter would want: first the whole source is looked at and
judged without writing anything (names, kinds, symlink targets, ``[limits]``), so a
refused import leaves nothing behind and says why in one line; then it is copied.

What is copied: regular files (content and permission bits, never setuid/setgid/sticky;
a hard link becomes an independent copy), folders, and symlinks that stay inside the
imported folder. A symlink pointing outside is refused, or with ``[limits]
outside_symlinks = "store"`` copied as a plain file holding its target text. Fifos,
sockets and devices are refused: a workspace holds only files, folders and symlinks.
The copy never follows a link: sources are opened with ``O_NOFOLLOW`` and re-checked, so
a file swapped for a link or a fifo between the two passes fails the import.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat as statmod
from dataclasses import dataclass, field
from pathlib import Path

from vmuser_tui.core.errors import InvalidPathError, LimitError, StoreError, UsageError
from vmuser_tui.core.pathcheck import normalize, symlink_stays_inside
from vmuser_tui.core.store.smallfiles import is_at

_KIND_NAMES = {statmod.S_IFIFO: "a fifo", statmod.S_IFSOCK: "a socket", statmod.S_IFCHR: "a character device",
               statmod.S_IFBLK: "a block device"}


@dataclass
class ImportPlan:
    """What an import will create, by workspace-relative path: folders (with modes),
    files ``(rel, size, mode)``, links ``(rel, target bytes)`` and links to write as
    plain files (``as_files``)."""

    dirs: list[tuple[str, int]] = field(default_factory=list)
    files: list[tuple[str, int, int]] = field(default_factory=list)
    links: list[tuple[str, bytes]] = field(default_factory=list)
    as_files: list[tuple[str, bytes]] = field(default_factory=list)
    total_bytes: int = 0


def plan_import(src: Path, *, max_file_size: int, max_entries_per_dir: int, max_total: int,
                outside_symlinks: str = "refuse") -> ImportPlan:
    """Judge the whole of ``src`` before anything is written. Raises :class:`LimitError`
    (a file, a folder or the total over ``[limits]``) or :class:`UsageError` (a name
    vmuser cannot store, a fifo/socket/device, a symlink pointing outside), each one line
    naming the path and the fix."""
    base = os.fspath(src)
    root_real = os.path.realpath(base)
    where = f"cannot import {src}"
    out = ImportPlan()
    stack = [""]
    while stack:
        rel_dir = stack.pop()
        abs_dir = os.path.join(base, rel_dir) if rel_dir else base
        try:
            with os.scandir(abs_dir) as it:
                names = sorted(de.name for de in it)
        except OSError as exc:
            raise UsageError(f"{where}: cannot list {rel_dir or '.'} ({exc.strerror}); check permissions") from None
        if len(names) > max_entries_per_dir:
            raise LimitError(f"{where}: {rel_dir or 'its top folder'} holds {len(names):,} entries, over [limits] "
                             f"max_entries_per_dir ({max_entries_per_dir:,}); nothing was copied")
        for name in names:
            rel = f"{rel_dir}/{name}" if rel_dir else name
            try:
                if normalize(rel) != rel:
                    raise InvalidPathError(f"{rel!a} is not NFC-normalized")
            except InvalidPathError as exc:
                raise UsageError(f"{where}: {exc}; rename it first (nothing was copied)") from None
            full = os.path.join(base, rel)
            try:
                st = os.lstat(full)
            except OSError as exc:
                raise UsageError(f"{where}: cannot read {rel} ({exc.strerror}); nothing was copied") from None
            mode = st.st_mode
            if statmod.S_ISDIR(mode):
                out.dirs.append((rel, statmod.S_IMODE(mode) & 0o777))
                stack.append(rel)
            elif statmod.S_ISREG(mode):
                if st.st_size > max_file_size:
                    raise LimitError(f"{where}: {rel} holds {st.st_size:,} bytes, over [limits] max_file_size "
                                     f"({max_file_size:,} bytes); nothing was copied")
                out.total_bytes += st.st_size
                if out.total_bytes > max_total:
                    raise LimitError(f"{where}: its files hold more than {max_total:,} bytes, over [limits] "
                                     "max_import_size; nothing was copied")
                out.files.append((rel, st.st_size, statmod.S_IMODE(mode) & 0o777))
            elif statmod.S_ISLNK(mode):
                target = os.readlink(os.fsencode(full))
                text = os.fsdecode(target)
                # lexically, and through the links it passes (a chain such as r -> d/q/.. with d/q -> ..)
                resolved = os.path.realpath(full)
                inside = symlink_stays_inside(rel, text) and (
                    resolved == root_real or resolved.startswith(root_real + os.sep))
                if inside:
                    out.links.append((rel, target))
                elif outside_symlinks == "store":
                    out.as_files.append((rel, target))
                    out.total_bytes += len(target)
                else:
                    raise UsageError(f"{where}: {rel} is a symlink to {text!r}, outside the imported folder; "
                                     "remove it, or set [limits] outside_symlinks = \"store\" to import it as a "
                                     "plain file (nothing was copied)")
            else:
                kind = _KIND_NAMES.get(statmod.S_IFMT(mode), "not a file")
                raise UsageError(f"{where}: {rel} is {kind}; vmuser imports only files, folders and symlinks: "
                                 "remove it first (nothing was copied)")
    return out


def copy_import(src: Path, dest: Path, the_plan: ImportPlan, *, max_file_size: int) -> None:
    """Create ``dest`` (it must not exist) and copy ``the_plan`` from ``src`` into it,
    never following a link on either side. On any failure ``dest`` is removed and a
    :class:`UsageError` names the path."""
    # the real path: each file's kernel name is compared with it (is_at), see _copy_file
    base, out = os.path.realpath(src), os.fspath(dest)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    os.mkdir(out, 0o700)
    try:
        for rel, _ in the_plan.dirs:
            os.mkdir(os.path.join(out, rel), 0o700)  # owner-writable until filled; modes are set last
        for rel, size, mode in the_plan.files:
            _copy_file(os.path.join(base, rel), os.path.join(out, rel), rel, mode, max(size, max_file_size))
        for rel, target in the_plan.as_files:
            _write_new(os.path.join(out, rel), target, 0o644)
        for rel, target in the_plan.links:
            os.symlink(target, os.fsencode(os.path.join(out, rel)))
        root = os.path.realpath(out)
        for rel, _ in the_plan.links:  # the source may have changed since it was judged
            resolved = os.path.realpath(os.path.join(out, rel))
            if resolved != root and not resolved.startswith(root + os.sep):
                raise UsageError(f"cannot import {src}: {rel} resolves outside the workspace after copying "
                                 "(did the source change meanwhile?); nothing was kept")
        for rel, mode in sorted(the_plan.dirs, key=lambda d: -d[0].count("/")):
            os.chmod(os.path.join(out, rel), mode, follow_symlinks=False)
        os.chmod(out, 0o755)
    except BaseException as exc:
        shutil.rmtree(out, ignore_errors=True)
        # a full disk is the data dir's, not the source's: the fix is free space, not permissions
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise StoreError(f"disk full while copying {src} into {os.path.dirname(out)}; free space there and try "
                             "again (nothing was kept)") from None
        if isinstance(exc, OSError):
            raise UsageError(f"cannot copy {src} into the workspace ({exc.strerror or exc}: "
                             f"{exc.filename or src}); check permissions (nothing was kept)") from None
        raise


def _copy_file(source: str, target: str, rel: str, mode: int, limit: int) -> None:
    """Copy one regular file without following links (``O_NOFOLLOW``; ``O_NONBLOCK`` so a
    fifo swapped in meanwhile cannot hang the open), at most ``limit`` bytes."""
    fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        st = os.fstat(fd)
        if not statmod.S_ISREG(st.st_mode):
            raise UsageError(f"cannot import: {rel} is no longer a regular file (did the source change meanwhile?)")
        # O_NOFOLLOW guards the last name only: a folder on the way swapped for a link since
        # the source was judged would copy a host file in (s22). ``source`` has no link in it.
        if not is_at(fd, source):
            raise UsageError(f"cannot import: a folder on the path of {rel} changed meanwhile (it is a link now, "
                             "or was moved); nothing was copied")
        out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            copied = 0
            while True:
                piece = os.read(fd, 1 << 20)
                if not piece:
                    break
                copied += len(piece)
                if copied > limit:
                    raise LimitError(f"cannot import: {rel} grew past [limits] max_file_size while being copied")
                _write_all(out, piece)
            os.fchmod(out, mode & 0o777)  # permission bits only: never setuid, setgid or sticky
            os.utime(out, ns=(st.st_atime_ns, st.st_mtime_ns))
        finally:
            os.close(out)
    finally:
        os.close(fd)


def _write_new(target: str, data: bytes, mode: int) -> None:
    """Create ``target`` (never through a link) holding ``data``."""
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    try:
        _write_all(fd, data)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    """``os.write`` until every byte is written (it may write fewer)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
