"""README's key table, made from the bindings themselves so it cannot drift from the screens.

:func:`key_table` renders one Markdown row per screen a newcomer meets (Projects, Project,
Diff...), each binding as ``key`` and the text the help screen (``?``) shows for it
(its tooltip, else its description), in the order the screen declares them, joined by ``·``; the last
row is the app's own keys plus the ones Textual keeps (tab, ctrl+p, ctrl+q). The rows
come from the scope registry (:mod:`~vmuser_tui.tui.scopes`), never from the app.

``python -m tests.tui.readme`` rewrites README's generated blocks (this table and the
screen captures); ``tests/tui/test_i12_app_readme.py`` fails when README differs.
"""

from __future__ import annotations

from vmuser_tui.tui.scopes import scopes

#: (scope prefix, the row's name in README), in README's order.
SCREENS = (
    ("projects", "Projects"),
    ("project", "Project"),
    ("logs", "Container logs"),
    ("diff", "Diff"),
    ("files", "Files"),
    ("log", "Operation log"),
    ("settings", "Settings"),
    ("app", "Everywhere"),
)

#: Key names spelled out where the footer abbreviates them.
SPELLED = {"escape": "esc", "spc": "space"}


def key_shown(key: str, key_display: str | None) -> str:
    """How README writes a key: the binding's own display (``/``, ``?``, ``]``), a
    character for a character's name (``exclamation_mark`` -> ``!``), else its name."""
    from textual.keys import key_to_character

    if key_display:
        return SPELLED.get(key_display, key_display)
    if key in SPELLED:
        return SPELLED[key]
    if len(key) > 1 and "+" not in key:
        return key_to_character(key) or key
    return key


def _sentence(text: str) -> str:
    """``Next file`` -> ``next file`` (an acronym such as ``OSC`` stays)."""
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


def _cell(text: str) -> str:
    """Text safe in a Markdown table cell (``|`` would end it, ``<...>`` reads as HTML)."""
    return text.replace("|", "\\|").replace("<", "\\<")


def rows() -> list[tuple[str, list[tuple[list[str], str]]]]:
    """``(screen name, [(keys, what it does)])`` per README row, bindings grouped by id."""
    from textual.binding import Binding

    from vmuser_tui.tui.screens.help import COMMON

    by_prefix = {scope.prefix: scope for scope in scopes()}
    out = []
    for prefix, name in SCREENS:
        items: dict[str, tuple[list[str], str]] = {}
        for cls in by_prefix[prefix].classes:
            for binding in Binding.make_bindings(cls.__dict__.get("BINDINGS", [])):
                ident = binding.id or binding.action
                keys, what = items.setdefault(ident, ([], _sentence(binding.tooltip or binding.description)))
                shown = key_shown(binding.key, binding.key_display)
                if shown not in keys:
                    keys.append(shown)
        row = list(items.values())
        if prefix == "app":
            row += [(keys.split(), _sentence(what)) for keys, what in COMMON]
        out.append((name, row))
    return out


def key_table() -> str:
    """The Markdown table (header, separator, a row per screen), ending with a newline."""
    lines = ["| screen | keys |", "| --- | --- |"]
    for name, items in rows():
        text = " · ".join(" ".join(f"`{k}`" for k in keys) + " " + what for keys, what in items)
        lines.append(f"| {name} | {_cell(text)} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover - prints the table (tests.tui.readme writes README)
    print(key_table(), end="")
