"""Managed workspace folders that no project owns, and how imports avoid leaving them.

``project create --import DIR`` copies into ``<data dir>/workspaces/`` under a temporary
name that carries its owner (:func:`temp_name`: host, pid, process start time, wall-clock
start) and renames the folder to ``<project-id>`` when the copy is done, just before the
project row is written (:func:`finish`). A process killed mid-copy (``kill -9``, a power
cut) so leaves a folder whose name says that its owner is gone, as git's ``gc.pid`` and
``index.lock`` do.

:func:`find` lists the orphans: temporary folders whose owner is gone from this host (pid
and start time checked, :func:`vmuser_tui.core.procs.alive`) or, from another host, older
than :data:`OTHER_HOST_SECONDS`; and folders named like a project id that no project row
names (by id or by workspace path) and untouched for :data:`GRACE_SECONDS` (a create
between its ``mkdir``/rename and its row, in another process, is not an orphan).
Anything else under ``workspaces/`` (files, symlinks, other names) is never touched. The
second kind (:data:`UNOWNED`) may be a live workspace of a database that was replaced, so
only ``vmuser gc`` removes it; start-up recovery and the background gc only name it.
:func:`remove` deletes them with :func:`shutil.rmtree`, which never follows a symlink
(it walks with directory file descriptors on Linux). ``vmuser gc`` and the start-up
recovery (:class:`~vmuser_tui.core.service.Vmuser`) call them and say what they removed.
"""

from __future__ import annotations

import os
import stat as statmod
import time
from dataclasses import dataclass
from pathlib import Path

from vmuser_tui.core import procs
from vmuser_tui.core.ids import PROJECT_ID_RE

TEMP_PREFIX = ".import."
GRACE_SECONDS = 600
OTHER_HOST_SECONDS = 24 * 3600


#: :attr:`Orphan.kind` of a temporary import folder whose owner is gone (its name proves it).
IMPORT = "import"
#: :attr:`Orphan.kind` of a folder named like a project id that no row names: a create killed
#: between its rename and its row, but just as well the live workspace of a project that the
#: database in hand does not know (vmuser.db moved aside, emptied, or restored from an older
#: backup). Only an explicit ``vmuser gc`` removes these (session 22: start-up recovery and the
#: background gc deleted them, live work included).
UNOWNED = "unowned"


@dataclass(frozen=True)
class Orphan:
    """A folder to reclaim: ``path``, ``why`` (one phrase for the user) and ``kind``
    (:data:`IMPORT` or :data:`UNOWNED`)."""

    path: str
    why: str
    kind: str = IMPORT

    def to_json(self) -> dict:
        return {"path": self.path, "why": self.why}


def temp_name(project_id: str) -> str:
    """``.import.<pid>.<start ticks>.<epoch seconds>.<project id>.<host>``: the folder an
    import copies into until :func:`finish` gives it its final name."""
    return (f"{TEMP_PREFIX}{os.getpid()}.{procs.start_ticks() or 0}.{int(time.time())}."
            f"{project_id}.{procs.hostname()}")


def _parse_temp(name: str) -> tuple[int, int, int, str, str] | None:
    """``(pid, start ticks, epoch, project id, host)`` of a :func:`temp_name`, or None."""
    parts = name[len(TEMP_PREFIX):].split(".", 4) if name.startswith(TEMP_PREFIX) else []
    if len(parts) != 5:
        return None
    try:
        return int(parts[0]), int(parts[1]), int(parts[2]), parts[3], parts[4]
    except ValueError:
        return None


def finish(temp: Path, final: Path) -> None:
    """Give a finished import its final name. Its time is refreshed first, so the final
    folder looks new for :data:`GRACE_SECONDS` until the project row names it."""
    os.utime(temp)
    os.rename(temp, final)


def find(database, workspaces_dir: Path, *, now: float | None = None) -> list[Orphan]:
    """The orphan folders under ``workspaces_dir`` (see the module docstring), sorted by
    path. One query of projects, one listing, a stat per candidate; reads only."""
    now = time.time() if now is None else now
    try:
        entries = sorted(os.scandir(workspaces_dir), key=lambda e: e.name)
    except OSError:
        return []
    rows = database.query("SELECT id, workspace FROM projects")
    ids = {r["id"] for r in rows}
    spaces = [os.path.realpath(r["workspace"]) for r in rows]
    out = []
    for entry in entries:
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not statmod.S_ISDIR(st.st_mode):
            continue
        temp = _parse_temp(entry.name)
        if temp is not None:
            pid, ticks, started, _, host = temp
            if host == procs.hostname():
                if not procs.alive(pid, host, start=ticks or None):
                    out.append(Orphan(entry.path, f"an import by process {pid} that is gone"))
            elif now - started > OTHER_HOST_SECONDS:
                out.append(Orphan(entry.path, f"an import started on {host} over a day ago"))
            continue
        if not PROJECT_ID_RE.match(entry.name) or entry.name in ids:
            continue
        real = os.path.realpath(entry.path)
        if any(s == real or s.startswith(real + "/") for s in spaces):
            continue  # a row names it by path (its id was changed by hand, say)
        if now - st.st_mtime > GRACE_SECONDS:
            out.append(Orphan(entry.path, "no project owns it", UNOWNED))
    return out


def _writable_parent(func, path, exc_info) -> None:
    """rmtree's error hook: a folder copied read-only (mode 0555) cannot have its entries
    removed; make it owner-writable (never through a link) and try once more."""
    parent = os.path.dirname(path)
    try:
        if isinstance(exc_info[1], PermissionError) and not os.path.islink(parent):
            os.chmod(parent, 0o700)
            func(path)
            return
    except OSError:
        pass
    raise exc_info[1]


def remove(orphans: list[Orphan]) -> tuple[list[Orphan], list[str]]:
    """Delete each orphan folder (symlinks inside are removed, never followed). Returns
    ``(removed, problems)``, a problem being one line naming the folder and the error."""
    import shutil  # (here: every command imports this module through projects; few remove)

    removed, problems = [], []
    for orphan in orphans:
        try:
            shutil.rmtree(orphan.path, onerror=_writable_parent)
            removed.append(orphan)
        except FileNotFoundError:
            continue  # another process reclaimed it meanwhile
        except OSError as exc:
            problems.append(f"cannot remove the orphan workspace folder {orphan.path} "
                            f"({exc.strerror or exc}); remove it by hand")
    return removed, problems
