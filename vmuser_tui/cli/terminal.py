"""The CLI's guard between what it prints and the terminal (issue 11, case 12).

While a command runs, :func:`shown_safely` puts a filter on ``sys.stdout`` and
``sys.stderr`` that shows control and bidi characters as escapes
(:func:`vmuser_tui.core.text.printable_lines`), so a file name, a checkpoint message or a
container's output holding ``ESC ]0;…BEL`` or ``ESC [2J`` cannot steer the terminal,
whichever ``print`` shows it. Bytes written to ``sys.stdout.buffer`` (``fs cat``,
``session exec`` output: data, exact) and JSON (``json.dumps`` escapes every control
character and non-ASCII one) pass unchanged; vmuser's own colour and progress sequences
go to :func:`terminal`. Kept tiny: ``vmuser --help`` loads it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from vmuser_tui.core.text import printable_lines


class _SafeText:
    """A text stream that shows control characters as escapes (line feeds and tabs kept:
    output is made of lines). Everything else (``buffer``, ``isatty``, ``fileno``, ``flush``)
    is the wrapped stream's."""

    def __init__(self, stream: TextIO) -> None:
        self.unsafe = stream

    def write(self, text: str) -> int:
        return self.unsafe.write(printable_lines(text))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.unsafe, name)


def terminal(stream: TextIO) -> TextIO:
    """The real stream under :func:`shown_safely`'s filter, for vmuser's own escape
    sequences (a bold header, a progress line)."""
    return getattr(stream, "unsafe", stream)


@contextmanager
def shown_safely() -> Iterator[None]:
    """Filter ``sys.stdout`` and ``sys.stderr`` through :class:`_SafeText` for the block
    (one CLI command); the streams are put back after it."""
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _SafeText(out), _SafeText(err)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = out, err
