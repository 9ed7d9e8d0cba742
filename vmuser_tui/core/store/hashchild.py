"""The hashing process's side of :mod:`.hashproc`: its loop and the message framing.

A module of its own so that a child imports only what it runs (os, marshal, sqlite3 and
:mod:`.smallfiles`, with zstandard): ~20 ms less start-up than importing the parent's
side (subprocess, threads, futures). Protocol: see :mod:`.hashproc`.
"""

from __future__ import annotations

import marshal
import os
import sqlite3
import struct
from pathlib import Path

from vmuser_tui.core.store.scan import StatInfo
from vmuser_tui.core.store.smallfiles import hash_small

_LEN = struct.Struct("<I")


def _read_exact(fd: int, n: int) -> bytes | None:
    """``n`` bytes from ``fd``, or None at end of file."""
    parts, left = [], n
    while left:
        part = os.read(fd, min(left, 1 << 20))
        if not part:
            return None
        parts.append(part)
        left -= len(part)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def recv(fd: int):
    """The next message from ``fd``, or None at end of file."""
    head = _read_exact(fd, 4)
    if head is None:
        return None
    body = _read_exact(fd, _LEN.unpack(head)[0])
    if body is None:
        return None
    return marshal.loads(body)


def send(fd: int, message) -> None:
    """Write ``message`` to ``fd`` (blocking until all is written)."""
    body = marshal.dumps(message)
    view = memoryview(_LEN.pack(len(body)) + body)
    while view:
        view = view[os.write(fd, view):]


def main() -> None:
    """The child's loop (see the module docstring). Ends at end of input."""
    config = recv(0)
    if config is None:
        return
    db_path, level = config
    conn = None
    if db_path is not None and level is not None:
        try:
            conn = sqlite3.connect(Path(db_path).absolute().as_uri() + "?mode=ro", uri=True, timeout=30)
            conn.execute("PRAGMA busy_timeout = 30000")
        except sqlite3.Error:
            # Cannot look up what is stored: pack every file; the parent's insert leaves out
            # the blobs stored already (their bytes in the pack are then unused), never fails.
            conn = None
    while True:
        group = recv(0)
        if group is None:
            return
        expects = [StatInfo(*st) for _, *st in group]
        try:
            hexes, sizes, verdicts, pack = hash_small(
                [(task[0], st) for task, st in zip(group, expects, strict=True)], level, conn)
        except OSError as exc:
            send(1, (b"err", exc.errno, exc.strerror, exc.filename))
            continue
        # The scan's stat came back (the object passed in): None, so the parent keeps its
        # own object (no new tuple a file); another stat as a plain tuple; or the verdict.
        sent = [None if how is st else (tuple(how) if how.__class__ is StatInfo else how)
                for how, st in zip(verdicts, expects, strict=True)]
        send(1, (b"ok", hexes, sizes, sent, pack))
