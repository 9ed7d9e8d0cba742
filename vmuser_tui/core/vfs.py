"""The virtual filesystem: one validated API over any checkpoint's tree and the live workspace.

Reads (``ls``, ``stat``, ``read``) work on a checkpoint (``at=...``) or the live
workspace; changes (``write``, ``mkdir``, ``mv``, ``rm``) only on the live workspace.
Every path goes through :func:`vmuser_tui.core.pathcheck.normalize` first; writes never
follow a symlink: each parent is checked with ``lstat`` for a clear message, and the change
itself goes through directory descriptors (:mod:`vmuser_tui.core.store.confined`), so a
folder swapped for a link between the check and the change cannot send it outside. Size and
entry limits come from ``[limits]``; each change is logged.
"""

from __future__ import annotations

import os
import stat as statmod
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from vmuser_tui.core import clock, container_user, oplog
from vmuser_tui.core.context import Context
from vmuser_tui.core.errors import (
    InvalidPathError,
    LimitError,
    NotFoundError,
    StateError,
    UsageError,
)
from vmuser_tui.core.models import FileInfo
from vmuser_tui.core.pathcheck import clash, join, normalize, shown
from vmuser_tui.core.store.confined import (
    Confined,
    PathChanged,
    is_dir,
    lstat_at,
    open_regular,
    remove_tree,
    replace_file,
)
from vmuser_tui.core.store.trees import DIR, FILE, SYMLINK

if TYPE_CHECKING:  # pragma: no cover
    from vmuser_tui.core.store.engine_files import EngineFiles

_KIND = {statmod.S_IFDIR: DIR, statmod.S_IFREG: FILE, statmod.S_IFLNK: SYMLINK}


class VirtualFS:
    """Filesystem operations on projects' checkpoints and live workspaces."""

    def __init__(self, ctx: Context, projects, checkpoints):
        self.ctx = ctx
        self.projects = projects
        self.checkpoints = checkpoints

    # -- helpers -----------------------------------------------------------------
    def _workspace(self, project_ref: str) -> tuple[str, Path]:
        project = self.projects.get(project_ref)
        return project.id, self.projects.workspace_dir(project)

    def _engine_files(self, project_ref: str) -> tuple[str, EngineFiles | None]:
        """``(project id, EngineFiles)`` when the project's workspace is a volume on another
        engine (issue 14: every live operation then goes through its helper container), else
        ``(project id, None)``."""
        project = self.projects.get(project_ref)
        if project.engine == "local":
            return project.id, None
        from vmuser_tui.core.store.engine_files import EngineFiles

        ws = self.checkpoints.engine_workspace(project)
        return project.id, EngineFiles.from_config(ws, self.ctx.config, owner=ws.owner)

    def _checkpoint_root(self, project_id: str, at: str) -> str:
        cp = self.checkpoints.get(at)
        if cp.project_id != project_id:
            raise UsageError(f"checkpoint {cp.id} belongs to project {cp.project_id}, not {project_id}")
        return cp.root_tree

    def _safe(self, ws: Path, rel: str, *, parents_must_exist: bool = True) -> str:
        """Absolute path of ``rel`` after checking no parent is a symlink or non-directory."""
        current = os.fspath(ws)
        parts = rel.split("/") if rel else []
        for i, part in enumerate(parts[:-1]):
            current = os.path.join(current, part)
            try:
                st = os.lstat(current)
            except FileNotFoundError:
                if parents_must_exist:
                    raise NotFoundError(f"{'/'.join(parts[: i + 1])}: no such directory; "
                                        "create it with fs mkdir") from None
                return os.path.join(ws, rel)
            if statmod.S_ISLNK(st.st_mode):
                raise InvalidPathError(f"{'/'.join(parts[: i + 1])} is a symlink; "
                                       "vmuser does not write through symlinks")
            if not statmod.S_ISDIR(st.st_mode):
                raise InvalidPathError(f"{'/'.join(parts[: i + 1])} is not a directory")
        return os.path.join(ws, rel) if rel else os.fspath(ws)

    @staticmethod
    def _info_live(rel: str, full: str, dir_fd: int | None = None) -> FileInfo:
        """``rel``'s FileInfo; with ``dir_fd``, ``full`` is its name in that folder (s22:
        looked at through folder descriptors, so a folder swapped for a link to the host
        after :meth:`_safe` looked never shows the host's files)."""
        st = os.stat(full, dir_fd=dir_fd, follow_symlinks=False)
        kind = _KIND.get(statmod.S_IFMT(st.st_mode), "other")
        mtime = clock.iso(datetime.fromtimestamp(st.st_mtime, UTC))
        target = os.readlink(full, dir_fd=dir_fd) if kind == SYMLINK else None
        size = st.st_size if kind != DIR else 0
        return FileInfo(rel, rel.rsplit("/", 1)[-1] if rel else "", kind, size, st.st_mode & 0o777, None, mtime, target)

    def _info_stored(self, rel: str, entry) -> FileInfo:
        target = None
        if entry.kind == SYMLINK:
            target = os.fsdecode(self.ctx.store.read_blob(entry.hash))
        return FileInfo(rel, entry.name, entry.kind, entry.size, entry.mode, entry.hash, None, target)

    def _log(self, operation: str, project_id: str, **details) -> None:
        with self.ctx.db.write() as conn:
            self.projects.touch(conn, project_id)
            oplog.record(conn, operation, project_id=project_id, **details)

    # -- reads -------------------------------------------------------------------
    def ls(self, project_ref: str, path: str = "", *, at: str | None = None) -> list[FileInfo]:
        """Entries of a directory, sorted (directories first, then by name).
        Raises NotFoundError when it does not exist, UsageError when it is a file."""
        rel = normalize(path, allow_root=True)
        if at:
            project_id = self.projects.resolve(project_ref)
            root = self._checkpoint_root(project_id, at)
            entry = self.ctx.store.lookup(root, rel)
            if entry is None:
                raise NotFoundError(f"{rel or '/'}: not in checkpoint {at}")
            if entry.kind != DIR:
                raise UsageError(f"{rel}: not a directory (use fs cat to read a file)")
            out = [self._info_stored(join(rel, e.name), e) for e in self.ctx.store.get_tree(entry.hash)]
        elif (remote := self._engine_files(project_ref)[1]) is not None:
            out = remote.ls(rel)
        else:
            _, ws = self._workspace(project_ref)
            full = self._safe(ws, rel)
            if not os.path.lexists(full):
                raise NotFoundError(f"{rel or '/'}: no such file or directory in the workspace")
            if rel and not statmod.S_ISDIR(os.lstat(full).st_mode):
                raise UsageError(f"{rel}: not a directory (use fs cat to read a file)")
            out = []
            with Confined(ws) as tree:
                try:
                    fd = tree.folder(rel)
                except PathChanged as exc:
                    raise InvalidPathError(f"{rel}: {exc.why}") from None
                with os.scandir(fd) as it:
                    for de in it:
                        if not rel and de.name == ".vmuser":
                            continue
                        out.append(self._info_live(join(rel, de.name), de.name, fd))
        out.sort(key=lambda f: (f.kind != DIR, f.name))
        return out

    def stat(self, project_ref: str, path: str, *, at: str | None = None) -> FileInfo:
        """Metadata of one path. Raises NotFoundError."""
        rel = normalize(path, allow_root=True)
        if at:
            project_id = self.projects.resolve(project_ref)
            entry = self.ctx.store.lookup(self._checkpoint_root(project_id, at), rel)
            if entry is None:
                raise NotFoundError(f"{rel}: not in checkpoint {at}")
            return self._info_stored(rel, entry)
        if (remote := self._engine_files(project_ref)[1]) is not None:
            return remote.stat(rel)
        _, ws = self._workspace(project_ref)
        full = self._safe(ws, rel)
        if not os.path.lexists(full):
            raise NotFoundError(f"{rel}: no such file or directory in the workspace")
        if not rel:
            return self._info_live(rel, full)
        with _confined(ws, rel) as (_tree, dir_fd, name):
            try:
                return self._info_live(rel, name, dir_fd)
            except FileNotFoundError:
                raise NotFoundError(f"{rel}: no such file or directory in the workspace") from None

    def read(self, project_ref: str, path: str, *, at: str | None = None, limit: int | None = None) -> bytes:
        """The bytes of a file (at most ``limit``). Raises NotFoundError, UsageError for directories."""
        rel = normalize(path)
        if at:
            project_id = self.projects.resolve(project_ref)
            entry = self.ctx.store.lookup(self._checkpoint_root(project_id, at), rel)
            if entry is None:
                raise NotFoundError(f"{rel}: not in checkpoint {at}")
            if entry.kind != FILE:
                raise UsageError(f"{rel}: is a {entry.kind}, not a file")
            return self.ctx.store.read_blob(entry.hash, limit=limit)
        if (remote := self._engine_files(project_ref)[1]) is not None:
            return remote.read(rel, limit=limit)
        _, ws = self._workspace(project_ref)
        self._safe(ws, rel)  # its clear messages; the open below goes through folder descriptors
        try:
            # a folder swapped for a link to the host since _safe looked is not followed (s22):
            # the TUI's editor saves what it shows back into the workspace
            with _confined(ws, rel) as (_tree, dir_fd, name):
                fd, st = open_regular(name, dir_fd)
        except FileNotFoundError:
            raise NotFoundError(f"{rel}: no such file in the workspace") from None
        except OSError as exc:
            raise UsageError(f"{rel}: cannot read ({exc.strerror})") from None
        if not statmod.S_ISREG(st.st_mode):
            os.close(fd)
            if statmod.S_ISDIR(st.st_mode):
                raise UsageError(f"{rel}: is a directory (use fs ls)")
            raise UsageError(f"{rel}: is not a regular file (a fifo, socket or device); only files can be read")
        with os.fdopen(fd, "rb") as fh:
            return fh.read(limit if limit is not None else -1)

    # -- changes (live workspace only) ----------------------------------------------
    def _check_entries(self, parent: str | int, parent_rel: str, name: str | None = None) -> None:
        """Before a new entry ``name`` is made in a folder (a path, or a descriptor): refuse
        past ``[limits] max_entries_per_dir``, and when the folder holds a look-alike of
        ``name`` (a non-NFC spelling that folds to it: two files a user cannot tell apart).
        One listing."""
        limit = self.ctx.config.get("limits", "max_entries_per_dir")
        names = os.listdir(parent)
        if len(names) >= limit:
            raise LimitError(f"{parent_rel or '/'} already holds {len(names)} entries "
                             f"([limits] max_entries_per_dir = {limit})")
        if name is None:
            return
        other = clash(name, names)
        if other is not None:
            where = join(parent_rel, name)
            raise InvalidPathError(f"{where}: the folder already holds {shown(other)}, a non-NFC name that folds to "
                                   f"{name!r}; rename that one first (vmuser never makes a look-alike sibling)")

    def write(self, project_ref: str, path: str, data: bytes, *, mode: int | None = None,
              parents: bool = True) -> FileInfo:
        """Create or replace a file atomically (temp file + rename), creating missing parent
        folders with ``parents``. Raises LimitError past ``[limits] max_file_size`` before
        anything is written."""
        rel = normalize(path)
        project_id, remote = self._engine_files(project_ref)
        self.ctx.access.check(project_id, what="change the workspace")
        limit = self.ctx.config.get("limits", "max_file_size")
        if len(data) > limit:
            raise LimitError(f"{rel}: {len(data):,} bytes is over [limits] max_file_size ({limit:,} bytes)")
        if remote is not None:
            try:
                existed = remote.stat(rel) is not None
            except NotFoundError:
                existed = False
            info = remote.write(rel, data, mode=mode, parents=parents)
            self._log("fs.write", project_id, path=rel, bytes=len(data), created=not existed)
            return info
        project_id, ws = self._workspace(project_ref)
        parent = rel.rpartition("/")[0]
        if parents and parent and not os.path.isdir(self._safe(ws, parent, parents_must_exist=False)):
            self.mkdir(project_id, parent, parents=True)
        full = self._safe(ws, rel)
        with _confined(ws, rel) as (tree, fd, name):
            st = lstat_at(fd, name)
            existed = st is not None
            if is_dir(st):
                raise UsageError(f"{rel}: is a directory")
            if not existed:
                self._check_entries(fd, rel.rpartition("/")[0], name)
            def fill(out: int) -> None:
                view = memoryview(data)
                while view:
                    view = view[os.write(out, view) :]
                os.fchmod(out, (mode if mode is not None else 0o644) & 0o777)
                self._give(ws, out)

            replace_file(fd, name, fill)
        self._log("fs.write", project_id, path=rel, bytes=len(data), created=not existed)
        return self._info_live(rel, full)

    @staticmethod
    def _give(ws, fd: int) -> None:
        """What vmuser (as root) just made, open as ``fd``, goes to the workspace owner, the
        session's user (see :func:`container_user.workspace_owner`), so it can edit it."""
        owner = container_user.workspace_owner(ws)
        if owner is not None:
            os.fchown(fd, *owner)

    def mkdir(self, project_ref: str, path: str, *, parents: bool = True) -> FileInfo:
        """Create a directory (and its parents with ``parents``)."""
        rel = normalize(path)
        project_id, remote = self._engine_files(project_ref)
        self.ctx.access.check(project_id, what="change the workspace")
        if remote is not None:
            info = remote.mkdir(rel, parents=parents)
            self._log("fs.mkdir", project_id, path=rel)
            return info
        project_id, ws = self._workspace(project_ref)
        full = self._safe(ws, rel, parents_must_exist=not parents)
        if os.path.lexists(full):
            if os.path.isdir(full) and not os.path.islink(full):
                return self._info_live(rel, full)
            raise UsageError(f"{rel}: exists and is not a directory")
        with Confined(ws) as tree:
            done: list[str] = []
            try:
                fd = tree.root
                for part in rel.split("/"):
                    done.append(part)
                    st = lstat_at(fd, part)
                    if st is not None and statmod.S_ISLNK(st.st_mode):
                        raise InvalidPathError(f"{'/'.join(done)} is a symlink; vmuser does not write through symlinks")
                    if st is None:
                        self._check_entries(fd, "/".join(done[:-1]), part)
                        os.mkdir(part, 0o755, dir_fd=fd)
                    fd = tree.folder("/".join(done))
                    if st is None:
                        self._give(ws, fd)
            except PathChanged as exc:
                raise InvalidPathError(f"{'/'.join(done)}: {exc.why}") from None
        self._log("fs.mkdir", project_id, path=rel)
        return self._info_live(rel, full)

    def mv(self, project_ref: str, src: str, dst: str) -> FileInfo:
        """Rename a file or directory inside the workspace; refuses to overwrite."""
        a, b = normalize(src), normalize(dst)
        if b == a or b.startswith(a + "/"):
            raise UsageError(f"cannot move {a} into itself")
        project_id, remote = self._engine_files(project_ref)
        self.ctx.access.check(project_id, what="change the workspace")
        if remote is not None:
            info = remote.mv(a, b)
            self._log("fs.mv", project_id, src=a, dst=b)
            return info
        project_id, ws = self._workspace(project_ref)
        fa, fb = self._safe(ws, a), self._safe(ws, b)
        if not os.path.lexists(fa):
            raise NotFoundError(f"{a}: no such file or directory in the workspace")
        if os.path.lexists(fb):
            raise UsageError(f"{b}: already exists; remove it first or choose another name")
        with Confined(ws) as tree:
            try:
                pa, na = tree.parent(a)
                pb, nb = tree.parent(b)
            except PathChanged as exc:
                raise InvalidPathError(f"{a} -> {b}: {exc.why}") from None
            if lstat_at(pa, na) is None:
                raise NotFoundError(f"{a}: no such file or directory in the workspace")
            if lstat_at(pb, nb) is not None:
                raise UsageError(f"{b}: already exists; remove it first or choose another name")
            self._check_entries(pb, b.rpartition("/")[0], nb)
            os.rename(na, nb, src_dir_fd=pa, dst_dir_fd=pb)
        self._log("fs.mv", project_id, src=a, dst=b)
        return self._info_live(b, fb)

    def rm(self, project_ref: str, path: str, *, recursive: bool = False) -> None:
        """Remove a file, symlink or empty directory; a non-empty one needs ``recursive``."""
        rel = normalize(path)
        project_id, remote = self._engine_files(project_ref)
        self.ctx.access.check(project_id, what="change the workspace")
        if remote is not None:
            remote.rm(rel, recursive=recursive)
            self._log("fs.rm", project_id, path=rel, recursive=recursive)
            return
        project_id, ws = self._workspace(project_ref)
        full = self._safe(ws, rel)
        if not os.path.lexists(full):
            raise NotFoundError(f"{rel}: no such file or directory in the workspace")
        with _confined(ws, rel) as (tree, fd, name):
            st = lstat_at(fd, name)
            if st is None:
                raise NotFoundError(f"{rel}: no such file or directory in the workspace")
            if is_dir(st):
                if recursive:
                    remove_tree(fd, name)
                else:
                    try:
                        os.rmdir(name, dir_fd=fd)
                    except OSError:
                        raise StateError(f"{rel}: directory is not empty; "
                                         "use -r to remove it and its contents") from None
            else:
                os.unlink(name, dir_fd=fd)
        self._log("fs.rm", project_id, path=rel, recursive=recursive)


class _confined:
    """``with _confined(ws, rel) as (tree, fd, name)``: the workspace opened confined and
    ``rel``'s folder descriptor; a folder on the way that is not one (swapped for a link
    since :meth:`VirtualFS._safe` looked) becomes :class:`InvalidPathError`."""

    def __init__(self, ws: Path, rel: str):
        self.ws, self.rel = ws, rel

    def __enter__(self):
        self.tree = Confined(self.ws)
        try:
            fd, name = self.tree.parent(self.rel)
        except PathChanged as exc:
            self.tree.close()
            raise InvalidPathError(f"{self.rel}: {exc.why}") from None
        return self.tree, fd, name

    def __exit__(self, *exc) -> None:
        self.tree.close()
