"""A container's output as lines: the types every runtime hands out, and the assembly of
raw output chunks into timestamped lines.

The engine is always asked for timestamps (``docker logs --timestamps``: an RFC 3339 UTC
time with nanoseconds and one space before each line), so a viewer can show or hide them
without asking again; :class:`LineAssembler` splits them off. Chunks arrive per write of
the process, not per line: a line may span chunks and a chunk may hold many lines, so
each stream (stdout, stderr) keeps its own unfinished tail until its newline comes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

#: ``2026-12-04T10:00:00.123456789Z`` (Docker's RFC3339Nano, always UTC) at the start of a line.
_STAMP = re.compile(rb"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) ")


@dataclass(frozen=True)
class LogLine:
    """One line of a container's output: ``time`` as the engine stamped it (RFC 3339 UTC,
    nanoseconds; "" when it had none), ``stream`` ``"stdout"`` or ``"stderr"``, ``text``
    the line decoded as UTF-8 (bad bytes replaced) without its newline."""

    time: str
    stream: str
    text: str

    def shown(self, timestamps: bool) -> str:
        """The line as ``docker logs`` prints it, with its time first when ``timestamps``."""
        return f"{self.time} {self.text}" if timestamps and self.time else self.text


class LogStream(Protocol):
    """Lines of a container's output as they come: iterate to read (blocks while a followed
    container is quiet); :meth:`close` from any thread ends the iteration soon after."""

    def __iter__(self) -> Iterator[LogLine]: ...

    def close(self) -> None: ...


class LineAssembler:
    """Turn ``(stream, bytes)`` chunks into :class:`LogLine`\\ s (see the module docstring)."""

    def __init__(self) -> None:
        self._tails: dict[str, bytes] = {}

    def feed(self, stream: str, data: bytes) -> list[LogLine]:
        """The lines ``data`` completes on ``stream``; an unfinished last line waits."""
        buf = self._tails.get(stream, b"") + data
        *done, tail = buf.split(b"\n")
        self._tails[stream] = tail
        return [self._line(stream, raw) for raw in done]

    def flush(self) -> list[LogLine]:
        """The unfinished lines (output that ended without a newline), then nothing waits."""
        out = [self._line(stream, tail) for stream, tail in self._tails.items() if tail]
        self._tails.clear()
        return out

    @staticmethod
    def _line(stream: str, raw: bytes) -> LogLine:
        raw = raw.removesuffix(b"\r")
        m = _STAMP.match(raw)
        stamp = m.group(1).decode("ascii") if m else ""
        body = raw[m.end():] if m else raw
        return LogLine(stamp, stream, body.decode("utf-8", errors="replace"))
