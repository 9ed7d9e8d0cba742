"""Formatting for table cells and one-line summaries (plain functions, Rich Text out)."""

from __future__ import annotations

from rich.text import Text

from vmuser_tui.core import clock
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


def clip(text: str, width: int) -> str:
    """Cut ``text`` to ``width`` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def clip_middle(text: str, width: int) -> str:
    """Cut the middle out, keeping both ends: ``'vmuser-demo…09bbf31fa3'`` (container names
    differ at their end)."""
    if len(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    tail = (width - 1) // 2
    return text[: width - 1 - tail] + "…" + (text[-tail:] if tail else "")


def clip_left(text: str, width: int) -> str:
    """Cut a path from the left, keeping its end: ``'…core/clock.py'``."""
    return text if len(text) <= width else "…" + text[-(width - 1):]


def status_cell(status: str) -> Text:
    """A project or session status with colour."""
    style = {"running": "bold green", "paused": "yellow", "failed": "bold red", "created": "cyan"}.get(status, "dim")
    mark = "●" if status == "running" else "○"
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
        out.append_text(part)
    return out
