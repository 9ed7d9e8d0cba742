"""Build a tar stream piece by piece, for ``put_archive`` into an engine workspace.

A generator of byte pieces (headers, content as the store yields it, padding), so a
restore of gigabytes is sent as it is read from the store, never held in memory whole;
docker-py sends an iterable body with chunked transfer encoding. Headers are PAX
(``tarfile.PAX_FORMAT``): long names and link targets, and any UTF-8 (or, through
surrogateescape, any bytes) survive; the engine's Go ``archive/tar`` reads them.
Content comes from :meth:`~vmuser_tui.core.store.objects.ObjectStore.iter_blob`, which
verifies every piece against its hash before it is yielded.
"""

from __future__ import annotations

import tarfile
import time
from collections.abc import Iterable, Iterator

BLOCK = 512


def _info(name: str, kind: bytes, mode: int, owner: tuple[int, int], size: int = 0, linkname: str = "") -> bytes:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode & 0o777
    info.uid, info.gid = owner
    info.size = size
    info.mtime = int(time.time())
    info.linkname = linkname
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


def folder(name: str, mode: int, owner: tuple[int, int]) -> bytes:
    """The header of a folder ``name`` (relative, ``/``-separated)."""
    return _info(name, tarfile.DIRTYPE, mode, owner)


def symlink(name: str, target: bytes, owner: tuple[int, int]) -> bytes:
    """The header of a symlink ``name`` pointing at ``target`` (raw bytes)."""
    return _info(name, tarfile.SYMTYPE, 0o777, owner, linkname=target.decode("utf-8", "surrogateescape"))


def regular(name: str, mode: int, owner: tuple[int, int], size: int, pieces: Iterable[bytes]) -> Iterator[bytes]:
    """A regular file of ``size`` bytes from ``pieces``: header, content, padding. Raises
    ValueError when the pieces do not add up to ``size`` (a stream cut short would shift
    every later member)."""
    yield _info(name, tarfile.REGTYPE, mode, owner, size=size)
    sent = 0
    for piece in pieces:
        sent += len(piece)
        yield piece
    if sent != size:
        raise ValueError(f"{name}: {sent} bytes of content for a {size}-byte entry")
    if size % BLOCK:
        yield bytes(BLOCK - size % BLOCK)


def end() -> bytes:
    """The end of an archive: two zero blocks."""
    return bytes(2 * BLOCK)


def owner_ids(owner: str) -> tuple[int, int]:
    """``"uid:gid"`` as ``(uid, gid)``; raises ValueError for anything else."""
    uid, _, gid = owner.partition(":")
    return int(uid), int(gid or uid)
