"""A command's output bytes, as they arrive, into Rich ``Text`` lines that are safe to show.

Two jobs, kept together because each needs the other's idea of a line:

- :class:`LineAssembler` turns chunks (split anywhere, even inside a UTF-8 character) into
  complete lines plus the line still being written (shown apart until its newline comes,
  as a terminal's cursor line).
- :func:`ansi_line` makes one line a ``Text``: SGR colour sequences (``ESC[31m``) become
  styles, as Rich's ``Text.from_ansi`` reads them; every other escape (cursor moves,
  clear screen, OSC titles) is dropped, since a log view has no screen to move on; a
  carriage return keeps only what was written after it (a progress bar shows its last
  state); anything else that could steer a terminal (C0/C1 controls, bidi overrides) is
  shown as an escape by :func:`vmuser_tui.core.text.printable_lines`, as everywhere else.
"""

from __future__ import annotations

import codecs
import re

from rich.text import Text

from vmuser_tui.core.text import printable_lines

# OSC: ESC ] ... terminated by BEL or ST (ESC \); an unterminated one runs to the line end.
_OSC = re.compile(r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\|$)")
# CSI: ESC [ params intermediates final (ECMA-48); SGR is the one ending in "m".
_CSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
# Other escapes of two or three characters: charset (ESC ( B), keypad (ESC =), save/restore (ESC 7)...
_ESC_OTHER = re.compile(r"\x1b[()*+][0-9A-Za-z]|\x1b[=>78cDEHMNOZ]")


def ansi_line(line: str, style: str = "") -> Text:
    """One line of output (no newline) as a styled, safe ``Text``; ``style`` underlies it
    (e.g. stderr's colour)."""
    line = line.rstrip("\r")  # a TTY ends lines with CR LF
    if "\r" in line:
        line = line.rsplit("\r", 1)[1]
    if "\x1b" not in line:
        return Text(printable_lines(line), style=style)
    line = _OSC.sub("", line)
    pieces: list[str] = []
    at = 0
    for m in _CSI.finditer(line):
        pieces.append(printable_lines(_ESC_OTHER.sub("", line[at : m.start()])))
        if m.group().endswith("m"):
            pieces.append(m.group())  # SGR: left for from_ansi to turn into a style
        at = m.end()
    pieces.append(printable_lines(_ESC_OTHER.sub("", line[at:])))
    text = Text.from_ansi("".join(pieces), style=style)
    text.end = ""
    return text


class LineAssembler:
    """Complete lines out of UTF-8 chunks of one stream (an incremental decoder keeps a
    character split across chunks; invalid bytes become U+FFFD)."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.partial = ""  # the line being written: no newline yet

    def feed(self, data: bytes) -> list[str]:
        """The lines ``data`` completes (without their newlines)."""
        text = self.partial + self._decoder.decode(data)
        *lines, self.partial = text.split("\n")
        return lines

    def finish(self) -> list[str]:
        """At the end of the output: the last line when it had no newline."""
        rest = self.partial + self._decoder.decode(b"", final=True)
        self.partial = ""
        return [rest] if rest else []
