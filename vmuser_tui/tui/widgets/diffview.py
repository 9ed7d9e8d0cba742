"""A unified diff made ready for the diff screen: parsed into hunks, each line coloured by
the file's syntax, then drawn unified or side by side.

:func:`build` does the slow part (parsing, Pygments) and runs in a thread worker;
:func:`unified` and :func:`side_by_side` only assemble Rich Text for one width, so a
toggle or a resize redraws without reading or highlighting anything again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import zip_longest

from rich.text import Text

from vmuser_tui.core.text import printable

TAB = 4
#: Line backgrounds of removed and added lines, per theme darkness (GitHub's tints).
DEL_BG = {True: "#3c1518", False: "#ffebe9"}
ADD_BG = {True: "#11301f", False: "#e6ffec"}
HUNK_STYLE = "bold cyan"
#: Columns one side of the side-by-side view needs for its text, else it is unreadable.
SIDE_MIN_TEXT = 24
#: Lines of a diff beyond which it is not syntax-coloured (Pygments takes ~50 µs a line, in
#: a worker thread that still holds the GIL from the event loop).
COLOUR_LIMIT = 6000

_HUNK_RE = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")


@dataclass
class Line:
    """One line of a hunk: ``tag`` is ``' '``, ``'-'``, ``'+'`` or ``'\\'`` (no newline at
    end of file); ``text`` is already syntax-coloured; line numbers of each side."""

    tag: str
    text: Text
    old_no: int | None = None
    new_no: int | None = None


@dataclass
class Hunk:
    """``@@ -a,b +c,d @@ context`` and its lines."""

    header: str
    lines: list[Line] = field(default_factory=list)

    @property
    def widest_number(self) -> int:
        return max((n for line in self.lines for n in (line.old_no, line.new_no) if n), default=1)


@dataclass
class Patch:
    """A file's diff: ``notes`` (lines before the first hunk that are not the ``---``/``+++``
    headers, e.g. "mode changed"), the hunks, and how many lines were left out (``limit``)."""

    notes: list[str]
    hunks: list[Hunk]
    omitted: int = 0
    widest: int = 0  # cells of the longest unified row (its code and the +/- column)


def lexer_for(path: str) -> str:
    """The Pygments lexer name for ``path`` by its name (``'default'``: no colouring)."""
    from rich.syntax import Syntax

    try:
        return Syntax.guess_lexer(path)
    except Exception:  # noqa: BLE001 - colouring is a nicety; plain text always works
        return "default"


def highlight(lines: list[str], lexer: str, dark: bool) -> list[Text]:
    """``lines`` coloured as one block (a string or docstring spanning lines stays
    coloured), tabs expanded, control and bidi characters shown as escapes (they would move
    the cursor, break the row layout or reorder the text: core.text.printable)."""
    if not lines:
        return []
    clean = [printable(line.expandtabs(TAB)) for line in lines]
    if lexer == "default":
        return [Text(line) for line in clean]
    from rich.syntax import Syntax

    syntax = Syntax("", lexer, theme="ansi_dark" if dark else "ansi_light", background_color="default")
    block = syntax.highlight("\n".join(clean) + "\n")
    out = block.split("\n", allow_blank=True)[: len(clean)]
    for text in out:
        text.end = ""
    return out if len(out) == len(clean) else [Text(line) for line in clean]


def build(text: str, path: str, dark: bool = True, *, limit: int | None = None) -> Patch:
    """Parse a unified diff (:func:`vmuser_tui.core.store.diff.unified`) and colour each
    side of each hunk by ``path``'s syntax (up to :data:`COLOUR_LIMIT` lines). After
    ``limit`` lines, hunks are left out."""
    notes: list[str] = []
    raw: list[tuple[str, list[tuple[str, str]], int, int]] = []  # header, lines, old start, new start
    total = omitted = 0
    for line in text.splitlines():
        match = _HUNK_RE.match(line)
        if match:
            total += 1
            raw.append((line, [], int(match[1]), int(match[2])))
            continue
        if not raw:
            if not line.startswith(("--- ", "+++ ")):
                notes.append(line)
            continue
        total += 1
        tag = line[:1] if line[:1] in ("+", "-", "\\") else " "
        raw[-1][1].append((tag, line[1:]))
    lexer = lexer_for(path) if total <= COLOUR_LIMIT else "default"
    hunks: list[Hunk] = []
    shown = 0
    for header, lines, old_no, new_no in raw:
        if limit is not None and shown >= limit:
            omitted += 1 + len(lines)
            continue
        shown += 1 + len(lines)
        old = iter(highlight([body for tag, body in lines if tag in (" ", "-")], lexer, dark))
        new = iter(highlight([body for tag, body in lines if tag in (" ", "+")], lexer, dark))
        hunk = Hunk(header)
        for tag, body in lines:
            if tag == "\\":
                hunk.lines.append(Line(tag, Text("\\" + body, style="dim italic")))
            elif tag == "-":
                hunk.lines.append(Line(tag, next(old), old_no=old_no))
                old_no += 1
            elif tag == "+":
                hunk.lines.append(Line(tag, next(new), new_no=new_no))
                new_no += 1
            else:
                next(new)
                hunk.lines.append(Line(tag, next(old), old_no=old_no, new_no=new_no))
                old_no += 1
                new_no += 1
        hunks.append(hunk)
    widest = max((1 + line.text.cell_len for hunk in hunks for line in hunk.lines), default=0)
    widest = max([widest, *(len(hunk.header) for hunk in hunks)])
    return Patch(notes, hunks, omitted, widest)


def _band(text: Text, width: int, background: str | None) -> Text:
    """``text`` padded to ``width`` (never cut) with ``background`` under all of it."""
    if text.cell_len < width:
        text.pad_right(width - text.cell_len)
    if background:
        text.stylize_before(f"on {background}")
    return text


def _join(rows: list[Text]) -> Text:
    out = Text(no_wrap=True, overflow="ignore")
    for i, row in enumerate(rows):
        if i:
            out.append("\n")
        out.append_text(row)
    return out


def header_row(hunk: Hunk, width: int) -> Text:
    """A hunk's ``@@ … @@`` line."""
    return _band(Text(hunk.header, style=HUNK_STYLE, no_wrap=True), width, None)


def unified_row(line: Line, width: int, dark: bool = True) -> Text:
    """One line git-style (``-``/``+``/`` `` then the code), a removed or added line on a
    tinted band ``width`` wide; a longer line is kept whole (the view scrolls sideways)."""
    if line.tag == "\\":
        return line.text.copy()
    prefix = {"-": Text("-", style="bold red"), "+": Text("+", style="bold green")}.get(line.tag, Text(" "))
    background = {"-": DEL_BG[dark], "+": ADD_BG[dark]}.get(line.tag)
    return _band(Text.assemble(prefix, line.text, no_wrap=True), width, background)


def unified(hunk: Hunk, width: int, dark: bool = True) -> Text:
    """The whole hunk as :func:`unified_row` rows under its header."""
    return _join([header_row(hunk, width)] + [unified_row(line, width, dark) for line in hunk.lines])


def side_fits(width: int, hunks: list[Hunk]) -> bool:
    """Whether ``width`` columns give each side of :func:`side_by_side` room enough."""
    return _side_text_width(width, hunks) >= SIDE_MIN_TEXT


def side_min_width(hunks: list[Hunk]) -> int:
    """The narrowest view in which :func:`side_fits`."""
    return 2 * (SIDE_MIN_TEXT + number_width(hunks) + 1) + 1


def number_width(hunks: list[Hunk]) -> int:
    """Digits of the largest line number of ``hunks`` (at least 3): one width for a file."""
    return max(3, len(str(max((h.widest_number for h in hunks), default=1))))


def _side_text_width(width: int, hunks: list[Hunk]) -> int:
    return (width - 1 - 2 * (number_width(hunks) + 1)) // 2


Pair = tuple["Line | None", "Line | None"]


def side_pairs(hunk: Hunk) -> list[Pair]:
    """The hunk's rows side by side: context on both sides; a run of removed lines paired
    with the run of added lines after it (the longer run leaves the other side empty)."""
    rows: list[Pair] = []
    removed: list[Line] = []
    added: list[Line] = []

    def flush() -> None:
        rows.extend(zip_longest(removed, added))
        removed.clear()
        added.clear()

    for line in hunk.lines:
        if line.tag == "-":
            if added:  # "+" then "-": a new run starts
                flush()
            removed.append(line)
        elif line.tag == "+":
            added.append(line)
        elif line.tag == " ":
            flush()
            rows.append((line, line))
    flush()
    return rows


def side_row(pair: Pair, width: int, dark: bool = True, *, num_w: int = 3) -> Text:
    """One row of the side-by-side view: old line left, new line right, each with its
    number; a line longer than its side is cut with an ellipsis. ``num_w``: see
    :func:`number_width`."""
    text_w = max(1, (width - 1 - 2 * (num_w + 1)) // 2)
    right_w = max(1, width - 1 - 2 * (num_w + 1) - text_w)  # an odd column left over goes right
    old, new = pair

    def cell(line: Line | None, number: int | None, background: str | None, text_w: int) -> Text:
        if line is None:
            return Text(" " * (num_w + 1 + text_w), style="dim")
        body = line.text.copy()
        body.truncate(text_w, overflow="ellipsis", pad=True)
        row = Text.assemble((f"{number:>{num_w}} " if number else " " * (num_w + 1), "dim"), body)
        if background:
            row.stylize_before(f"on {background}")
        return row

    out = Text(no_wrap=True, overflow="ignore")
    out.append_text(cell(old, old.old_no if old else None,
                         DEL_BG[dark] if old is not None and old.tag == "-" else None, text_w))
    out.append("│", style="dim")
    out.append_text(cell(new, new.new_no if new else None,
                         ADD_BG[dark] if new is not None and new.tag == "+" else None, right_w))
    return out


def side_by_side(hunk: Hunk, width: int, dark: bool = True, *, hunks: list[Hunk] | None = None) -> Text:
    """The whole hunk as :func:`side_row` rows under its header. ``hunks``: every hunk of
    the file, so that all of them share one number width."""
    num_w = number_width(hunks or [hunk])
    return _join([header_row(hunk, width)] + [side_row(pair, width, dark, num_w=num_w) for pair in side_pairs(hunk)])


def line_count(text: Text) -> int:
    """Rows a no-wrap Text takes in a log."""
    return text.plain.count("\n") + 1
