"""Validation of workspace-relative paths, done once at the edge of every API.

A valid path is relative POSIX text, NFC-normalized, with no empty, ``.`` or ``..``
components, no NUL, control characters or backslashes, no absolute or drive prefix,
each name at most 255 bytes and the whole at most 4096 bytes (UTF-8), and nothing
under the reserved ``.vmuser`` name. The rules follow git's ``verify_path`` and
Python's tarfile ``data`` filter.
"""

from __future__ import annotations

import re
import unicodedata

from vmuser_tui.core.errors import InvalidPathError

MAX_NAME_BYTES = 255
MAX_PATH_BYTES = 4096
RESERVED_NAMES = frozenset({".vmuser"})
_DRIVE_RE = re.compile(r"^[A-Za-z]:")


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
    if path.endswith("/"):
        path = path[:-1]
    nfc = path
    parts = nfc.split("/")
    for part in parts:
        if part == "":
            raise InvalidPathError(f"path {path!r} has an empty component ('//')")
        if part in (".", ".."):
            raise InvalidPathError(f"path {path!r} contains a {part!r} component")
        if len(part.encode("utf-8")) > MAX_NAME_BYTES:
            raise InvalidPathError(f"name {part[:40]!r}... is longer than {MAX_NAME_BYTES} bytes")
    if parts[0].lower() in RESERVED_NAMES:
        raise InvalidPathError(f"path {path!r} is inside the reserved '.vmuser' folder")
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
