"""Which folders may be a project's workspace, and what a capture must never take in.

A workspace is bind-mounted into an untrusted container and is what a restore rewrites,
so ``project create`` refuses (one :class:`UsageError` line naming the fix):

- system folders and pseudo-filesystems: ``/``, ``/etc``, ``/usr``, ``/proc`` ... (see
  :data:`SYSTEM_TREES`, :data:`SYSTEM_ROOTS`) and anything on a proc/sysfs/devtmpfs/cgroup
  mount (:data:`PSEUDO_FS`, read from ``/proc/self/mountinfo``), after symlinks are
  resolved (``/tmp/link -> /etc`` is ``/etc``);
- vmuser's data directory, any folder holding it, and any folder inside it other than the
  managed ``workspaces/<project-id>`` ones (vmuser makes those itself);
- a folder inside another project's workspace, or holding one (nesting, both directions).

**Refuse, not exclude, for a workspace holding the data dir.** Excluding the data dir
from checkpoints would keep restores off the database, but the folder would still be
mounted into the project's containers: code in a session could read every project's
stored files (secrets included) and rewrite the database that records what it did. No
exclusion can take a folder out of a bind mount, so such a workspace is refused; the fix
is a subfolder, or moving the data dir (``--data-dir``/``VMUSER_DATA_DIR``).

Databases made by older versions may already hold such workspaces, and a data dir can be
moved into a workspace later, so captures also leave out (for every checkpoint kind) the
data dirs and other projects' workspaces that lie inside a workspace:
:func:`excluded_inside`, applied by ``Checkpoints.ignore_rules``.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

from vmuser_tui.core.errors import UsageError

#: Folders refused as a workspace together with everything below them.
SYSTEM_TREES = ("/bin", "/boot", "/dev", "/etc", "/proc", "/sbin", "/sys", "/usr")
#: Folders refused themselves (their subfolders may be a user's: /home/me, /var/www/site).
SYSTEM_ROOTS = ("/", "/home", "/media", "/mnt", "/opt", "/run", "/srv", "/tmp", "/var")
_LIB = re.compile(r"^/lib(32|64|x32)?(/|$)")
#: Filesystem types that hold no user files (kernel views, devices, control groups).
PSEUDO_FS = frozenset({
    "proc", "sysfs", "devtmpfs", "devpts", "cgroup", "cgroup2", "securityfs", "debugfs", "tracefs", "pstore",
    "bpf", "mqueue", "hugetlbfs", "configfs", "fusectl", "binfmt_misc", "efivarfs", "rpc_pipefs", "nsfs",
    "selinuxfs",
})
DB_NAME = "vmuser.db"
_OWN = "give a project folder of your own (e.g. mkdir -p ~/projects/NAME), or leave out --workspace for a managed one"


def _inside(path: str, root: str) -> bool:
    """True when ``path`` is ``root`` or below it (both absolute, normalized)."""
    return path == root or path.startswith(root.rstrip("/") + "/")


def mount_fstype(path: str, mountinfo: str | None = None) -> str | None:
    """The filesystem type of the mount holding absolute ``path`` (the longest mount
    point above it in ``/proc/self/mountinfo``, the last one listed winning), or None
    where that cannot be read. ``mountinfo``: the file's text (tests pass their own)."""
    if mountinfo is None:
        try:
            with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as fh:
                mountinfo = fh.read()
        except OSError:
            return None
    best, fstype = -1, None
    for line in mountinfo.splitlines():
        fields = line.split()
        if "-" not in fields or len(fields) < 5:
            continue
        # mount points escape space, tab, newline and backslash as octal (\040)
        point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])
        after = fields[fields.index("-") + 1:]
        if after and _inside(path, point) and len(point) >= best:
            best, fstype = len(point), after[0]
    return fstype


def system_reason(real: str, mountinfo: str | None = None) -> str | None:
    """Why resolved path ``real`` cannot be a workspace (a system folder, a pseudo
    filesystem), or None when it may be."""
    if real in SYSTEM_ROOTS or any(_inside(real, t) for t in SYSTEM_TREES) or _LIB.match(real):
        return "it is a system folder"
    fstype = mount_fstype(real, mountinfo)
    if fstype in PSEUDO_FS:
        return f"it is on a {fstype} filesystem (a kernel view, not a folder of files)"
    return None


def looks_like_data_dir(folder: str | os.PathLike) -> bool:
    """True when ``folder`` holds a ``vmuser.db`` that is an SQLite file with vmuser's
    tables (``projects`` and ``checkpoints``), or an SQLite file whose tables cannot be
    read (then it may well be one: err on the side of refusing)."""
    db = os.path.join(folder, DB_NAME)
    try:
        with open(db, "rb") as fh:
            if fh.read(16) != b"SQLite format 3\x00":
                return False
    except OSError:
        return False
    try:
        conn = sqlite3.connect(f"file:{Path(db).as_posix()}?mode=ro", uri=True, timeout=1)
        try:
            names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            conn.close()
    except sqlite3.Error:
        return True
    return {"projects", "checkpoints"} <= names


def known_data_dirs(current: str | os.PathLike) -> list[str]:
    """Resolved paths of the vmuser data dirs this process can name: ``current`` (the one
    in use) and the platform default (``~/.local/share/vmuser``) when it holds a vmuser
    database. Callers also test the folders themselves with :func:`looks_like_data_dir`."""
    out = [os.path.realpath(current)]
    from vmuser_tui.core.config import default_data_dir

    default = os.path.realpath(default_data_dir())
    if default not in out and looks_like_data_dir(default):
        out.append(default)
    return out


def _holds(outer: str, inner: str) -> bool:
    """True when folder ``inner`` is ``outer`` or lies below it: by resolved path, or by
    identity (device and inode) for a folder seen through a bind mount or a second name."""
    if _inside(inner, outer):
        return True
    try:
        target = os.stat(outer)
    except OSError:
        return False
    probe = inner
    while True:
        try:
            st = os.stat(probe)
        except OSError:
            st = None
        if st is not None and (st.st_dev, st.st_ino) == (target.st_dev, target.st_ino):
            return True
        parent = os.path.dirname(probe)
        if parent == probe:
            return False
        probe = parent


def _named(given: str | os.PathLike[str], real: str) -> str:
    given = os.fspath(given)
    return given if os.path.abspath(os.path.expanduser(given)) == real else f"{given} ({real})"


def check_workspace(given: str | os.PathLike, data_dir: str | os.PathLike,
                    projects: list[tuple[str, str, str]]) -> Path:
    """The resolved workspace folder for ``project create --workspace given``, or a
    :class:`UsageError` saying why not and what to do. ``data_dir``: the data dir in use;
    ``projects``: ``(id, name, workspace)`` of every project. The caller has checked that
    ``given`` is a directory."""
    real = os.path.realpath(os.path.expanduser(os.fspath(given)))
    what = f"refusing workspace {_named(given, real)}"
    why = system_reason(real)
    if why:
        raise UsageError(f"{what}: {why}; {_OWN}")
    data_dirs = known_data_dirs(data_dir)
    if real in data_dirs or looks_like_data_dir(real):
        raise UsageError(f"{what}: it is vmuser's data directory; {_OWN}")
    for d in data_dirs:
        if _holds(real, d):
            raise UsageError(f"{what}: it holds vmuser's data directory ({d}), which its sessions could then read "
                             "and its restores roll back; give a subfolder that does not hold it, or move the data "
                             "directory elsewhere (--data-dir or VMUSER_DATA_DIR)")
    for pid, name, ws in sorted(projects):
        other = os.path.realpath(ws)
        if real == other:
            raise UsageError(f"{what}: it is the workspace of project {pid} ({name}); use that project, "
                             "or give another folder")
        if _inside(real, other):
            raise UsageError(f"{what}: it is inside the workspace of project {pid} ({name}, {other}), whose "
                             "restores would overwrite it; give a folder outside it")
        if _inside(other, real):
            raise UsageError(f"{what}: it holds the workspace of project {pid} ({name}, {other}), and restoring "
                             "it would delete that project's files; give a folder that does not hold it")
    for d in data_dirs:
        if _holds(d, real):
            raise UsageError(f"{what}: it is inside vmuser's data directory ({d}); {_OWN}")
    probe = os.path.dirname(real)
    while probe != os.path.dirname(probe):  # another vmuser's data dir above it
        if looks_like_data_dir(probe):
            raise UsageError(f"{what}: it is inside a vmuser data directory ({probe}); {_OWN}")
        probe = os.path.dirname(probe)
    return Path(real)


def check_import_source(given: str | os.PathLike, data_dir: str | os.PathLike) -> None:
    """Raise :class:`UsageError` when ``project create --import given`` would copy a
    vmuser data dir (its live ``vmuser.db`` and ``-wal``): ``given`` is one, or holds the
    one in use. Called before anything is copied."""
    real = os.path.realpath(os.path.expanduser(os.fspath(given)))
    what = f"refusing to import {_named(given, real)}"
    if looks_like_data_dir(real):
        raise UsageError(f"{what}: it is a vmuser data directory with its live database; import a project "
                         "folder instead (nothing was copied)")
    for d in known_data_dirs(data_dir):
        if _holds(real, d):
            if real == d:
                raise UsageError(f"{what}: it is vmuser's data directory; import a project folder instead "
                                 "(nothing was copied)")
            raise UsageError(f"{what}: it holds vmuser's data directory ({d}) with its live database; import a "
                             "folder that does not hold it (nothing was copied)")


def excluded_inside(workspace: str | os.PathLike, data_dir: str | os.PathLike, workspaces: list[str]) -> list[str]:
    """Workspace-relative POSIX paths a capture of ``workspace`` must leave out: the data
    dirs (:func:`known_data_dirs`) and the other projects' workspaces (``workspaces``: every
    project's, this one's included, which is skipped) that lie strictly inside it, by
    resolved path. Sorted; empty in the usual case."""
    root = os.path.realpath(workspace)
    dirs = known_data_dirs(data_dir)
    # Cheap for thousands of rows: managed workspaces sit under the data dir (resolved once),
    # in-place ones were stored resolved by `project create`; only the rest are resolved.
    managed = os.path.join(os.path.abspath(os.path.expanduser(os.fspath(data_dir))), "workspaces") + os.sep
    real_managed = os.path.join(dirs[0], "workspaces") + os.sep
    out = set()
    for path in workspaces:
        if path.startswith(managed):
            path = real_managed + path[len(managed):]
        elif not os.path.isabs(path) or "/." in path or "//" in path:
            path = os.path.realpath(path)
        if path != root and _inside(path, root):
            out.add(os.path.relpath(path, root).replace(os.sep, "/"))
    for path in dirs:
        if path != root and _inside(path, root):
            out.add(os.path.relpath(path, root).replace(os.sep, "/"))
    return sorted(out)


def check_in_use(workspace: str | os.PathLike, data_dir: str | os.PathLike, project_id: str,
                 projects: Callable[[], list[tuple[str, str, str]]]) -> None:
    """Before a restore, a capture, a file change or a session uses the folder a project
    was created on (``--workspace``): refuse (StateError, one line with the fix) when a
    symlink now stands on its path (the folder itself, or one above it, replaced by a link)
    and the folder it leads to is one :func:`check_workspace` refuses: a system folder, the
    data dir or a folder holding it (a home folder), another project's workspace.

    Why (s22): the path was checked once, at ``project create``. A careless ``mv proj
    proj.old && ln -s ~ proj`` then made a restore delete every file of the home folder its
    checkpoint lacked (the old project folder too), and a session would have had the data
    dir mounted. A link to an ordinary folder (a project moved to another disk and linked
    back) is still followed. One ``realpath`` when nothing changed (the stored path is
    the resolved one); ``projects()`` gives ``(id, name, workspace)`` of every project,
    asked only when a link is found."""
    given = os.fspath(workspace)
    real = os.path.realpath(given)
    if real == given:
        return
    from vmuser_tui.core.errors import StateError

    try:
        check_workspace(real, data_dir, [row for row in projects() if row[0] != project_id])
    except UsageError as exc:
        why = str(exc).split(": ", 1)[-1].split("; ")[0]  # the reason, without the fix for project create
        raise StateError(f"the workspace of project {project_id} ({given}) is now a symlink to {real}, which "
                         f"vmuser does not use: {why}. Put the project's folder back at {given}, or delete "
                         "the project") from None

