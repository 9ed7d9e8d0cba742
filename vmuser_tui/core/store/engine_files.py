"""The live half of the virtual filesystem (:mod:`vmuser_tui.core.vfs`) for a workspace that
is a Docker named volume on an engine, reached through the workspace's helper container.

:class:`EngineFiles` gives ``ls``, ``stat``, ``read``, ``write``, ``mkdir``, ``mv`` and ``rm``
with the semantics, :class:`~vmuser_tui.core.models.FileInfo` shapes and error messages of
:class:`~vmuser_tui.core.vfs.VirtualFS` on a local workspace (the service layer still does the
access check and the operation log, as it does around ``VirtualFS``). Each operation is ONE
exec in the helper (a write: one ``put_archive`` of the new bytes plus one exec), so an
engine over SSH costs one round trip, not one per path component.

How the scripts stay safe (the helper runs as root and only has busybox):

* Every script is a constant text run as ``sh -c SCRIPT sh ARG...``: paths reach it as argv
  words, never as shell text, so names with spaces, quotes, ``$(...)``, ``*`` or a leading
  dash are plain data (and are used as ``./NAME``, so none reads as an option).
* No symlink is followed in a parent: the script walks to the parent one component at a
  time (``[ -L ]``, ``[ -d ]``, ``cd -P ./PART``) and then checks ``pwd -P`` is the expected
  physical path, so the change happens in a folder that really is inside ``/workspace``.
  A folder swapped for a link in the instant between a check and ``mv``/``cat`` can at
  worst point into the helper's own root filesystem (the helper mounts only the volume),
  never at the vmuser host: the confinement vfs gets from directory descriptors, the
  helper gets from its mount namespace.
* A write lands first as ``/workspace/.vmuser-tmp-<hex>`` (``put_archive`` into the volume's
  root, which is a mount point and cannot be a link), is moved beside its target (same
  volume: ``rename``), given ``owner`` and mode, then renamed over the target: readers see
  the old file or the new one, never a half-written one.
* Reads stream through ``head -c LIMIT``, so showing 4 KiB of a 1 GiB file moves 4 KiB.

Script answers: the payload, then a status line ``\\n@@VMU CODE WHERE MESSAGE\\n``
(CODE ``ok`` or a refusal; WHERE the 1-based component index, prefixed ``a``/``b`` in
``mv``); exit 0 for ok, 3 for a refusal, so an answer the engine lost on the way (it drops
a short exec's output now and then under load) still tells a change made from one refused.
Listings are ``stat -c '%f|%s|%y|%n'`` lines (raw mode hex, bytes, mtime with
nanoseconds and offset, ``./name``), then a NUL, then NUL-separated ``(./name, target)``
pairs for symlinks. Names with a control character (a newline would split a line) are left
out of listings, as capture leaves them out (``scan._bad_name``); :func:`normalize` refuses
them as paths anyway. Errors: the ``vfs`` classes and texts; a failure the script did not
expect (disk full, the engine gone) becomes one :class:`StateError` line.
"""

from __future__ import annotations

import contextlib
import io
import re
import secrets
import stat as statmod
import tarfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import IO, TYPE_CHECKING, Any, Protocol

from vmuser_tui.core import clock
from vmuser_tui.core.errors import InvalidPathError, LimitError, NotFoundError, StateError, UsageError
from vmuser_tui.core.models import FileInfo
from vmuser_tui.core.pathcheck import TMP_PREFIX, clash, is_reserved, join, normalize, shown
from vmuser_tui.core.store.engine_files_sh import LS, MKDIR, MV, READ, RM, STAT, WRITE
from vmuser_tui.core.store.trees import DIR, FILE, SYMLINK

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from vmuser_tui.core.config import Config
    from vmuser_tui.core.runtime.base import ExecResult

WORKSPACE = "/workspace"
DEFAULT_OWNER = "65534:65534"  # nobody:nogroup, as EngineWorkspace gives restored files
# Defaults of [limits] (core/config.py), used when no config is given.
DEFAULT_MAX_FILE_SIZE = 100 * 1024 * 1024
DEFAULT_MAX_ENTRIES = 100_000
_KIND = {statmod.S_IFDIR: DIR, statmod.S_IFREG: FILE, statmod.S_IFLNK: SYMLINK}
# fnmatch pattern for names holding a control character: left out of listings.
_BAD_NAME = "*[\x01-\x1f\x7f]*"
_MARK = b"\n@@VMU "
_STAT_RE = re.compile(rb"^([0-9a-f]+)\|(\d+)\|(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?) ([+-]\d{4})\|(.*)$", re.S)
# NFC folding can turn these non-ASCII code points into ASCII ones (Kelvin sign, Greek
# question mark, Greek varia): a name holding one of them may have a look-alike sibling.
_FOLD_TO_ASCII = frozenset("K;`")


class WorkspaceExec(Protocol):
    """What :class:`EngineFiles` needs of :class:`~vmuser_tui.core.runtime.engine_workspace.EngineWorkspace`:
    commands as root in the helper container that has the volume at ``/workspace``."""

    def exec(self, argv: list[str], *, stdin: bytes | None = None, timeout: float | None = None) -> ExecResult:
        """Run ``argv``; stdout and stderr interleaved in ``.output``."""
        ...

    def put_archive(self, path: str, tar_bytes: bytes) -> None:
        """Extract the tar ``tar_bytes`` into the folder ``path`` of the helper."""
        ...

    def stream(self, argv: list[str]) -> contextlib.AbstractContextManager[Any]:
        """Run ``argv``; a binary readable of its stdout while the context is open."""
        ...


class _Answer:
    """A script's answer: ``payload`` (bytes before the status line), ``code``, ``where``, ``message``."""

    def __init__(self, output: bytes, what: str, exit_code: int | None = None):
        cut = output.rfind(_MARK)
        if cut < 0 and exit_code in (0, 3) and not output:
            # the engine now and then drops a short exec's output (seen under load): exit 0
            # was a success with its payload lost, 3 a refusal (nothing changed) -> "lost"
            self.payload, self.code, self.where, self.message = b"", "ok" if exit_code == 0 else "lost", "0", ""
            return
        if cut < 0:
            tail = output.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no answer"]
            code = "" if exit_code is None else f", exit code {exit_code}"
            raise StateError(f"{what}: the workspace helper failed ({tail[0][:200]}{code}); "
                             "check the engine with vmuser engine check")
        self.payload = output[:cut]
        status = output[cut + len(_MARK):].decode("utf-8", "replace").rstrip("\n")
        code, _, rest = status.partition(" ")
        where, _, message = rest.partition(" ")
        self.code, self.where, self.message = code, where, message


def _split(rel: str) -> tuple[str, str]:
    parent, _, name = rel.rpartition("/")
    return parent, name


def _lookalike_pattern(name: str) -> str:
    """A ``find -name`` pattern matching every name that NFC-folds to ``name`` (and maybe
    others: the script only narrows the candidates, :func:`clash` decides), or ``''`` when
    no other name can fold to it (plain ASCII: the common case, no listing needed)."""
    if name.isascii() and not (_FOLD_TO_ASCII & set(name)):
        return ""
    out: list[str] = []
    for ch in name:
        if not ch.isascii() or ch in _FOLD_TO_ASCII:
            if not out or out[-1] != "*":
                out.append("*")
        elif ch in "*?[\\":
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def _mtime(text: str, offset: str) -> str:
    """busybox ``%y`` ("2026-12-04 16:14:21.510170406" and "+0000") as vmuser's UTC ISO text."""
    whole, _, frac = text.partition(".")
    dt = datetime.strptime(whole, "%Y-%m-%d %H:%M:%S")
    micro = int((frac + "000000")[:6]) if frac else 0
    sign = -1 if offset.startswith("-") else 1
    tz = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5])))
    return clock.iso(dt.replace(microsecond=micro, tzinfo=tz).astimezone(UTC))


def _parse_infos(payload: bytes, rel_dir: str, *, names: dict[str, str] | None = None) -> list[FileInfo]:
    """FileInfos from a listing payload (see the module docstring). ``names`` maps a
    ``./name`` as printed to the workspace path to give it (default: ``rel_dir``/name)."""
    lines, _, links_raw = payload.partition(b"\0")
    parts = links_raw.split(b"\0")
    targets = {parts[i]: parts[i + 1] for i in range(0, len(parts) - 1, 2)}
    out: list[FileInfo] = []
    for line in lines.split(b"\n"):
        m = _STAT_RE.match(line)
        if m is None:
            continue  # a blank line, or a stray message: never an entry
        raw_mode, size, when, offset, shown_name = m.groups()
        mode = int(raw_mode, 16)
        kind = _KIND.get(statmod.S_IFMT(mode), "other")
        printed = shown_name.decode("utf-8", "surrogateescape")
        if names is not None:
            path = names.get(printed)
            if path is None:
                continue
        else:
            path = join(rel_dir, printed.removeprefix("./"))
        target = None
        if kind == SYMLINK:
            target = targets.get(shown_name, b"").decode("utf-8", "surrogateescape")
        out.append(FileInfo(path, path.rsplit("/", 1)[-1] if path else "", kind,
                            int(size) if kind != DIR else 0, mode & 0o777, None,
                            _mtime(when.decode(), offset.decode()), target))
    return out


class EngineFiles:
    """Live-workspace file operations on an engine workspace (see the module docstring).

    ``ws``: the workspace (:class:`WorkspaceExec`; in the app an ``EngineWorkspace``).
    ``owner``: ``"uid:gid"`` what is made here gets (``""``: 65534:65534).
    ``max_file_size`` (bytes) and ``max_entries_per_dir``: ``[limits]`` (see :meth:`from_config`).
    ``timeout``: seconds one exec may take.
    """

    def __init__(self, ws: WorkspaceExec, *, owner: str = "", max_file_size: int = DEFAULT_MAX_FILE_SIZE,
                 max_entries_per_dir: int = DEFAULT_MAX_ENTRIES, timeout: float | None = 120.0):
        owner = owner or DEFAULT_OWNER
        if not re.fullmatch(r"\d+:\d+", owner):
            raise UsageError(f"owner {owner!r} must be numeric 'uid:gid', e.g. '1000:1000'")
        self.ws, self.owner, self.timeout = ws, owner, timeout
        self.max_file_size, self.max_entries_per_dir = max_file_size, max_entries_per_dir

    @classmethod
    def from_config(cls, ws: WorkspaceExec, config: Config, *, owner: str = "") -> EngineFiles:
        """With the limits of ``config`` (a :class:`~vmuser_tui.core.config.Config`)."""
        return cls(ws, owner=owner, max_file_size=config.get("limits", "max_file_size"),
                   max_entries_per_dir=config.get("limits", "max_entries_per_dir"))

    # -- plumbing ----------------------------------------------------------------------
    def _run(self, script: str, args: Sequence[str], what: str, *, again: bool = False) -> _Answer:
        """Run a script. Its answer lost on the way (see :class:`_Answer`): a read
        (``again``) or a refusal (it changed nothing) is asked once more; a change that
        succeeded comes back as "ok" with no payload (the caller stats)."""
        argv = ["sh", "-c", script, "sh", *args]
        result = self.ws.exec(argv, timeout=self.timeout)
        if not result.output and (again or result.exit_code == 3) and script is not WRITE:
            result = self.ws.exec(argv, timeout=self.timeout)  # (a write's temp is gone: write puts again)
        # a read needs its payload: no output twice is a failure, not an empty answer
        return _Answer(result.output, what, None if again else result.exit_code)

    @staticmethod
    def _prefix(rel: str, where: str) -> str:
        """The first ``where`` (1-based) components of ``rel``."""
        n = int(where.lstrip("ab") or 0)
        return "/".join(rel.split("/")[:n])

    def _refuse_walk(self, ans: _Answer, rel_dir: str) -> None:
        """Raise vfs's error for a failed walk to ``rel_dir`` (the codes ``go`` gives)."""
        where = self._prefix(rel_dir, ans.where)
        if ans.code == "link":
            raise InvalidPathError(f"{where} is a symlink; vmuser does not write through symlinks")
        if ans.code == "notdir":
            raise InvalidPathError(f"{where} is not a directory")
        if ans.code == "missing":
            raise NotFoundError(f"{where}: no such directory; create it with fs mkdir")
        if ans.code == "moved":
            raise InvalidPathError(f"{rel_dir}: a folder on the way changed while vmuser looked; try again")

    def _unexpected(self, ans: _Answer, rel: str, action: str) -> StateError:
        msg = " ".join(ans.message.split())[:200] or ans.code
        return StateError(f"{rel or '/'}: cannot {action} in the engine workspace ({msg})")

    def _limit(self, ans: _Answer, parent: str) -> LimitError:
        return LimitError(f"{parent or '/'} already holds {ans.message} entries "
                          f"([limits] max_entries_per_dir = {self.max_entries_per_dir})")

    @staticmethod
    def _clash(ans: _Answer, parent: str, name: str) -> None:
        """After a ``maybe`` answer (siblings matching the look-alike pattern): refuse when
        one really folds to ``name``; return when none does (the caller runs again without
        the pattern)."""
        found = [p.decode("utf-8", "surrogateescape").removeprefix("./") for p in ans.payload.split(b"\0") if p]
        other = clash(name, found)
        if other is not None:
            raise InvalidPathError(f"{join(parent, name)}: the folder already holds {shown(other)}, a non-NFC name "
                                   f"that folds to {name!r}; rename that one first "
                                   "(vmuser never makes a look-alike sibling)")

    # -- reads -------------------------------------------------------------------------
    def ls(self, rel: str = "") -> list[FileInfo]:
        """Entries of a directory, sorted (directories first, then by name); ``.vmuser`` at
        the top and vmuser's temp files left out. Raises NotFoundError, UsageError for a file."""
        rel = normalize(rel, allow_root=True)
        parent, name = _split(rel)
        ans = self._run(LS, [parent, name, rel, _BAD_NAME], "ls", again=True)
        self._refuse_walk(ans, parent)
        if ans.code == "nofile":
            raise NotFoundError(f"{rel or '/'}: no such file or directory in the workspace")
        if ans.code == "notfolder":
            raise UsageError(f"{rel}: not a directory (use fs cat to read a file)")
        if ans.code != "ok":
            raise self._unexpected(ans, rel, "list")
        out = [f for f in _parse_infos(ans.payload, rel)
               if not f.name.startswith(TMP_PREFIX) and not (not rel and is_reserved(f.name))]
        out.sort(key=lambda f: (f.kind != DIR, f.name))
        return out

    def stat(self, rel: str) -> FileInfo:
        """Metadata of one path ('' is the workspace). Raises NotFoundError."""
        rel = normalize(rel, allow_root=True)
        parent, name = _split(rel)
        ans = self._run(STAT, [parent, name], "stat", again=True)
        self._refuse_walk(ans, parent)
        if ans.code == "nofile":
            raise NotFoundError(f"{rel}: no such file or directory in the workspace")
        if ans.code != "ok":
            raise self._unexpected(ans, rel, "stat")
        infos = _parse_infos(ans.payload, parent, names={f"./{name}" if name else ".": rel})
        if not infos:
            raise NotFoundError(f"{rel}: no such file or directory in the workspace")
        return infos[0]

    def read(self, rel: str, limit: int | None = None) -> bytes:
        """The bytes of a file (at most ``limit``; only those cross the wire). Raises
        NotFoundError, UsageError for a directory, a link or a fifo/socket/device."""
        rel = normalize(rel)
        parent, name = _split(rel)
        if limit is not None and limit <= 0:
            return b""
        argv = ["sh", "-c", READ, "sh", parent, name, "" if limit is None else str(limit)]
        with self.ws.stream(argv) as out:
            head = _read_status(out)
            if head.code == "ok":
                return out.read() if limit is None else _read_upto(out, limit)
        self._refuse_walk(head, parent)
        if head.code == "islink":
            raise UsageError(f"{rel}: cannot read (Too many levels of symbolic links)")
        if head.code == "nofile":
            raise NotFoundError(f"{rel}: no such file in the workspace")
        if head.code == "isdir":
            raise UsageError(f"{rel}: is a directory (use fs ls)")
        if head.code == "special":
            raise UsageError(f"{rel}: is not a regular file (a fifo, socket or device); only files can be read")
        raise self._unexpected(head, rel, "read")

    # -- changes -----------------------------------------------------------------------
    def write(self, rel: str, data: bytes, mode: int | None = None, *, parents: bool = True) -> FileInfo:
        """Create or replace a file atomically (temp file beside it, then rename), owned by
        ``owner``, mode ``mode`` (default 0644); missing parent folders are made with
        ``parents``. Raises LimitError past ``max_file_size`` before anything is sent."""
        rel = normalize(rel)
        if len(data) > self.max_file_size:
            raise LimitError(f"{rel}: {len(data):,} bytes is over [limits] max_file_size "
                             f"({self.max_file_size:,} bytes)")
        parent, name = _split(rel)
        perm = (mode if mode is not None else 0o644) & 0o777
        pattern = _lookalike_pattern(name)
        made = False
        for _attempt in range(4):
            tmp = f"{TMP_PREFIX}{secrets.token_hex(6)}"
            self.ws.put_archive(WORKSPACE, _one_file_tar(tmp, data, perm, self.owner))
            ans = self._run(WRITE, [parent, name, tmp, f"{perm:o}", self.owner,
                                     str(self.max_entries_per_dir), pattern], "write")
            if ans.code in ("missing", "notdir") and parents and not made:
                # the usual case (the folder is there) costs one exec; else make it (or
                # say why not, in mkdir's words, as vfs does), go again
                self.mkdir(parent, parents=True)
                made = True
            elif ans.code == "maybe":
                self._clash(ans, parent, name)
                pattern = ""  # no real look-alike: go again without looking
            elif ans.code == "lost":
                continue  # refused, but the answer got lost: put and ask again
            else:
                break
        self._refuse_walk(ans, parent)
        if ans.code == "isdir":
            raise UsageError(f"{rel}: is a directory")
        if ans.code == "limit":
            raise self._limit(ans, parent)
        if ans.code != "ok":
            raise self._unexpected(ans, rel, "write")
        return self._one(ans, rel, name)

    def mkdir(self, rel: str, parents: bool = True) -> FileInfo:
        """Create a directory (and its parents with ``parents``), 0755, owned by ``owner``;
        an existing directory is returned as it is. Raises UsageError when ``rel`` exists
        and is not a directory, NotFoundError for a missing parent without ``parents``."""
        rel = normalize(rel)
        parts = rel.split("/")
        patterns = [_lookalike_pattern(p) for p in parts]
        for _attempt in range(len(parts) + 1):
            args = [self.owner, str(self.max_entries_per_dir), "1" if parents else "0"]
            for part, pat in zip(parts, patterns, strict=True):
                args += [part, pat]
            ans = self._run(MKDIR, args, "mkdir")
            if ans.code != "maybe":
                break
            i = int(ans.where) - 1  # the component the script was about to make
            self._clash(ans, "/".join(parts[:i]), parts[i])
            patterns[i] = ""
        if ans.code == "exists":
            raise UsageError(f"{rel}: exists and is not a directory")
        if ans.code == "limit":
            raise self._limit(ans, self._prefix(rel, str(int(ans.where) - 1)))
        self._refuse_walk(ans, rel)
        if ans.code != "ok":
            raise self._unexpected(ans, rel, "create a directory")
        infos = _parse_infos(ans.payload, "", names={".": rel})
        return infos[0] if infos else self.stat(rel)

    def mv(self, src: str, dst: str) -> FileInfo:
        """Rename a file, link or directory inside the workspace; refuses to overwrite."""
        a, b = normalize(src), normalize(dst)
        if b == a or b.startswith(a + "/"):
            raise UsageError(f"cannot move {a} into itself")
        (pa, na), (pb, nb) = _split(a), _split(b)
        pattern = _lookalike_pattern(nb)
        for _attempt in range(2):
            ans = self._run(MV, [pa, na, pb, nb, str(self.max_entries_per_dir), pattern], "mv")
            if ans.code != "maybe":
                break
            self._clash(ans, pb, nb)
            pattern = ""
        self._refuse_walk(ans, pa if ans.where.startswith("a") else pb)
        if ans.code == "nofile":
            raise NotFoundError(f"{a}: no such file or directory in the workspace")
        if ans.code == "exists":
            raise UsageError(f"{b}: already exists; remove it first or choose another name")
        if ans.code == "limit":
            raise self._limit(ans, pb)
        if ans.code != "ok":
            raise self._unexpected(ans, a, "move")
        return self._one(ans, b, nb)

    def rm(self, rel: str, recursive: bool = False) -> None:
        """Remove a file, symlink or empty directory; a non-empty one needs ``recursive``
        (links inside are removed, never followed)."""
        rel = normalize(rel)
        parent, name = _split(rel)
        ans = self._run(RM, [parent, name, "1" if recursive else "0"], "rm")
        self._refuse_walk(ans, parent)
        if ans.code == "nofile":
            raise NotFoundError(f"{rel}: no such file or directory in the workspace")
        if ans.code == "notempty":
            raise StateError(f"{rel}: directory is not empty; use -r to remove it and its contents")
        if ans.code != "ok":
            raise self._unexpected(ans, rel, "remove")

    def _one(self, ans: _Answer, rel: str, name: str) -> FileInfo:
        infos = _parse_infos(ans.payload, "", names={f"./{name}": rel})
        return infos[0] if infos else self.stat(rel)  # the answer got lost: ask


def _one_file_tar(name: str, data: bytes, mode: int, owner: str) -> bytes:
    """A tar holding one regular file ``name`` (bytes ``data``, ``mode``, ``owner`` uid:gid)."""
    uid, gid = (int(x) for x in owner.split(":"))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.uid, info.gid, info.mtime = len(data), mode, uid, gid, int(time.time())
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _read_status(out: IO[bytes]) -> _Answer:
    """The status line at the start of a read's stream (it is preceded by a newline)."""
    first = out.readline()
    if first == b"\n":
        first = out.readline()
    return _Answer(b"\n" + first, "read")


def _read_upto(out: IO[bytes], limit: int) -> bytes:
    chunks: list[bytes] = []
    got = 0
    while got < limit:
        chunk = out.read(limit - got)
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)

