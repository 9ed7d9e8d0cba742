"""Helpers for integration tests: build real trees on disk and read them back exactly."""

from __future__ import annotations

import os
import stat
from pathlib import Path


def write(root: str | os.PathLike, rel: str, data: bytes | str, mode: int = 0o644) -> Path:
    """Create ``rel`` (and its parents) under ``root`` with ``data`` and exactly ``mode``."""
    path = Path(root, rel)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    os.chmod(path, mode)
    return path


def mkdir(root: str | os.PathLike, rel: str, mode: int = 0o755) -> Path:
    path = Path(root, rel)
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, mode)
    return path


def symlink(root: str | os.PathLike, rel: str, target: str) -> Path:
    path = Path(root, rel)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, path)
    return path


def snapshot(root: str | os.PathLike) -> dict[str, tuple]:
    """Everything under ``root`` (symlinks not followed), by relative path:
    ``("dir", mode)``, ``("file", mode, bytes)`` or ``("symlink", target)``."""
    out: dict[str, tuple] = {}
    base = os.fspath(root)
    for dirpath, dirnames, filenames in os.walk(base, followlinks=False):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, base)
            st = os.lstat(full)
            mode = stat.S_IMODE(st.st_mode)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("symlink", os.readlink(full))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", mode)
            elif stat.S_ISREG(st.st_mode):
                with open(full, "rb") as fh:
                    out[rel] = ("file", mode, fh.read())
            else:
                out[rel] = ("other", mode)
    return out


def describe_difference(a: dict, b: dict) -> str:
    """A short human-readable list of what differs between two snapshots."""
    lines = []
    for path in sorted(a.keys() | b.keys()):
        x, y = a.get(path), b.get(path)
        if x != y:
            short = lambda v: v if v is None or v[0] != "file" else ("file", oct(v[1]), f"{len(v[2])} bytes")
            lines.append(f"{path}: {short(x)} != {short(y)}")
    return "\n".join(lines[:30])


def clear(root: str | os.PathLike) -> None:
    """Remove everything inside ``root`` (not root itself)."""
    import shutil

    for entry in os.scandir(root):
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path)
        else:
            os.unlink(entry.path)
