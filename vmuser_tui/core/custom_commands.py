"""Custom commands: ``[[commands]]`` in config.toml, checked, and their placeholders filled.

The idea comes from k9s plugins (``plugins.yaml``: a shortcut, scopes, a command and its
args with ``$NAMESPACE``/``$NAME``, ``confirm``) and lazydocker's ``customCommands`` (a
name, an attach/key, a command template over the selected container). One entry::

    [[commands]]
    name = "tests"                       # shown in help (?) and the command palette
    key = "ctrl+t"                       # one key, bound on the screen of its scope
    scope = "session"                    # project | session | checkpoint | file
    command = "pytest -q {workspace}"    # placeholders: see PLACEHOLDERS
    where = "container"                  # container (the session's) | host (cwd: the workspace)
    confirm = false                      # ask first
    changes = false                      # true: refused in read-only mode

Safety: the command line is split with :func:`shlex.split` *before* the placeholders are
filled, and each value lands inside the one argv word that named it, so a project name or
a path holding spaces, quotes, ``;`` or ``$(...)`` is one argument and never shell syntax.
Nothing here runs a shell; a placeholder inside the script of ``sh -c`` would put the value
back into shell syntax, so that is refused: pass it as an argument
(``sh -c 'cat "$1"' sh {path}``). ``{{`` and ``}}`` are literal braces.

Pure: no Textual, no database. Errors are :class:`~vmuser_tui.core.errors.ConfigError`
(bad entry: one line naming the entry and key) and
:class:`~vmuser_tui.core.errors.UsageError` (a placeholder with no value here).
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vmuser_tui.core.errors import ConfigError, UsageError

#: Where a command is bound: project, session and checkpoint on the project screen, file on the files screen.
SCOPES = ("project", "session", "checkpoint", "file")
#: Where it runs: in the session's container (streaming exec) or on the host (cwd: the workspace).
WHERES = ("container", "host")
#: The placeholders and what fills them.
PLACEHOLDERS: dict[str, str] = {
    "project": "the project's name",
    "session": "the session's id (the selected one, else the running one)",
    "container": "the session's container name",
    "checkpoint": "the selected checkpoint's id (the one browsed on the files screen)",
    "path": "the selected file's path in the workspace (files screen)",
    "workspace": "the workspace folder: the host path on the host, the container's workdir in the container",
}
#: Keys of one ``[[commands]]`` entry and whether each is required.
FIELDS: dict[str, bool] = {"name": True, "key": True, "scope": True, "command": True, "where": False,
                           "confirm": False, "changes": False}
SHELLS = frozenset({"sh", "bash", "dash", "ash", "zsh", "ksh", "fish", "busybox"})
MAX_COMMANDS = 100

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


@dataclass(frozen=True)
class CustomCommand:
    """One checked ``[[commands]]`` entry. ``words``: the command line split by shlex
    (placeholders still in); ``placeholders``: the names it uses, in order of first use."""

    name: str
    key: str
    scope: str
    command: str
    words: tuple[str, ...]
    placeholders: tuple[str, ...]
    where: str = "host"
    confirm: bool = False
    changes: bool = False

    @property
    def ident(self) -> str:
        """The binding id shown in help: ``command.<name>``."""
        return f"command.{self.name}"


@dataclass(frozen=True)
class CommandContext:
    """What the placeholders may be filled with here (None: no value in this context)."""

    project: str | None = None
    session: str | None = None
    container: str | None = None
    checkpoint: str | None = None
    path: str | None = None
    workspace: str | None = None

    def value(self, name: str) -> str | None:
        value: str | None = getattr(self, name)
        return value


def _placeholders(word: str) -> list[str]:
    """Names of the placeholders in one word; ValueError naming a bad brace or name."""
    names = []
    for m in _TOKEN.finditer(word):
        token = m.group(0)
        if token in ("{{", "}}"):
            continue
        if m.group(1) is None:
            raise ValueError(f"a lone {token!r} in {word!r}; write {token * 2} for a literal brace")
        name = m.group(1)
        if name not in PLACEHOLDERS:
            raise ValueError(f"unknown placeholder {{{name}}}; known: "
                             + ", ".join("{" + p + "}" for p in PLACEHOLDERS) + " ({{ }} for literal braces)")
        names.append(name)
    return names


def _shell_script_index(words: list[str]) -> int | None:
    """Index of the script word of ``sh -c SCRIPT`` (any shell of :data:`SHELLS`), or None."""
    if not words or os.path.basename(words[0]) not in SHELLS:
        return None
    for i, word in enumerate(words[1:], 1):
        if word == "--" or not word.startswith("-"):
            return None
        if not word.startswith("--") and "c" in word[1:]:
            return i + 1 if i + 1 < len(words) else None
    return None


def _where(index: int, entry: Mapping[str, Any]) -> str:
    name = entry.get("name")
    named = f" \"{name}\"" if isinstance(name, str) and name else ""
    return f"[[commands]] #{index}{named}"


def parse_entry(index: int, entry: Any) -> CustomCommand:
    """Check one ``[[commands]]`` table (``index`` counts from 1, for messages)."""
    if not isinstance(entry, dict):
        raise ConfigError(f"[[commands]] #{index}: must be a table with name, key, scope, command")
    where = _where(index, entry)
    for key in entry:
        if key not in FIELDS:
            raise ConfigError(f"{where}: unknown key {key}; known: {', '.join(FIELDS)}")
    for key, required in FIELDS.items():
        if required and key not in entry:
            raise ConfigError(f"{where}: missing key {key}")
    for key in ("name", "key", "scope", "command", "where"):
        if key in entry and (not isinstance(entry[key], str) or not entry[key].strip()):
            raise ConfigError(f"{where}: {key}: expected a non-empty string in quotes, got {entry[key]!r}")
    for key in ("confirm", "changes"):
        if key in entry and not isinstance(entry[key], bool):
            raise ConfigError(f"{where}: {key}: expected true or false, got {entry[key]!r}")
    name = entry["name"].strip()
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", name):
        raise ConfigError(f"{where}: name: letters, digits, '.', '_', '-' (up to 64), got {name!r}")
    key = entry["key"].strip()
    if "," in key or " " in key:
        raise ConfigError(f"{where}: key: one key such as \"ctrl+t\" or \"F\", got {key!r}")
    scope = entry["scope"]
    if scope not in SCOPES:
        raise ConfigError(f"{where}: scope: expected one of {', '.join(SCOPES)}, got {scope!r}")
    run_where = entry.get("where", "host")
    if run_where not in WHERES:
        raise ConfigError(f"{where}: where: expected one of {', '.join(WHERES)}, got {run_where!r}")
    try:
        words = shlex.split(entry["command"])
    except ValueError as exc:
        raise ConfigError(f"{where}: command: cannot split it like a shell would: {exc}") from None
    if not words:
        raise ConfigError(f"{where}: command: empty")
    used: list[str] = []
    for word in words:
        try:
            found = _placeholders(word)
        except ValueError as exc:
            raise ConfigError(f"{where}: command: {exc}") from None
        used += [n for n in found if n not in used]
    if _placeholders(words[0]):
        raise ConfigError(f"{where}: command: the program ({words[0]!r}) cannot be a placeholder")
    script = _shell_script_index(words)
    if script is not None and _placeholders(words[script]):
        raise ConfigError(f"{where}: command: a placeholder inside the {words[0]} -c script would be shell syntax; "
                          f"pass it as an argument: {words[0]} -c 'echo \"$1\"' {words[0]} {{path}}")
    return CustomCommand(name=name, key=key, scope=scope, command=entry["command"], words=tuple(words),
                         placeholders=tuple(used), where=run_where, confirm=entry.get("confirm", False),
                         changes=entry.get("changes", False))


def parse_commands(value: Any) -> list[CustomCommand]:
    """Check the ``commands`` array of tables of a config file. ConfigError: one line."""
    if not isinstance(value, list):
        raise ConfigError("'commands' must be an array of tables: [[commands]]")
    if len(value) > MAX_COMMANDS:
        raise ConfigError(f"[[commands]]: at most {MAX_COMMANDS} entries, got {len(value)}")
    out: list[CustomCommand] = []
    names: set[str] = set()
    for i, entry in enumerate(value, 1):
        cmd = parse_entry(i, entry)
        if cmd.name in names:
            raise ConfigError(f"{_where(i, entry)}: name: another [[commands]] entry is already called {cmd.name!r}")
        names.add(cmd.name)
        out.append(cmd)
    return out


def missing(cmd: CustomCommand, context: CommandContext) -> list[str]:
    """Placeholders of ``cmd`` that have no value in ``context``."""
    return [name for name in cmd.placeholders if context.value(name) is None]


def expand(cmd: CustomCommand, context: CommandContext) -> list[str]:
    """The argv to run: each word of ``cmd.words`` with its placeholders filled in place
    (a value never splits a word or adds one). UsageError naming the placeholder (and
    what would give it a value) when one has none here."""
    absent = missing(cmd, context)
    if absent:
        name = absent[0]
        raise UsageError(f"command {cmd.name!r}: {{{name}}} has no value here ({PLACEHOLDERS[name]}); "
                         f"select one first")

    def fill(m: re.Match[str]) -> str:
        token = m.group(0)
        if token in ("{{", "}}"):
            return token[0]
        value = context.value(m.group(1))
        assert value is not None
        return value

    return [_TOKEN.sub(fill, word) for word in cmd.words]


def example() -> list[str]:
    """The commented example block of ``config.example.toml``."""
    return [
        "# Custom commands (as k9s plugins and lazydocker customCommands), bound on the screen of their scope:",
        "# project, session, checkpoint (project screen) or file (files screen); listed in help (?) and ctrl+p.",
        "# Placeholders, each filled inside its own argument (never shell syntax): "
        + ", ".join("{" + p + "}" for p in PLACEHOLDERS) + ".",
        "# where: container (the session's; output streamed) or host (cwd: the workspace). confirm: ask first.",
        "# changes = true: refused in read-only mode. To use a shell, pass values as arguments:",
        "# sh -c 'grep -n TODO \"$1\"' sh {path}",
        "# [[commands]]",
        '# name = "tests"',
        '# key = "ctrl+t"',
        '# scope = "session"',
        '# command = "sh -c \'cd \\"$1\\" && make test\' sh {workspace}"',
        '# where = "container"',
        "# confirm = false",
        "# changes = false",
    ]
