"""Search matches made visible in table cells: the matched words of a full-text search
(:mod:`vmuser_tui.core.search_query`) styled in Rich Text, as ``less`` and ``fzf`` show them."""

from __future__ import annotations

import re

from rich.text import Text

from vmuser_tui.core.search_query import marked_parts
from vmuser_tui.core.text import printable

#: How a matched word looks in a row.
MATCH_STYLE = "bold reverse"


def highlight(text: Text, pattern: re.Pattern[str] | None) -> Text:
    """``text`` with every match of ``pattern`` styled (in place; returned for chaining)."""
    if pattern is not None:
        text.highlight_regex(pattern, style=MATCH_STYLE)
    return text


def marked_text(snippet: str, style: str = "") -> Text:
    """A snippet with MARK_OPEN/MARK_CLOSE marks as Text: the marked words styled, the marks
    gone, control characters shown as escapes."""
    text = Text(style=style, no_wrap=True, overflow="ellipsis")
    for piece, matched in marked_parts(snippet):
        text.append(re.sub(r"\s+", " ", printable(piece)), style=MATCH_STYLE if matched else "")
    return text
