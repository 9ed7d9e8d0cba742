"""A session's environment variables and metadata: read, checked, and masked for showing.

Sources, lowest first (merged by :func:`vmuser_tui.core.launch.plan`): ``[session.env]`` in
the config, ``[projects."<id or name>".env]`` (:func:`config_env`), the devcontainer.json,
``--env-file`` files in order (:func:`read_env_file`), ``--env`` (:func:`parse_env_args`).

Forms, as ``docker run`` reads them:

- ``--env NAME=VALUE`` sets NAME; ``--env NAME`` copies NAME from vmuser's own environment
  (and sets nothing when vmuser has no NAME, as docker does).
- An env file holds one ``NAME=VALUE`` per line (or ``NAME``, as above); lines starting
  with ``#`` and blank lines are skipped; leading whitespace is dropped. There is **no
  quote processing**: ``A="x"`` sets A to the four characters ``"x"`` (docker's
  ``--env-file``, not a shell's or docker compose's ``.env``). UTF-8, a BOM allowed.

A name is letters, digits, ``_``, ``.`` or ``-``, not starting with a digit (docker takes
any name without whitespace; the stricter rule turns typos such as ``--env =x`` or ``--env
"A B=1"`` into an error before a container is made). Values hold no NUL (the engine refuses
it). Every refusal is a :class:`UsageError` (CLI exit 2) naming the source (and the file's
line) and the fix; a bad config table is a :class:`ConfigError`.

Values are never stored by vmuser (the session row keeps the names only, see
``Session.env_keys``): they live in the container, and :func:`masked` is how they are shown:
a value whose name or content looks secret by :mod:`vmuser_tui.core.redact`'s rules becomes
``***``.

``--meta KEY=VALUE`` (:func:`parse_meta`): the user's own labels for a session (a ticket, a
branch), stored and shown; a secret-looking pair is refused, since metadata is stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vmuser_tui.core.bounds import clip
from vmuser_tui.core.errors import ConfigError, UsageError
from vmuser_tui.core.redact import MASK, is_secret_name, redact_text
from vmuser_tui.core.text import printable

if TYPE_CHECKING:  # pragma: no cover
    from vmuser_tui.core.config import Config
    from vmuser_tui.core.models import Project

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
META_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
#: Largest env file read (bytes): an env file is a few lines; a bigger one is the wrong file.
MAX_ENV_FILE = 1024 * 1024
#: ``--meta``: most pairs, longest key and value (characters). Metadata is shown in tables.
MAX_META, MAX_META_KEY, MAX_META_VALUE = 64, 64, 1000
_NAME_RULE = "use letters, digits, _ . and -, not starting with a digit"


def check_name(name: str, where: str) -> str:
    """``name`` when it is a valid variable name; else UsageError naming ``where`` (e.g.
    ``"--env '=x'"``) and the rule."""
    if not name:
        raise UsageError(f"{where}: the variable name is empty; write NAME=VALUE, e.g. API_URL=http://localhost:8000")
    if not NAME.fullmatch(name):
        raise UsageError(f"{where}: {printable(clip(name))!r} is not a variable name; {_NAME_RULE}")
    return name


def _check_value(name: str, value: str, where: str) -> str:
    if "\0" in value:
        raise UsageError(f"{where}: the value of {name} holds a NUL character, which no environment can hold")
    return value


def _assignment(text: str, where: str, environ: Mapping[str, str]) -> tuple[str, str] | None:
    """``NAME=VALUE`` -> (NAME, VALUE); ``NAME`` -> (NAME, environ[NAME]) or None when unset."""
    name, sep, value = text.partition("=")
    check_name(name, where)
    if not sep:
        return (name, _check_value(name, environ[name], where)) if name in environ else None
    return name, _check_value(name, value, where)


def parse_env_args(items: Iterable[str], environ: Mapping[str, str]) -> dict[str, str]:
    """``--env`` arguments (``NAME=VALUE`` or ``NAME``) as a mapping, the last one of a name
    winning; ``environ`` is vmuser's own environment (for the ``NAME`` form)."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, _ = item.partition("=")  # (the value is left out of messages: it may be a secret)
        pair = _assignment(item, f"--env {printable(clip(name))}{'=...' if sep else ''}", environ)
        if pair is not None:
            out[pair[0]] = pair[1]
    return out


def read_env_file(path: str, environ: Mapping[str, str]) -> dict[str, str]:
    """The variables of the env file at ``path`` (docker's format: module docstring).
    UsageError for a file that is missing, unreadable, too big, not UTF-8, or a bad line
    (``--env-file app.env line 3: ...``)."""
    where = f"--env-file {printable(path)}"
    try:
        file = Path(path).expanduser()
        if file.stat().st_size > MAX_ENV_FILE:
            raise UsageError(f"{where}: larger than {MAX_ENV_FILE // 1024} KiB; give an env file of NAME=VALUE lines")
        data = file.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{where}: no such file; give the path of an env file of NAME=VALUE lines") from None
    except IsADirectoryError:
        raise UsageError(f"{where}: is a directory; give the path of an env file of NAME=VALUE lines") from None
    except OSError as exc:
        raise UsageError(f"{where}: cannot read it: {exc.strerror or exc}") from None
    out: dict[str, str] = {}
    for number, raw in enumerate(data.split(b"\n"), 1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise UsageError(f"{where} line {number}: not UTF-8 text; save the file as UTF-8") from None
        if number == 1:
            line = line.removeprefix("\ufeff")
        line = line.removesuffix("\r").lstrip()
        if not line or line.startswith("#"):
            continue
        name = line.partition("=")[0]
        if any(c.isspace() for c in name):
            raise UsageError(f"{where} line {number}: {printable(clip(name))!r} holds whitespace; write NAME=VALUE "
                             "(no spaces around =, no quotes needed)")
        pair = _assignment(line, f"{where} line {number}", environ)
        if pair is not None:
            out[pair[0]] = pair[1]
    return out


def check_env_table(where: str, table: Any) -> dict[str, str]:
    """A config table of variables (``[session.env]``, ``[projects.web.env]``) as a dict;
    ConfigError (``[session.env] PORT: expected a string in quotes, got 8000``) otherwise."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table of NAME = \"value\" lines")
    out: dict[str, str] = {}
    for name, value in table.items():
        if not NAME.fullmatch(name):
            raise ConfigError(f"{where}: {printable(clip(name))!r} is not a variable name; {_NAME_RULE}")
        if not isinstance(value, str):
            raise ConfigError(f"{where} {name}: expected a string in quotes, got {value!r}")
        if "\0" in value:
            raise ConfigError(f"{where} {name}: the value holds a NUL character")
        out[name] = value
    return out


def config_env(config: Config, project: Project) -> dict[str, str]:
    """The config's variables for a session of ``project``: ``[session.env]``, then the
    project's table found by name, then by id (the id is the more exact, so it wins)."""
    out = dict(config.session_env)
    for ref in (project.name, project.id):
        out.update(config.project_env.get(ref, {}))
    return out


def check_env(env: Mapping[str, str], where: str = "--env") -> dict[str, str]:
    """``env`` checked (names, values) as :func:`parse_env_args` would."""
    return {check_name(k, f"{where} {printable(clip(k))!r}"): _check_value(k, v, f"{where} {k}")
            for k, v in env.items()}


def parse_meta(items: Iterable[str]) -> dict[str, str]:
    """``--meta KEY=VALUE`` arguments as a mapping (the last of a key wins). UsageError for
    a missing ``=``, a bad key, a value with control characters or too long, too many
    pairs, or a pair that looks secret (metadata is stored: use ``--env`` for secrets)."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        where = f"--meta {printable(clip(key))}{'=...' if sep else ''}"
        if not sep:
            raise UsageError(f"{where}: write KEY=VALUE, e.g. --meta ticket=OPS-7")
        if not META_KEY.fullmatch(key) or len(key) > MAX_META_KEY:
            raise UsageError(f"{where}: the key must be 1-{MAX_META_KEY} letters, digits, _ . - "
                             "(first a letter or digit)")
        if len(value) > MAX_META_VALUE or printable(value) != value:
            raise UsageError(f"{where}: the value must be at most {MAX_META_VALUE} printable characters on one line")
        if looks_secret(key, value):
            raise UsageError(f"{where}: looks like a secret, and metadata is stored and shown; "
                             "pass secrets with --env (their values are never stored)")
        out[key] = value
    if len(out) > MAX_META:
        raise UsageError(f"--meta: at most {MAX_META} pairs, got {len(out)}")
    return out


def looks_secret(name: str, value: str) -> bool:
    """Whether a variable is shown masked: its name looks secret, or its value holds
    something :func:`~vmuser_tui.core.redact.redact_text` masks (a token shape, URL
    credentials)."""
    return is_secret_name(name) or redact_text(value) != value


def masked(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` for showing: secret-looking values (:func:`looks_secret`) become ``***``."""
    return {k: (MASK if looks_secret(k, v) else v) for k, v in env.items()}


def env_text(env: Mapping[str, str | None]) -> str:
    """``API_TOKEN=***, GREETING=hi`` (values as given: mask them first; None: value unknown,
    shown as the name alone), names sorted; the one wording of the CLI and the TUI."""
    return ", ".join(k if v is None else f"{k}={v}" for k, v in sorted(env.items()))
