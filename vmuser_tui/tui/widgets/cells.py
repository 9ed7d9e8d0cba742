"""Formatting for table cells and one-line summaries (plain functions, Rich Text out)."""

from __future__ import annotations

from typing import TypeVar, overload

from rich.text import Text

from vmuser_tui.core import clock
from vmuser_tui.core.text import UNSAFE, UNSAFE_IN_LINES, printable
from vmuser_tui.core.units import human_size  # noqa: F401 (re-exported for screens)

STATUS_STYLE = {"A": "green", "D": "red", "M": "yellow", "R": "cyan", "T": "magenta"}
STATUS_WORD = {"A": "added", "D": "deleted", "M": "modified", "R": "renamed", "T": "type changed"}


def ago(ts: str | None) -> str:
    """Humanized age of a stored timestamp ('3h ago')."""
    return clock.ago(ts)


def short_time(ts: str | None) -> str:
    """``2026-11-21T09:30:00.1Z`` -> ``'11-21 09:30'`` (UTC)."""
    if not ts:
        return "-"
    try:
        return clock.parse(ts).strftime("%m-%d %H:%M")
    except ValueError:
        return ts[:16]


def safe(value: object, style: str = "") -> Text:
    """A value from a user or a container as one line of Text: control and bidi characters
    shown as escapes (:func:`vmuser_tui.core.text.printable`), never read as markup."""
    return Text(printable(value), style=style)


def safe_text(text: Text, *, keep_lines: bool = False) -> Text:
    """``text`` with the control and bidi characters in it shown as escapes, its styles
    kept (each escape takes the style of the character it stands for); ``keep_lines``:
    line feeds and tabs stay (a dialog's body). The same object when there is nothing to
    escape."""
    unsafe = UNSAFE_IN_LINES if keep_lines else UNSAFE
    plain = text.plain
    if not unsafe.search(plain):
        return text
    cuts = sorted({i for m in unsafe.finditer(plain) for i in (m.start(), m.end())})
    out = Text(style=text.style, justify=text.justify, overflow=text.overflow, no_wrap=text.no_wrap, end=text.end)
    for piece in text.divide(cuts):
        if unsafe.fullmatch(piece.plain):
            shown = Text(printable(piece.plain), style=piece.style)
            for span in piece.spans:
                shown.stylize(span.style, 0, len(shown))
            out.append_text(shown)
        else:
            out.append_text(piece)
    return out


_Cell = TypeVar("_Cell")


@overload
def shown(cell: str | Text) -> Text: ...


@overload
def shown(cell: _Cell) -> _Cell | Text: ...


def shown(cell: object) -> object:
    """A table cell made safe to draw: a string becomes :func:`safe` Text (so ``[b]`` in a
    file name is not markup), a Text goes through :func:`safe_text`; anything else is kept."""
    if isinstance(cell, str):
        return safe(cell)
    if isinstance(cell, Text):
        return safe_text(cell)
    return cell


def clip(text: str, width: int) -> str:
    """Cut ``text`` to ``width`` characters with an ellipsis, on one line: control and
    bidi characters shown as escapes first (a newline as ``\\n``), runs of spaces as one."""
    text = " ".join(printable(text).split())
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def clip_middle(text: str, width: int) -> str:
    """Cut the middle out, keeping both ends: ``'vmuser-demo…09bbf31fa3'`` (container names
    differ at their end)."""
    text = printable(text)
    if len(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    tail = (width - 1) // 2
    return text[: width - 1 - tail] + "…" + (text[-tail:] if tail else "")


def clip_left(text: str, width: int) -> str:
    """Cut a path from the left, keeping its end: ``'…core/clock.py'``."""
    text = printable(text)
    return text if len(text) <= width else "…" + text[-(width - 1):]


#: Status -> (mark, style). ``unreachable`` (issue 14): its engine did not answer; the
#: container may well run on there, so neither failed's red nor stopped's dim grey.
STATUS_LOOK = {"running": ("●", "bold green"), "paused": ("○", "yellow"), "failed": ("○", "bold red"),
               "created": ("○", "cyan"), "unreachable": ("◌", "bold magenta")}


def status_cell(status: str) -> Text:
    """A project or session status with colour (and its mark: ● running, ◌ unreachable)."""
    mark, style = STATUS_LOOK.get(status, ("○", "dim"))
    return Text(f"{mark} {status}", style=style)


def change_status(status: str) -> Text:
    return Text(status, style=f"bold {STATUS_STYLE.get(status, '')}".strip())


def counts_cell(additions: int, deletions: int, *, binary: bool = False, large: bool = False) -> Text:
    if binary:
        return Text("bin", style="dim")
    if large:
        return Text("large", style="dim")
    text = Text()
    if not additions and not deletions:
        return text
    if additions:
        text.append(f"+{additions}", style="green")
    if deletions:
        if additions:
            text.append(" ")
        text.append(f"-{deletions}", style="red")
    return text


def tags_text(tags: list[str], width: int = 24) -> str:
    return clip(",".join(tags), width) if tags else ""


def lines(*parts: Text) -> Text:
    """Join one-line Texts into a block whose lines are cut with an ellipsis, never wrapped."""
    out = Text(no_wrap=True, overflow="ellipsis")
    for i, part in enumerate(parts):
        if i:
            out.append("\n")
        out.append_text(safe_text(part))  # a newline in a name must not make a line of its own
    return out
