"""Changes to a workspace that cannot leave it: every path is resolved from the workspace
root with directory file descriptors, one component at a time, never following a symlink
(``O_NOFOLLOW | O_DIRECTORY`` at each step, then ``unlinkat``/``mkdirat``/``renameat``/
``symlinkat`` on the parent's descriptor), as ``shutil.rmtree`` does to stay safe.

A session's container is untrusted and shares the workspace: it may swap a folder for a
symlink to the host at any moment. With path strings, a check (``lstat``) and the change
that follows it race; with descriptors, a folder is pinned once opened (renamed
meanwhile, it is still the same folder, still inside the workspace), and a component that
is a link when it is opened fails with :class:`PathChanged`. Used by restores, their
rollbacks and the virtual filesystem's changes.
"""

from __future__ import annotations

import errno
import os
import stat as statmod

from vmuser_tui.core.pathcheck import shown
from vmuser_tui.core.store.scan import TMP_PREFIX


class PathChanged(Exception):
    """A folder on a path is not (or no longer) a real folder: a link or a file took its
    place, or (``gone``) it does not exist. ``why`` is said to the user."""

    def __init__(self, why: str, gone: bool = False):
        super().__init__(why)
        self.why = why
        self.gone = gone


class Confined:
    """Descriptor-based access to the folder ``base`` (a workspace).

    :meth:`folder` and :meth:`parent` open folders one component at a time with
    ``O_NOFOLLOW | O_DIRECTORY``. Up to :attr:`CACHE` recent folder descriptors are kept
    (a restore writes files in path order). Use as a context manager, or call :meth:`close`.
    ``owner``: ``(uid, gid)`` for what is made here, when vmuser runs as root and the
    session's user must be able to edit it (see :func:`vmuser_tui.core.container_user.workspace_owner`).
    Raises ``OSError`` when ``base`` itself cannot be opened.
    """

    CACHE = 64

    def __init__(self, base: str | os.PathLike, owner: tuple[int, int] | None = None):
        self.base = os.fspath(base)
        self.owner = owner  # (uid, gid) that folders made by :meth:`folder` get (vmuser as root)
        self.root = os.open(self.base, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        self._fds: dict[str, int] = {}

    def __enter__(self) -> Confined:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Close every descriptor."""
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
        os.close(self.root)

    def forget(self, rel: str) -> None:
        """Drop cached descriptors at and below ``rel`` (it was removed or replaced)."""
        for key in [k for k in self._fds if k == rel or k.startswith(rel + "/")]:
            os.close(self._fds.pop(key))

    def folder(self, rel_dir: str, *, create: bool = False) -> int:
        """A descriptor of the folder ``rel_dir`` ('' is the root). With ``create``, missing
        folders are made (0755). Raises :class:`PathChanged` when a component is a symlink
        or not a folder, or (without ``create``) missing."""
        if not rel_dir:
            return self.root
        fd = self._fds.get(rel_dir)
        if fd is not None:
            return fd
        parent_rel, _, name = rel_dir.rpartition("/")
        parent = self.folder(parent_rel, create=create)
        flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(name, flags, dir_fd=parent)
        except FileNotFoundError:
            if not create:
                raise PathChanged(f"its folder {shown(rel_dir)} does not exist", gone=True) from None
            try:
                os.mkdir(name, 0o755, dir_fd=parent)
                fd = os.open(name, flags, dir_fd=parent)
                if self.owner is not None:
                    os.fchown(fd, *self.owner)
            except OSError as exc:
                raise PathChanged(f"its folder {shown(rel_dir)} changed meanwhile ({exc.strerror})") from None
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise PathChanged(f"{shown(rel_dir)} is not a folder (a link or a file is there); "
                                  "nothing was written through it") from None
            raise
        if len(self._fds) >= self.CACHE:
            os.close(self._fds.pop(next(iter(self._fds))))
        self._fds[rel_dir] = fd
        return fd

    def parent(self, rel: str, *, create: bool = False) -> tuple[int, str]:
        """``(descriptor of the folder holding rel, rel's last name)``; see :meth:`folder`."""
        parent_rel, _, name = rel.rpartition("/")
        return self.folder(parent_rel, create=create), name

    def lstat(self, rel: str) -> os.stat_result | None:
        """``lstat`` of ``rel`` through its folder's descriptor; None when missing.
        Raises :class:`PathChanged` when a folder on the way is not a folder."""
        fd, name = self.parent(rel)
        return lstat_at(fd, name)


def give(fd: int, name: str | None, owner: tuple[int, int] | None) -> None:
    """Give what was just made (``name`` in folder ``fd``, or the open file ``fd`` itself
    when ``name`` is None) to ``owner``; nothing when None. Never follows a link."""
    if owner is None:
        return
    if name is None:
        os.fchown(fd, *owner)
    else:
        os.chown(name, *owner, dir_fd=fd, follow_symlinks=False)


def replace_file(fd: int, name: str, fill, *, before_rename=None) -> None:
    """Write the file ``name`` in folder ``fd`` whole or not at all: ``fill(out_fd)``
    writes a temp file beside it (``.vmuser-tmp-`` and 12 hex digits: short, so even a
    255-byte name works; the start-up sweep knows the shape), ``before_rename()`` may make
    room, then ``renameat`` puts it in place (replacing a file or a link, never following
    it). On any error the temp file is removed and the error propagates."""
    tmp = f"{TMP_PREFIX}{os.urandom(6).hex()}"  # (secrets.token_hex, without importing secrets)
    out = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=fd)
    try:
        try:
            fill(out)
        finally:
            os.close(out)
        if before_rename is not None:
            before_rename()
        os.rename(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)
    except BaseException:
        try:
            os.unlink(tmp, dir_fd=fd)
        except OSError:
            pass
        raise


def open_regular(path: str, dir_fd: int | None = None) -> tuple[int, os.stat_result]:
    """Open ``path`` (a name in the folder ``dir_fd``, when given) to read it, never
    following a link and never blocking on a fifo or a device a session put there
    (``O_NONBLOCK``: opening a fifo for reading would wait for a writer for ever); returns
    ``(fd, its fstat)``. The caller checks the kind (``stat.S_ISREG``) and closes the
    descriptor. Raises ``OSError`` as ``os.open`` does."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    try:
        st = os.fstat(fd)
        if statmod.S_ISREG(st.st_mode):
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd, st


def lstat_at(fd: int, name: str) -> os.stat_result | None:
    """``lstat`` of ``name`` in the folder ``fd``; None when it does not exist."""
    try:
        return os.stat(name, dir_fd=fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def remove_tree(fd: int, name: str) -> None:
    """Remove the folder ``name`` in folder ``fd`` and everything in it, following no link
    (``shutil.rmtree`` with ``dir_fd``, which walks with descriptors on Linux)."""
    import shutil

    shutil.rmtree(name, dir_fd=fd)


def is_dir(st: os.stat_result | None) -> bool:
    return st is not None and statmod.S_ISDIR(st.st_mode)
