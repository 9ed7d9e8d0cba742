"""What ``session exec`` accepts for ``-e`` and ``-w``: the checks, one-line errors naming the fix.

Pure (no I/O, imports only :mod:`vmuser_tui.core.errors`): the CLI parses ``-e K=V`` with
:func:`parse_env`, and :meth:`Sessions.exec_stream <vmuser_tui.core.sessions.Sessions.exec_stream>`
checks again whatever a caller hands it, so the TUI and scripts meet the same rules.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping

from vmuser_tui.core.errors import UsageError

#: Default working directory of a command (where the workspace is mounted).
DEFAULT_WORKDIR = "/workspace"
# A POSIX shell can name it ($NAME): letters, digits, underscore, not starting with a digit.
# Docker itself accepts more; a variable sh cannot read is almost always a typo.
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def parse_env(pairs: Iterable[str]) -> dict[str, str]:
    """``["K=V", ...]`` (``-e`` values) as a dict, later ones winning. Raises UsageError for
    an item without ``=`` or with a name a shell could not use."""
    env: dict[str, str] = {}
    for pair in pairs:
        name, eq, value = pair.partition("=")
        if not eq:
            raise UsageError(f"-e {pair!r} has no '=': give NAME=VALUE, e.g. -e DEBUG=1 (-e NAME= sets it empty)")
        env[name] = value
    return check_env(env)


def check_env(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` as a plain dict; UsageError for a bad name or a value with a NUL byte."""
    for name, value in env.items():
        if not _NAME.fullmatch(name):
            raise UsageError(f"-e: {name!r} is not a variable name: use letters, digits and _, "
                             "not starting with a digit (e.g. -e API_URL=http://localhost)")
        if "\0" in value:
            raise UsageError(f"-e {name}: the value holds a NUL byte, which no environment can carry")
    return dict(env)


def check_workdir(workdir: str | None) -> str:
    """The working directory in the container: :data:`DEFAULT_WORKDIR` when None or empty,
    else an absolute path (normalized). UsageError for a relative one: it would be relative
    to nothing the user can see (the container's own default, not their host directory)."""
    if not workdir:
        return DEFAULT_WORKDIR
    if not workdir.startswith("/"):
        raise UsageError(f"-w {workdir!r} is relative: give an absolute path in the container, "
                         f"e.g. -w {posixpath.join(DEFAULT_WORKDIR, workdir)}")
    if "\0" in workdir:
        raise UsageError("-w: the path holds a NUL byte")
    return posixpath.normpath(workdir)
