"""Check the keys of ``[[commands]]`` against the screens they are bound on.

A custom command of scope project, session or checkpoint is bound on the project screen,
one of scope file on the files screen (:data:`SCREEN_OF_SCOPE`). Its key must be one
Textual can dispatch (:func:`~vmuser_tui.tui.keymap_check.bad_key`) and must not be taken
there already: by the screen's bindings (after the ``[keymap]``), the app's, the keys kept
for the palette/quit/focus (``RESERVED``), the focused table's or tree's own keys (they
would get it first), or another custom command of the same screen. :func:`problems` gives
``vmuser config validate`` a line per problem; :func:`resolve` is what the TUI applies at
start: the commands less those whose key collides, and a warning for each.

Pure, as :mod:`~vmuser_tui.tui.keymap_check`: the screens come from the registry
(:mod:`~vmuser_tui.tui.scopes`), never the app.
"""

from __future__ import annotations

from vmuser_tui.core.custom_commands import CustomCommand
from vmuser_tui.tui.keymap_check import KEY_HINT, RESERVED, _display, _normalize, bad_key
from vmuser_tui.tui.scopes import defaults, scopes

#: Scope of a custom command -> the prefix (in :func:`~vmuser_tui.tui.scopes.scopes`) of the screen it is bound on.
SCREEN_OF_SCOPE = {"project": "project", "session": "project", "checkpoint": "project", "file": "files"}


def _widget_keys(prefix: str) -> set[str]:
    """Keys of the widget that has the focus on that screen (a table, the file tree): a
    focused widget's binding wins over the screen's."""
    from textual.widgets import DataTable, Tree

    widget: type | None = {"project": DataTable, "files": Tree}.get(prefix)
    merged = getattr(widget, "_merged_bindings", None)  # the class's bindings with its bases'
    return set(merged.key_to_bindings) if merged is not None else set()


def _taken(prefix: str, keymap: dict[str, str]) -> dict[str, str]:
    """Key -> the binding id that has it on the screen ``prefix`` (its own, the app's,
    after ``keymap``), plus the reserved and focused-widget keys."""
    registry = {s.prefix: s for s in scopes()}
    ids = {**defaults(registry["app"].classes), **defaults(registry[prefix].classes)}
    out: dict[str, str] = {}
    for key in _widget_keys(prefix):
        out[key] = "the list's own key"
    for ident, keys in ids.items():
        remapped = keymap.get(ident)
        for key in _normalize(remapped) if isinstance(remapped, str) and remapped.strip() else keys:
            out[key] = ident
    for key, why in RESERVED.items():
        out[key] = f"reserved for {why}"
    return out


def _check(commands: list[CustomCommand], keymap: dict[str, str]) -> list[tuple[CustomCommand, str, str]]:
    """``(command, one line, a short line for a toast)`` per command whose key cannot be bound."""
    found: list[tuple[CustomCommand, str, str]] = []
    mine: dict[tuple[str, str], str] = {}  # (screen, key) -> the command that has it
    taken: dict[str, dict[str, str]] = {}
    for index, cmd in enumerate(commands, 1):
        head = f"[[commands]] #{index} \"{cmd.name}\": key \"{cmd.key}\": "
        keys = _normalize(cmd.key)
        if len(keys) != 1:
            found.append((cmd, head + "one key, e.g. \"ctrl+t\"", f"command {cmd.name} unbound: not one key"))
            continue
        key = keys[0]
        why = bad_key(key)
        if why:
            found.append((cmd, head + f"{why}; {KEY_HINT}", f"command {cmd.name} unbound: {cmd.key} is not a key"))
            continue
        prefix = SCREEN_OF_SCOPE[cmd.scope]
        screen = next(s.where for s in scopes() if s.prefix == prefix)
        owners = taken.setdefault(prefix, _taken(prefix, keymap))
        if key in owners:
            owner = owners[key]
            what = owner if " " in owner else f"{owner}'s key"
            found.append((cmd, head + f"{_display(key)} is already {what} {screen}; pick another key",
                          f"command {cmd.name} unbound: {_display(key)} is {what}"))
            continue
        if (prefix, key) in mine:
            found.append((cmd, head + f"{_display(key)} is already command \"{mine[prefix, key]}\"'s key {screen}; "
                                      "pick another key",
                          f"command {cmd.name} unbound: {_display(key)} is command {mine[prefix, key]}'s key"))
            continue
        mine[prefix, key] = cmd.name
    return found


def problems(commands: list[CustomCommand], keymap: dict[str, str]) -> list[str]:
    """One line per ``[[commands]]`` key that cannot be bound (for ``config validate``)."""
    return [line for _cmd, line, _short in _check(commands, dict(keymap or {}))]


def resolve(commands: list[CustomCommand],
            keymap: dict[str, str]) -> tuple[list[CustomCommand], list[tuple[str, str]]]:
    """The commands the TUI binds (those whose key is free) and a warning per one left out
    (a one-line summary and the full text)."""
    refused = _check(commands, dict(keymap or {}))
    names = {cmd.name for cmd, _line, _short in refused}
    return ([c for c in commands if c.name not in names],
            [(short, f"{line}. The command is left unbound.") for _c, line, short in refused])
