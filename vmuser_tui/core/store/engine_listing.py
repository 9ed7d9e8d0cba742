"""List an engine workspace with stats in one exec, and read the answer as a scan.

The engine-side half of :func:`vmuser_tui.core.store.scan.scan`: one ``sh`` script in
the workspace helper walks /workspace with busybox ``find`` and prints, per entry, what
``stat -c`` says (``find -exec stat ... {} +``: one ``stat`` process per few thousand
paths, not per file), then the targets of the symlinks, and the engine's clock first. The
answer is compared with the stat cache exactly as the local scan does, so the result (a
:class:`~vmuser_tui.core.store.scan.ScanResult`) is the same for the same files: same
entries, same skipped names, same ``pending`` files to read.

Output format (stdout), in three parts, then :data:`END` (a listing without it was cut short
and is refused: its missing tail would read as deleted files):

``C|<clock s>|<clock %y>\\n``
    the engine's clock: a file touched in the helper's /tmp, stat'ed (busybox ``date``
    has no nanoseconds); the racy-timestamp rule (:func:`~vmuser_tui.core.store.scan.cache_rows`)
    uses it, not this host's clock.
``S|<mode hex>|<size>|<mtime s>|<mtime %y>|<ctime s>|<ctime %y>|<inode>|./<path>\\n``
    one per entry. %y is ``2026-12-04 16:14:21.510170406 +0000``: its fraction gives the
    nanoseconds. Names holding a control character never get here: ``find`` prunes them
    (``-name '*[<controls>]*' -prune``), so every line is one entry and a newline in a
    name cannot forge one; they come as ``B<hex of ./path>\\n`` instead (skipped, as
    :func:`~vmuser_tui.core.store.scan._bad_name` says).
``\\0`` then ``./<path>\\0<target>\\0`` per symlink
    (``readlink -n``; a path and a target never hold NUL). A link that vanished between
    the two walks has an empty target and is left out (``vanished``).

Units: sizes in bytes, times in ns since the epoch (UTC). Raises StoreError when the
workspace cannot be listed.
"""

from __future__ import annotations

import hashlib
import stat as statmod

from vmuser_tui.core.errors import StoreError
from vmuser_tui.core.pathcheck import _DRIVE_RE, is_reserved
from vmuser_tui.core.store.scan import TMP_PREFIX, IgnoreFn, ScanResult, StatInfo, _bad_name
from vmuser_tui.core.store.trees import DIR, FILE, SYMLINK, Entry

#: What ``stat -c`` prints per entry (see the module docstring).
STAT_FORMAT = "S|%f|%s|%Y|%y|%Z|%z|%i|%n"
#: fnmatch pattern of names holding a control character (C0 and DEL): find prunes them.
BAD_PATTERN = "*[" + "".join(chr(c) for c in range(1, 32)) + "\x7f]*"
#: The listing's last bytes: an answer without them was cut short (an engine under load has been
#: seen to lose an exec's output), and a listing missing its tail would look like deleted files.
END = b"@@vmuser-listing-end@@"
_HEX_NAMES = 'for p; do printf B; printf %s "$p" | od -An -v -tx1 | tr -d " \\n"; echo; done'
_LINKS = 'for p; do printf "%s\\0" "$p"; readlink -n "$p"; printf "\\0"; done'
LIST_SCRIPT = f"""
cd /workspace || exit 3
: > /tmp/.vmuser-clock && stat -c 'C|%Y|%y' /tmp/.vmuser-clock || exit 4
find . -mindepth 1 -name "$1" -prune -exec sh -c '{_HEX_NAMES}' sh {{}} + -o -exec stat -c '{STAT_FORMAT}' {{}} +
printf '\\0'
find . -mindepth 1 -name "$1" -prune -o -type l -exec sh -c '{_LINKS}' sh {{}} + || exit 5
printf '{END.decode()}'
exit 0
"""


def list_argv() -> list[str]:
    """The helper command that lists /workspace (one exec)."""
    return ["sh", "-c", LIST_SCRIPT, "sh", BAD_PATTERN]


def _ns(seconds: bytes, text: bytes) -> int:
    """ns since the epoch from ``%Y`` (seconds) and ``%y`` (its fraction, when there)."""
    frac = 0
    dot = text.find(b".")
    if dot >= 0:
        end = text.find(b" ", dot)
        digits = text[dot + 1 : end if end > 0 else None]
        frac = int(digits.ljust(9, b"0")[:9] or b"0")
    return int(seconds) * 1_000_000_000 + frac


def parse_stat_line(line: bytes) -> tuple[str, int, StatInfo] | None:
    """``(relative path, raw st_mode, StatInfo)`` of one ``S|...`` line, or None for another line."""
    if not line.startswith(b"S|"):
        return None
    parts = line.split(b"|", 8)
    if len(parts) != 9:
        return None
    _, mode_hex, size, m_s, m_y, c_s, c_y, inode, name = parts
    mode = int(mode_hex, 16)
    rel = name[2:] if name.startswith(b"./") else name
    info = StatInfo(int(size), _ns(m_s, m_y), _ns(c_s, c_y), int(inode), mode & 0o777)
    return rel.decode("utf-8", "surrogateescape"), mode, info


def parse_stat_lines(text: bytes) -> dict[str, tuple[int, StatInfo]]:
    """``{path: (st_mode, StatInfo)}`` of every ``S|`` line in ``text`` (others skipped)."""
    out = {}
    for line in text.split(b"\n"):
        got = parse_stat_line(line)
        if got is not None:
            out[got[0]] = (got[1], got[2])
    return out


def parse_listing(stdout: bytes, cache: dict[str, tuple], ignore: IgnoreFn | None) -> tuple[ScanResult, int]:
    """Read a listing (the module's format) into ``(ScanResult, engine clock ns)``,
    deciding per entry as :func:`~vmuser_tui.core.store.scan.scan` does: vmuser's own
    folder and temp files left out silently, bad names and special files skipped with a
    reason, ignored paths (and what is below an ignored folder) left out, files whose stat
    equals their cache row taken from the cache, the others ``pending``."""
    if not stdout.endswith(END):
        raise StoreError("the workspace listing from the engine is cut short; retry (is the engine overloaded?)")
    stdout = stdout[: -len(END)]
    head, sep, links_part = stdout.partition(b"\0")
    if not sep:
        raise StoreError("the workspace listing from the engine is cut short; retry (is the engine overloaded?)")
    lines = head.split(b"\n")
    if not lines or not lines[0].startswith(b"C|"):
        raise StoreError("the workspace listing from the engine has no clock line; retry")
    _, c_s, c_y = lines[0].split(b"|", 2)
    clock = _ns(c_s, c_y)
    fields = links_part.split(b"\0")
    targets: dict[str, bytes] = {}
    for i in range(0, len(fields) - 1, 2):
        p = fields[i][2:] if fields[i].startswith(b"./") else fields[i]
        targets[p.decode("utf-8", "surrogateescape")] = fields[i + 1]
    result = ScanResult()
    kept_dirs = {""}  # folders whose entries are taken: find lists a folder before what is in it
    for line in lines[1:]:
        if line.startswith(b"B"):
            raw = bytes.fromhex(line[1:].decode("ascii"))
            rel = (raw[2:] if raw.startswith(b"./") else raw).decode("utf-8", "surrogateescape")
            parent, _, name = rel.rpartition("/")
            if parent in kept_dirs:
                result.skipped.append((rel, _bad_name(name) or "name contains a control character"))
            continue
        got = parse_stat_line(line)
        if got is None:
            continue
        rel, mode, info = got
        parent, _, name = rel.rpartition("/")
        if parent not in kept_dirs:
            continue  # below a folder left out (ignored, reserved, badly named) or one gone meanwhile
        if (not parent and is_reserved(name)) or name.startswith(TMP_PREFIX):
            continue
        if not parent and _DRIVE_RE.match(name):
            result.skipped.append((rel, "name starts like a Windows drive letter (c:...)"))
            continue
        hit = cache.get(rel)
        if hit is None:
            why = _bad_name(name)
            if why:
                result.skipped.append((rel, why))
                continue
        if statmod.S_ISDIR(mode):
            if ignore and ignore(rel, True):
                continue
            result.flat[rel] = Entry(name, DIR, info.mode, 0, "")
            result.dir_inodes[rel] = info.inode
            kept_dirs.add(rel)
        elif statmod.S_ISREG(mode):
            if ignore and ignore(rel, False):
                continue
            result.stats[rel] = info
            if hit is not None and hit[:5] == info:
                result.flat[rel] = Entry(name, FILE, info.mode, info.size, hit[5])
                result.cached.add(rel)
            else:
                result.flat[rel] = Entry(name, FILE, info.mode, info.size, "")
                result.pending.append(rel)
        elif statmod.S_ISLNK(mode):
            if ignore and ignore(rel, False):
                continue
            target = targets.get(rel)
            if not target:  # gone (or no longer a link) between the two walks
                result.vanished.append(rel)
                continue
            result.symlinks[rel] = target
            result.flat[rel] = Entry(name, SYMLINK, 0o777, len(target), hashlib.sha256(target).hexdigest())
        else:
            result.skipped.append((rel, "not a regular file, directory or symlink"))
    result.pending.sort()
    return result, clock


def list_workspace(ws, cache: dict[str, tuple], ignore: IgnoreFn | None = None) -> tuple[ScanResult, int]:
    """List ``ws`` (an :class:`~vmuser_tui.core.runtime.engine_workspace.EngineWorkspace`)
    in one exec: ``(ScanResult, engine clock ns)``; see :func:`parse_listing`."""
    from vmuser_tui.core.runtime.engine_workspace import message

    for attempt in (1, 2):
        res = ws.exec(list_argv())
        if res.exit_code == 3:
            raise StoreError(f"cannot read the workspace volume {ws.volume}: /workspace is missing in its helper")
        if res.exit_code != 0:
            raise StoreError(f"cannot list the workspace volume {ws.volume}: {message(res.stderr)}")
        if res.stdout.endswith(END) or attempt == 2:  # a lost answer is asked once more
            break
    return parse_listing(res.stdout, cache, ignore)
