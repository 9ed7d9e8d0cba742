"""Text from users and containers made safe to show on a terminal.

A file name, a checkpoint message or a project description can hold anything a container
or a careless paste puts there: ``ESC ] 0;title BEL`` (sets the terminal's title),
``ESC [2J`` (clears the screen), a carriage return that hides what came before it, a
newline that splits a one-line message, or the bidirectional overrides of "Trojan Source"
(CVE-2021-42574) that make text read differently from what it is. :func:`printable`
shows every such character as a visible escape instead, as git's ``core.quotePath`` and
``ls -b`` do. Pure functions: no Textual, no Rich; both adapters (CLI and TUI) use them.
"""

from __future__ import annotations

import re

#: C0 controls (TAB and LF too: they break one-line cells), DEL, C1 controls, and the bidi
# embeddings/overrides/isolates U+202A-U+202E and U+2066-U+2069 (Unicode's "Trojan Source" list).
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
#: the same, except LF and TAB: for whole outputs made of lines (a diff, a report)
UNSAFE_IN_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escape(m: re.Match) -> str:
    ch = m.group()
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object) -> str:
    """``text`` (``str()`` of it) with control and bidi characters shown as escapes, on one
    line: ESC -> ``\\x1b``, LF -> ``\\n``, TAB -> ``\\t``, CR -> ``\\r``, U+202E ->
    ``\\u202e``. Everything else (other Unicode, backslashes) is kept as it is.
    ``printable("a\\x1b[2Jb")`` -> ``'a\\\\x1b[2Jb'``. The same object back when nothing changed."""
    text = text if isinstance(text, str) else str(text)
    return UNSAFE.sub(_escape, text) if UNSAFE.search(text) else text


def printable_lines(text: str) -> str:
    """Like :func:`printable` but keeps line feeds and tabs: for output that is made of
    lines (a report, a list), where only the characters that steer the terminal go."""
    return UNSAFE_IN_LINES.sub(_escape, text) if UNSAFE_IN_LINES.search(text) else text


def is_printable(text: str) -> bool:
    """True when :func:`printable` would leave ``text`` as it is."""
    return not UNSAFE.search(text)
