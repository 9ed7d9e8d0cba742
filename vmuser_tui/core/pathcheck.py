"""Validation of workspace-relative paths, done once at the edge of every API.

A valid path is relative POSIX text, NFC-normalized, with no empty, ``.`` or ``..``
components, no NUL, control characters or backslashes, no absolute or drive prefix,
each name at most 255 bytes and the whole at most 4096 bytes (UTF-8), and nothing
under the reserved ``.vmuser`` name (nor spelled so that a case-insensitive, HFS+ or NTFS
filesystem would take it for ``.vmuser``), and no name of vmuser's own temp files. The
rules follow git's ``verify_path`` (with ``core.protectHFS`` and ``core.protectNTFS``),
libgit2's ``git_path_is_valid`` and Python's tarfile ``data`` filter.

A path is valid on its own; two names in one folder can still clash (the same name
twice, a non-NFC name that folds to its sibling, names that differ only in case on a
case-insensitive filesystem): :func:`check_siblings` and :func:`clash` judge those.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from vmuser_tui.core.errors import InvalidPathError

MAX_NAME_BYTES = 255
MAX_PATH_BYTES = 4096
RESERVED_NAMES = frozenset({".vmuser"})
TMP_PREFIX = ".vmuser-tmp-"  # temp files of a write or restore in progress (the scan skips them)
_DRIVE_RE = re.compile(r"^[A-Za-z]:")
# Code points HFS+ ignores when comparing names (git's is_hfs_dotgit list), so
# ".vmu\u200cser" opens ".vmuser" there.
_HFS_IGNORED = re.compile("[\u200c-\u200f\u202a-\u202e\u206a-\u206f\ufeff]")
# NTFS: trailing dots and spaces are dropped, "name:stream" opens name, and the 8.3 short
# name of ".vmuser" is "VMUSER~1" (any digit after the tilde).
_NTFS_SHORT = re.compile(r"^vmuser~[1-9][0-9]*$")


def is_reserved(name: str) -> bool:
    """True when ``name`` (a top-level name) is, or some filesystem would take it for,
    vmuser's reserved ``.vmuser`` folder: any case, HFS+-ignorable code points inside,
    NTFS trailing dots/spaces or ``:stream`` suffix, or the 8.3 short name ``VMUSER~1``."""
    low = name.lower()
    if low in RESERVED_NAMES:
        return True
    if low.isascii() and "~" not in low and ":" not in low and not low.endswith((".", " ")):
        return False  # the common case, decided without the regexes
    low = _HFS_IGNORED.sub("", low).split(":", 1)[0].rstrip(". ")
    return low in RESERVED_NAMES or bool(_NTFS_SHORT.match(low))


def normalize(path: str, *, allow_root: bool = False) -> str:
    """Validate ``path`` and return its canonical form.

    ``allow_root=True`` accepts ``''``, ``'.'`` and ``'/'`` as the workspace root and returns ``''``.
    A single trailing slash is tolerated (``'src/'`` -> ``'src'``). Raises
    :class:`InvalidPathError` with a message naming what is wrong.
    """
    if not isinstance(path, str):
        raise InvalidPathError(f"path must be text, got {type(path).__name__}")
    if allow_root and path in ("", ".", "/", "./"):
        return ""
    if path == "":
        raise InvalidPathError("empty path: give a path relative to the workspace, e.g. 'src/main.py'")
    # Normalize first, so every check below sees the text that is returned (a Kelvin
    # sign NFC-folds to 'K', which would otherwise slip past the drive-letter check).
    path = unicodedata.normalize("NFC", path)
    if "\x00" in path:
        raise InvalidPathError(f"path {path!r} contains a NUL byte")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in path):
        raise InvalidPathError(f"path {path!r} contains a control character")
    if "\\" in path:
        raise InvalidPathError(f"path {path!r} contains a backslash: use '/' between names")
    if path.startswith("/"):
        raise InvalidPathError(f"path {path!r} is absolute: give it relative to the workspace")
    if _DRIVE_RE.match(path):
        raise InvalidPathError(f"path {path!r} has a drive prefix: give it relative to the workspace")
    path = path.removesuffix("/")
    nfc = path
    parts = nfc.split("/")
    for part in parts:
        if part == "":
            raise InvalidPathError(f"path {path!r} has an empty component ('//')")
        if part in (".", ".."):
            raise InvalidPathError(f"path {path!r} contains a {part!r} component")
        if len(part.encode("utf-8")) > MAX_NAME_BYTES:
            raise InvalidPathError(f"name {part[:40]!r}... is longer than {MAX_NAME_BYTES} bytes")
    if is_reserved(parts[0]):
        raise InvalidPathError(f"path {path!r} is inside the reserved '.vmuser' folder (or names it another way)")
    if any(part.startswith(TMP_PREFIX) for part in parts):
        raise InvalidPathError(f"path {path!r} uses the reserved '{TMP_PREFIX}' prefix of vmuser's temp files")
    if len(nfc.encode("utf-8")) > MAX_PATH_BYTES:
        raise InvalidPathError(f"path is longer than {MAX_PATH_BYTES} bytes")
    return nfc


def is_valid(path: str) -> bool:
    """True when :func:`normalize` accepts ``path``."""
    try:
        normalize(path)
    except InvalidPathError:
        return False
    return True


def join(parent: str, name: str) -> str:
    """Join a normalized parent path (``''`` for root) and a name."""
    return f"{parent}/{name}" if parent else name


def symlink_stays_inside(link_path: str, target: str) -> bool:
    """True when a symlink at ``link_path`` (workspace-relative) pointing to ``target``
    resolves inside the workspace, judged lexically (no filesystem access)."""
    if target.startswith("/") or "\x00" in target or _DRIVE_RE.match(target):
        return False
    parts = link_path.split("/")[:-1]
    for part in target.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                return False
            parts.pop()
        else:
            parts.append(part)
    return True


def check_name(name: str) -> str:
    """Validate one stored name (a tree entry, a folder listing): a single valid path
    component, NFC. Returns it; raises :class:`InvalidPathError` naming the problem.

    A name holding ``/`` is refused here, not split: one entry must never stand for a
    path through other folders (a tree entry ``a/b`` would write into ``a``)."""
    if isinstance(name, str) and "/" in name:
        raise InvalidPathError(f"name {name!r} contains '/': one entry must be one name")
    out = normalize(name)
    if out != name:
        raise InvalidPathError(f"name {shown(name)} is not NFC-normalized (it folds to {out!r})")
    return out


def clash(name: str, siblings: Iterable[str], *, casefold: bool = False) -> str | None:
    """The first of ``siblings`` (other names in the same folder) that ``name`` would be
    taken for, or None: byte-different names equal once NFC-folded (one of them is not
    NFC: macOS and many tools fold), and with ``casefold`` also names equal ignoring
    case (what a case-insensitive filesystem stores as one). ``name`` itself is skipped."""
    key = _fold(name, casefold)
    for other in siblings:
        if other != name and _fold(other, casefold) == key:
            return other
    return None


def _fold(name: str, casefold: bool) -> str:
    nfc = name if name.isascii() else unicodedata.normalize("NFC", name)
    return nfc.casefold() if casefold else nfc


def check_siblings(names: Iterable[str], *, where: str = "", casefold: bool = False) -> None:
    """Refuse the names of one folder when two of them clash: the same name twice, a
    non-NFC name that folds to a sibling, and with ``casefold`` names differing only in
    case. Raises :class:`InvalidPathError` naming both. Linear in the number of names."""
    seen: dict[str, str] = {}
    exact: set[str] = set()
    place = f" in {where!r}" if where else ""
    for name in names:
        if name in exact:
            raise InvalidPathError(f"the name {name!r} appears twice{place}")
        exact.add(name)
        key = _fold(name, casefold)
        other = seen.get(key)
        if other is not None:
            if _fold(name, False) == _fold(other, False):
                odd, good = (name, other) if not unicodedata.is_normalized("NFC", name) else (other, name)
                raise InvalidPathError(f"name {shown(odd)}{place} is not NFC and folds to its sibling {shown(good)}")
            raise InvalidPathError(f"names {other!r} and {name!r}{place} differ only in case "
                                   "(one file on a case-insensitive filesystem)")
        seen[key] = name


def shown(name: str) -> str:
    """``name`` quoted for a message; a non-NFC one with escapes, so that it does not look
    exactly like the NFC name it is confused with."""
    return repr(name) if unicodedata.is_normalized("NFC", name) else ascii(name)
