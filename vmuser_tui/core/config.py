"""Settings: TOML in (tomllib), TOML out (tomli-w), ``VMUSER_*`` overrides, validation.

Layering, lowest first: built-in defaults (:data:`SCHEMA`) < the config file <
environment variables ``VMUSER_<SECTION>_<KEY>`` (e.g. ``VMUSER_DOCKER_IMAGE``,
``VMUSER_DATA_DIR``) < explicit overrides from the command line (``--data-dir``).
The file path is ``--config`` / ``VMUSER_CONFIG`` / the platformdirs config dir.

Over 600 lines on purpose: about half is :data:`SCHEMA`, one table of every setting with
its type, default, range and help text (which ``config.example.toml``, the settings screen
and ``config validate`` all read); splitting the table from its validator would leave two
files that must change together. The free-form tables (``[session.env]``,
``[projects.*.env]``, ``[[commands]]``) are read here too, each by its own small validator.
"""

from __future__ import annotations

import math
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vmuser_tui.core.bounds import MAX_COUNT, MAX_DAYS, TiB, clip, show_size
from vmuser_tui.core.errors import ConfigError, VmuserError
from vmuser_tui.core.secret_files import DEFAULT_SECRET_PATTERNS

if TYPE_CHECKING:  # pragma: no cover - loaded when a config file has these tables (start-up time)
    from vmuser_tui.core.custom_commands import CustomCommand
    from vmuser_tui.core.engine_config import EngineConfig

APP_NAME = "vmuser"


@dataclass(frozen=True)
class Setting:
    """One setting: its type (``int``, ``float``, ``bool``, ``str``, ``size``, ``list``),
    default, one-line documentation, bounds (every ``int``, ``float`` and ``size`` has
    both, inclusive; sizes in bytes) or choices."""

    kind: str
    default: Any
    doc: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] | None = None
    check: Callable[[Any], str | None] | None = None  # None when fine, else what is expected


# Section -> key -> Setting. `vmuser config init` and config.example.toml are generated
# from this table, so a setting documented there always exists here and vice versa.
SCHEMA: dict[str, dict[str, Setting]] = {
    "data": {
        "dir": Setting("str", "", "Data directory (database, managed workspaces). Empty: the platform default."),
    },
    "docker": {
        "base_url": Setting(
            "str", "",
            "Docker engine URL, e.g. 'unix:///var/run/docker.sock'. Empty: DOCKER_HOST or the default socket.",
        ),
        "image": Setting(
            "str", "debian:bookworm-slim",
            "Default image for new sessions. If it cannot be pulled, vmuser builds 'vmuser-busybox:local' from "
            "busybox-static.",
        ),
        "memory": Setting(
            "size", "1g",
            "Memory limit per container (bytes, or with k/m/g suffix).",
            minimum=4 * 1024 * 1024, maximum=4 * TiB,
        ),
        "cpus": Setting("float", 1.0, "CPU limit per container, in cores.", minimum=0.01, maximum=1024),
        "pids_limit": Setting("int", 512, "Maximum number of processes per container.", minimum=16, maximum=1_000_000),
        "timeout": Setting("int", 30, "Seconds to wait for the Docker engine to answer.", minimum=1, maximum=3600),
        "user": Setting(
            "str", "",
            "User session containers run as: \"uid:gid\" (numbers) or \"root\". Empty: your uid:gid; when vmuser runs"
            " as root, an unprivileged one (the workspace folder's owner; 65534:65534 for managed workspaces), so"
            " no file a session makes is set-uid root on the host.",
            check=lambda value: _check_user(value),
        ),
    },
    "devcontainer": {
        "allow_bind_mounts": Setting(
            "bool", False,
            "Let a workspace's devcontainer.json bind-mount host folders (mounts with type=bind). Off: named volumes"
            " only; the file is writable from inside the container, so it must not reach host folders.",
        ),
        "hook_timeout": Setting(
            "int", 600,
            "Seconds a devcontainer.json postCreateCommand/postStartCommand may run before session start goes on"
            " without it (it keeps running in the container).",
            minimum=1, maximum=86400,
        ),
    },
    "limits": {
        "max_file_size": Setting(
            "size", "100m",
            "Largest file the virtual filesystem writes or project create --import copies (bytes, or k/m/g).",
            minimum=1, maximum=TiB,
        ),
        "max_entries_per_dir": Setting(
            "int", 100_000,
            "Most entries one directory may hold when written or imported through vmuser.",
            minimum=1, maximum=10_000_000,
        ),
        "max_import_size": Setting(
            "size", "10g",
            "Most bytes project create --import copies in all; checked before anything is copied.",
            minimum=1, maximum=64 * TiB,
        ),
        "outside_symlinks": Setting(
            "str", "refuse",
            "Symlinks pointing outside the workspace, met by a restore or an import: 'refuse' (a restore leaves "
            "them out and reports them, an import stops before copying) or 'store' (a plain file holding the "
            "link's target text, never a link).",
            choices=("refuse", "store"),
        ),
        "max_projects": Setting(
            "int", 10_000,
            "Most projects this data directory may hold.",
            minimum=1, maximum=1_000_000,
        ),
    },
    "store": {
        "compression_level": Setting(
            "int", 3,
            "zstd level for stored blobs (1 fastest .. 19 smallest).",
            minimum=1, maximum=19,
        ),
        "workers": Setting(
            "int", 0,
            "Threads that hash and compress during capture. 0: number of CPUs.",
            minimum=0, maximum=256,
        ),
    },
    "snapshots": {
        "enabled": Setting(
            "bool", True,
            "Automatic checkpoints: every interval seconds, after files change, and when a session stops (the "
            "snapshot job of the TUI or of vmuser worker). false: only the checkpoints you take.",
        ),
        "interval": Setting(
            "int", 300,
            "Seconds between automatic checkpoints of a running session, if anything changed (the snapshot job of"
            " the TUI or of vmuser worker).",
            minimum=5, maximum=7 * 86400,
        ),
        "debounce": Setting(
            "float", 2.0,
            "Seconds of quiet after file changes before an automatic checkpoint, so a burst of saves makes one.",
            minimum=0.1, maximum=3600,
        ),
        "ignore": Setting(
            "list", [],
            "Ignore patterns (gitignore syntax, e.g. [\"*.log\", \"build/\"]) added to the workspace's .vmuserignore:"
            " left out of checkpoints and live diffs.",
        ),
        "container_image": Setting(
            "bool", False,
            "Also record each checkpoint's container filesystem (docker commit: packages installed outside "
            "/workspace); vmuser checkpoint restore --container recreates the container from it. Images of "
            "forgotten checkpoints are removed by gc.",
        ),
        "secret_patterns": Setting(
            "list", list(DEFAULT_SECRET_PATTERNS),
            "Secret files left out of automatic checkpoints (gitignore syntax). [] keeps them; one project opts "
            "in with e.g. '!.env' in its .vmuserignore.",
        ),
    },
    "retention": {
        "keep_last": Setting(
            "int", 10,
            "vmuser checkpoint forget keeps the N newest automatic checkpoints (0: off, -1: all). Manual, tagged "
            "and annotated checkpoints are always kept.",
            minimum=-1, maximum=MAX_COUNT,
        ),
        "keep_hourly": Setting(
            "int", 24,
            "Keep the newest automatic checkpoint of each of the N newest hours that have one (UTC).",
            minimum=-1, maximum=MAX_COUNT,
        ),
        "keep_daily": Setting(
            "int", 7,
            "Keep the newest automatic checkpoint of each of the N newest days that have one (UTC).",
            minimum=-1, maximum=MAX_COUNT,
        ),
        "keep_weekly": Setting(
            "int", 4,
            "Keep the newest automatic checkpoint of each of the N newest ISO weeks (Monday-Sunday, UTC) that "
            "have one.",
            minimum=-1, maximum=MAX_COUNT,
        ),
        "keep_monthly": Setting(
            "int", 0,
            "Keep the newest automatic checkpoint of each of the N newest months that have one (UTC).",
            minimum=-1, maximum=MAX_COUNT,
        ),
        "keep_yearly": Setting(
            "int", 0,
            "Keep the newest automatic checkpoint of each of the N newest years that have one (UTC).",
            minimum=-1, maximum=MAX_COUNT,
        ),
        "keep_within": Setting(
            "str", "",
            "Keep every automatic checkpoint taken within this time of the newest one, e.g. '2d', '36h', '1m15d' "
            "(m: months, as in restic). Empty: off.",
        ),
    },
    "cleanup": {
        "enabled": Setting(
            "bool", False,
            "Let the cleanup job delete projects idle for longer than after_days (pinned ones never); preview "
            "with vmuser cleanup --dry-run.",
        ),
        "after_days": Setting(
            "int", 30,
            "Days of inactivity after which a project is deleted.",
            minimum=1, maximum=MAX_DAYS,
        ),
        "warning_days": Setting(
            "int", 7,
            "Days before deletion from which a project is flagged.",
            minimum=0, maximum=MAX_DAYS - 1,
        ),
        "check_interval": Setting(
            "int", 3600,
            "Seconds between two passes of the cleanup job (flag idle projects, delete those due).",
            minimum=60, maximum=30 * 86400,
        ),
    },
    "runtime": {
        "max_running": Setting(
            "int", 0,
            "Most sessions running at once; starting one more checkpoints and stops the least recently used (0: "
            "no limit).",
            minimum=0, maximum=10_000,
        ),
        "memory_budget": Setting(
            "size", 0,
            "Sum of running containers' memory limits ([docker] memory each); starting one beyond it stops the "
            "least recently used first (0: no limit).",
            minimum=0, maximum=64 * TiB,
        ),
        "keep_stopped": Setting(
            "bool", False,
            "Keep a stopped session's container (stopped, not removed: docker start/inspect/logs still work); "
            "vmuser session rm or deleting its project removes it. false: stopping removes the container.",
        ),
        "container_stop_on_disconnect": Setting(
            "bool", False,
            "When the last TUI attached to a session closes, checkpoint it and stop its container; opening the "
            "session again starts a new one.",
        ),
    },
    "ui": {
        "theme": Setting(
            "str", "textual-dark",
            "Textual theme name (e.g. textual-dark, textual-light, nord, gruvbox).",
        ),
        "read_only": Setting("bool", False, "Start the TUI read-only: browse, diff and view only."),
    },
}

def _check_user(value: str) -> str | None:
    """``[docker] user``'s check (:func:`vmuser_tui.core.container_user.check_setting`),
    loaded when a value other than the default (empty) is checked."""
    if value == "":  # the default, valid (container_user.parse("") is None): no import
        return None
    from vmuser_tui.core import container_user

    return container_user.check_setting(value)


_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def parse_size(value: Any) -> int:
    """Parse ``'512m'``, ``'1g'``, ``'2.5G'``, ``1048576`` into bytes. Raises ValueError."""
    if isinstance(value, bool):
        raise ValueError("a size, not true/false")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("a size cannot be negative")
        return value
    if isinstance(value, str):
        m = _SIZE_RE.match(value)
        if m and "." not in m.group(1):  # whole numbers (every default): int arithmetic is exact
            return int(m.group(1)) * _SIZE_UNITS[m.group(2).lower()]
        if m:
            from fractions import Fraction

            # exact arithmetic: float() of a long digit string is inf, and int(inf) overflows
            return int(Fraction(m.group(1)) * _SIZE_UNITS[m.group(2).lower()])
    raise ValueError("a size in bytes or with a k/m/g/t suffix, e.g. '512m'")


def _coerce(section: str, key: str, setting: Setting, value: Any, *, from_text: bool) -> Any:
    """Check ``value`` against ``setting``; text from env vars is converted first."""
    where = f"[{section}] {key}"
    out: Any  # the setting's Python value: int, float, bool, str or list[str]
    try:
        if setting.kind == "size":
            out = parse_size(value)
        elif setting.kind == "bool":
            if from_text and isinstance(value, str):
                low = value.strip().lower()
                if low not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                    raise ValueError
                value = low in ("1", "true", "yes", "on")
            if not isinstance(value, bool):
                raise ValueError
            out = value
        elif setting.kind == "int":
            if from_text and isinstance(value, str):
                value = int(value.strip())
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError
            out = value
        elif setting.kind == "float":
            if from_text and isinstance(value, str):
                value = float(value.strip())
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError
            # an int too big for a float stays an int: the range check below refuses it
            out = value if isinstance(value, int) and abs(value) > 2**1000 else float(value)
        elif setting.kind == "list":
            if from_text and isinstance(value, str):
                value = [v.strip() for v in value.split(",") if v.strip()]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ValueError
            out = list(value)
        else:
            if not isinstance(value, str):
                raise ValueError
            out = value
    except ValueError as exc:
        expected = {
            "size": "a size such as 1048576 or '512m'",
            "bool": "true or false",
            "int": "a whole number",
            "float": "a number",
            "list": "a list of strings, e.g. [\"*.log\"]",
            "str": "a string in quotes",
        }[setting.kind]
        detail = f" ({exc})" if str(exc) and setting.kind == "size" else ""
        got = clip(value) if isinstance(value, str) else value
        raise ConfigError(f"{where}: expected {expected}, got {got!r}{detail}") from None
    _check_range(where, setting, value, out)
    if setting.choices and out not in setting.choices:
        raise ConfigError(f"{where}: expected one of {', '.join(setting.choices)}, got {value!r}")
    if setting.check is not None and (problem := setting.check(out)):
        raise ConfigError(f"{where}: {problem}, got {clip(value)!r}")
    return out


def _show(setting: Setting, number: float) -> str:
    """A bound as the user would write it: sizes with a suffix (``4t``), numbers plainly."""
    if setting.kind == "size":
        return show_size(number)
    return str(int(number)) if float(number).is_integer() else f"{number:g}"


def allowed(setting: Setting) -> str:
    """The allowed range of a numeric setting, e.g. ``'1 to 36500'`` or ``'4m to 4t'``;
    ``''`` for settings without bounds."""
    if setting.minimum is None or setting.maximum is None:
        return ""
    return f"{_show(setting, setting.minimum)} to {_show(setting, setting.maximum)}"


def _check_range(where: str, setting: Setting, given: Any, out: Any) -> None:
    """Raise ConfigError when the number ``out`` (parsed from ``given``) is not finite or
    lies outside the setting's bounds: ``[cleanup] after_days: 99999999999 is above the
    maximum 36500 (allowed: 1 to 36500)``. nan and inf are refused first: nan compares
    false with every bound, so a plain range check would let it through."""
    if setting.kind not in ("int", "float", "size"):
        return
    shown = given if isinstance(given, str) and setting.kind == "size" else out
    if isinstance(shown, str):
        shown = repr(clip(shown))
    else:
        shown = f"{shown:g}" if isinstance(shown, float) else clip(str(shown))
    span = allowed(setting)
    tail = f" (allowed: {span})" if span else ""
    if isinstance(out, float) and not math.isfinite(out):
        raise ConfigError(f"{where}: {shown} is not a finite number{tail}")
    if setting.minimum is not None and out < setting.minimum:
        raise ConfigError(f"{where}: {shown} is below the minimum {_show(setting, setting.minimum)}{tail}")
    if setting.maximum is not None and out > setting.maximum:
        raise ConfigError(f"{where}: {shown} is above the maximum {_show(setting, setting.maximum)}{tail}")


def default_config_path() -> Path:
    """``~/.config/vmuser/config.toml`` on Linux (platformdirs)."""
    return _user_dir("XDG_CONFIG_HOME", "~/.config", "user_config_dir") / "config.toml"


def default_data_dir() -> Path:
    """``~/.local/share/vmuser`` on Linux (platformdirs)."""
    return _user_dir("XDG_DATA_HOME", "~/.local/share", "user_data_dir")


def _user_dir(variable: str, fallback: str, name: str) -> Path:
    """platformdirs' ``name`` (e.g. ``user_config_dir``) for vmuser. On Linux that is the XDG
    rule, ``$variable`` (when not blank) or ``fallback``, plus ``/vmuser``, computed here:
    importing platformdirs costs ~5 ms of every command's start-up (issue 15). Elsewhere
    platformdirs answers."""
    if sys.platform == "linux":
        base = os.environ.get(variable, "")
        return Path(base if base.strip() else os.path.expanduser(fallback)) / APP_NAME
    import platformdirs

    return Path(getattr(platformdirs, name)(APP_NAME))


@dataclass
class Config:
    """Effective settings. ``values[section][key]`` holds validated values (sizes in bytes).

    ``path`` is the file the settings were read from (it may not exist);
    ``sources[(section, key)]`` says where each value came from: default, file or env.
    """

    path: Path
    values: dict[str, dict[str, Any]]
    sources: dict[tuple[str, str], str]
    keymap: dict[str, str]
    # Environment variables for sessions (issue 13): ``[session.env]`` for every session,
    # ``[projects."<id or name>".env]`` per project (see :data:`ENV_TABLES`).
    session_env: dict[str, str] = field(default_factory=dict)
    project_env: dict[str, dict[str, str]] = field(default_factory=dict)
    # ``[[commands]]`` (issue 16): custom commands, checked by core.custom_commands
    commands: list[CustomCommand] = field(default_factory=list)
    # ``[engines.NAME]`` (issue 14): Docker engines besides ``local``, see core/engine_config.py
    engines: dict[str, EngineConfig] = field(default_factory=dict)
    # ``[projects."<id or name>"] engine = "NAME"``: where the project's sessions start by default
    project_engine: dict[str, str] = field(default_factory=dict)

    def get(self, section: str, key: str) -> Any:
        """The value of ``[section] key``."""
        return self.values[section][key]

    @property
    def data_dir(self) -> Path:
        """The data directory: ``[data] dir`` or the platform default, always absolute (a
        relative ``--data-dir data`` is taken from the current folder: managed workspaces are
        stored by path, and a relative one would be "missing" from any other folder)."""
        configured = self.values["data"]["dir"]
        return Path(configured).expanduser().absolute() if configured else default_data_dir()

    def to_toml_dict(self) -> dict[str, Any]:
        """The effective settings as a TOML-ready dict (sizes in bytes)."""
        out: dict[str, Any] = {s: dict(v) for s, v in self.values.items()}
        # variables as they are shown everywhere: secret-looking values masked
        from vmuser_tui.core.session_env import masked

        if self.session_env:
            out["session"] = {"env": masked(self.session_env)}
        projects: dict[str, dict[str, Any]] = {}
        for ref, env in self.project_env.items():
            if env:
                projects.setdefault(ref, {})["env"] = masked(env)
        for ref, engine in self.project_engine.items():
            projects.setdefault(ref, {})["engine"] = engine
        if projects:
            out["projects"] = projects
        if self.keymap:
            out["keymap"] = dict(self.keymap)
        if self.engines:
            out["engines"] = {name: e.to_toml() for name, e in self.engines.items()}
        if self.commands:
            out["commands"] = [{"name": c.name, "key": c.key, "scope": c.scope, "command": c.command,
                                "where": c.where, "confirm": c.confirm, "changes": c.changes} for c in self.commands]
        return out


def resolve_config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """``explicit`` (``--config``), else ``$VMUSER_CONFIG``, else the platform default."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get("VMUSER_CONFIG")
    return Path(env).expanduser() if env else default_config_path()


def load(
    path: str | os.PathLike[str] | None = None,
    *,
    overrides: dict[tuple[str, str], Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Read, layer and validate the settings.

    ``overrides`` maps ``(section, key)`` to values that win over everything (from CLI
    flags). A missing file means defaults. Raises :class:`ConfigError` naming the file and
    line for TOML syntax errors, and the ``[section] key`` and expected type for bad values.
    """
    cfg_path = resolve_config_path(path)
    env: Mapping[str, str] = os.environ if environ is None else environ
    raw: dict[str, Any] = {}
    try:
        text: str | None = cfg_path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        text = None  # no file: the defaults
    except (OSError, UnicodeDecodeError) as exc:  # e.g. a folder on the way we may not enter
        raise ConfigError(f"{cfg_path}: cannot read config file: {exc}; "
                          "fix its permissions or pass --config") from None
    if text is not None:
        import tomllib  # (only with a file to parse: start-up time)

        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{cfg_path}: invalid TOML: {exc}") from None
    values: dict[str, dict[str, Any]] = {}
    sources: dict[tuple[str, str], str] = {}
    for section, settings in SCHEMA.items():
        values[section] = {}
        for key, setting in settings.items():
            values[section][key] = _coerce(section, key, setting, setting.default, from_text=False)
            sources[(section, key)] = "default"
    keymap: dict[str, str] = {}
    session_env: dict[str, str] = {}
    project_env: dict[str, dict[str, str]] = {}
    commands: list[CustomCommand] = []
    engines: dict[str, EngineConfig] = {}
    project_engine: dict[str, str] = {}
    for section, table in raw.items():
        if section == "engines":
            from vmuser_tui.core.engine_config import parse_engines

            try:
                engines = parse_engines(table)
            except ConfigError as exc:
                raise ConfigError(f"{cfg_path}: {exc}") from None
            continue
        if section == "commands":
            from vmuser_tui.core.custom_commands import parse_commands

            try:
                commands = parse_commands(table)
            except ConfigError as exc:
                raise ConfigError(f"{cfg_path}: {exc}") from None
            continue
        if section == "keymap":
            if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
                raise ConfigError(f"{cfg_path}: [keymap] must map binding ids to key strings")
            keymap = dict(table)
            continue
        if section in ENV_TABLES:
            try:
                if section == "session":
                    session_env = _env_tables("session", table).get("", {})
                else:
                    project_env = _env_tables("projects", table)
                    project_engine = _project_engines(table)
            except ConfigError as exc:
                raise ConfigError(f"{cfg_path}: {exc}") from None
            continue
        if section not in SCHEMA:
            raise ConfigError(
                f"{cfg_path}: unknown section [{section}]; known: {', '.join(sorted(SCHEMA))}, keymap, commands, "
                f"engines, {', '.join(ENV_TABLES)}"
            )
        if not isinstance(table, dict):
            raise ConfigError(f"{cfg_path}: '{section}' must be a table ([{section}])")
        for key, value in table.items():
            if key not in SCHEMA[section]:
                known = ", ".join(SCHEMA[section])
                raise ConfigError(f"{cfg_path}: unknown key [{section}] {key}; known: {known}")
            try:
                values[section][key] = _coerce(section, key, SCHEMA[section][key], value, from_text=False)
            except ConfigError as exc:
                raise ConfigError(f"{cfg_path}: {exc}") from None
            sources[(section, key)] = "file"
    for name, text in env.items():
        if not name.startswith("VMUSER_") or name == "VMUSER_CONFIG":
            continue
        rest = name[len("VMUSER_"):].lower()
        section, _, key = rest.partition("_")
        if section in SCHEMA and key in SCHEMA[section]:
            try:
                values[section][key] = _coerce(section, key, SCHEMA[section][key], text, from_text=True)
            except ConfigError as exc:
                raise ConfigError(f"environment variable {name}: {exc}") from None
            sources[(section, key)] = "env"
    for (section, key), value in (overrides or {}).items():
        if value is None:
            continue
        values[section][key] = _coerce(section, key, SCHEMA[section][key], value, from_text=True)
        sources[(section, key)] = "option"
    if values["retention"]["keep_within"]:
        from vmuser_tui.core.retention import parse_duration

        try:
            parse_duration(values["retention"]["keep_within"])
        except VmuserError as exc:
            raise ConfigError(f"[retention] keep_within: {exc}") from None
    if values["cleanup"]["warning_days"] >= values["cleanup"]["after_days"]:
        raise ConfigError(
            f"[cleanup] warning_days ({values['cleanup']['warning_days']}) must be less than "
            f"after_days ({values['cleanup']['after_days']})"
        )
    for ref, name in project_engine.items():
        if name != "local" and name not in engines:
            raise ConfigError(f"{cfg_path}: [projects.{_toml_key(ref)}] engine = {name!r} names no engine; known: "
                              f"local{''.join(', ' + n for n in engines)} (add it as [engines.{name}])")
    return Config(path=cfg_path, values=values, sources=sources, keymap=keymap, session_env=session_env,
                  project_env=project_env, commands=commands, engines=engines, project_engine=project_engine)


#: Tables of environment variables, free-form (any variable name) and so outside
#: :data:`SCHEMA`, checked by :func:`vmuser_tui.core.session_env.check_env_table`:
#: ``[session.env]`` (every session) and ``[projects."<project id or name>".env]`` (one
#: project's sessions). In the config file rather than the database because values may be
#: secrets: vmuser's database keeps variable names only.
ENV_TABLES = ("session", "projects")


def _env_tables(section: str, table: Any) -> dict[str, dict[str, str]]:
    """``[session]`` -> ``{"": env}``; ``[projects]`` -> ``{project ref: env}``. Each table
    may hold only ``env``; ConfigError naming the table otherwise."""
    from vmuser_tui.core.session_env import check_env_table

    if not isinstance(table, dict):
        raise ConfigError(f"'{section}' must be a table ([{section}.env])")
    owners = {"": table} if section == "session" else table
    out: dict[str, dict[str, str]] = {}
    for ref, body in owners.items():
        where = f"[{section}]" if not ref else f"[{section}.{_toml_key(ref)}]"
        if not isinstance(body, dict):
            raise ConfigError(f"{where} must be a table holding env, e.g. [{section}.{_toml_key(ref or 'web')}.env]")
        known = ("env", "engine") if section == "projects" else ("env",)
        for key in body:
            if key not in known:
                raise ConfigError(f"unknown key {where} {key}; known: {', '.join(known)}")
        out[ref] = check_env_table(f"{where[:-1]}.env]", body.get("env", {}))
    return out


def _project_engines(table: Any) -> dict[str, str]:
    """``[projects."<ref>"] engine = "NAME"`` -> ``{ref: NAME}`` (names checked by the caller
    against ``[engines]``, which may come later in the file)."""
    out: dict[str, str] = {}
    for ref, body in table.items():
        if isinstance(body, dict) and "engine" in body:
            if not isinstance(body["engine"], str) or not body["engine"]:
                raise ConfigError(f"[projects.{_toml_key(ref)}] engine must be an engine's name, e.g. \"local\"")
            out[ref] = body["engine"]
    return out


def _toml_key(key: str) -> str:
    """A table name as TOML spells it: bare when it can be, else quoted."""
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _toml_value(value: Any) -> str:
    """One value in TOML syntax (tomli-w formats it exactly as a file would hold it), on one
    line: tomli-w spreads longer arrays over several lines, which a ``# key = ...`` comment cannot hold."""
    import tomli_w

    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return tomli_w.dumps({"v": value}).split("=", 1)[1].strip()


def commented_default() -> str:
    """The text of a default config file: every setting, documented, commented out.

    ``vmuser config init`` writes it; ``config.example.toml`` in the repository is the same text.
    """
    from vmuser_tui.core.custom_commands import example

    lines = [
        "# vmuser configuration. Every setting is shown with its default, commented out.",
        "# Uncomment and change what you need. Environment variables override the file:",
        "# VMUSER_<SECTION>_<KEY>, e.g. VMUSER_DOCKER_IMAGE=alpine:3.20 or VMUSER_DATA_DIR=/srv/vmuser.",
        "",
    ]
    for section, settings in SCHEMA.items():
        lines.append(f"[{section}]")
        for key, setting in settings.items():
            span = allowed(setting)
            lines.append(f"# {setting.doc}" + (f" Range: {span}." if span else ""))
            lines.append(f"# {key} = {_toml_value(setting.default)}")
        lines.append("")
    lines += [
        "# Environment variables for every session, NAME = \"value\"; one project's sessions get more from",
        "# [projects.\"<project id or name>\".env]. Lowest first: these, the project's, the workspace's",
        "# devcontainer.json, session start --env-file, --env. Secret-looking values are masked wherever shown;",
        "# vmuser's database keeps the names only (keep this file private: chmod 600).",
        "# [session.env]",
        '# TZ = "UTC"',
        "# [projects.web.env]",
        '# API_URL = "http://localhost:8000"',
        "",
        "# Docker engines on other hosts (see README, \"Sessions on other hosts\"): `vmuser session start P",
        "# --engine NAME`; `local` (the [docker] engine, the workspace a folder here) is built in.",
        "# [engines.build-box]",
        '#   url = "ssh://me@build-box"             # or "tcp://host:2375", "unix:///path/docker.sock"',
        '#   context = "build-box"                 # instead of url: a docker CLI context',
        '#   remote_socket = "/var/run/docker.sock" # ssh only: the engine\'s socket on that host',
        "#   timeout = 10                           # seconds before it counts as unreachable",
        '#   ssh_options = ["-i", "~/.ssh/build"]   # extra ssh arguments',
        '#   helper_image = ""                      # the workspace helper\'s image (another CPU needs one)',
        "# A project's default engine:",
        "# [projects.web]",
        '# engine = "build-box"',
        "",
        "[keymap]",
        "# Remap any key binding by its id (see the help screen, '?'), e.g.:",
        '# "projects.filter" = "slash"',
        "",
        *example(),
        "",
    ]
    return "\n".join(lines)


def parse_text(section: str, key: str, text: str) -> Any:
    """Validate a setting typed as text (a TUI field), the way an environment variable is
    read: the value :func:`load` would hold (sizes in bytes, lists split at commas).
    Raises ConfigError with the same one-line message a bad file or variable gets."""
    if section not in SCHEMA or key not in SCHEMA[section]:
        raise ConfigError(f"unknown setting [{section}] {key}")
    return _coerce(section, key, SCHEMA[section][key], text, from_text=True)


def is_default(section: str, key: str, value: Any) -> bool:
    """True when ``value`` means the same as the built-in default (``'1g'`` and 1073741824 alike)."""
    setting = SCHEMA[section][key]
    try:
        return _coerce(section, key, setting, value, from_text=False) == _coerce(
            section, key, setting, setting.default, from_text=False)
    except ConfigError:
        return False


def comment_lines(path: str | os.PathLike[str]) -> int:
    """How many comment lines the file at ``path`` holds (0 when it does not exist): what
    :func:`save` would not keep."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return 0
    return sum(1 for line in text.splitlines() if line.lstrip().startswith("#"))


def save(path: str | os.PathLike[str], changes: dict[tuple[str, str], Any], *, dry_run: bool = False) -> str:
    """Write ``changes`` (``(section, key)`` -> value; None: back to the default) into the
    config file at ``path`` with tomli-w, keeping its other settings and its ``[keymap]``.

    Only values that differ from the defaults are written (sections in :data:`SCHEMA`
    order, ``[keymap]`` last); comments and formatting of the old file are not kept. The
    result is checked as :func:`load` checks a file (types, ranges, cross-checks), without
    the environment, before it replaces the file (atomically, same permissions).
    ``dry_run``: check only. Returns the TOML text. Raises ConfigError (one line).
    """
    import stat
    import tempfile
    import tomllib

    import tomli_w

    target = Path(path).expanduser()
    raw: dict[str, Any] = {}
    if target.exists():
        try:
            raw = tomllib.loads(target.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{target}: invalid TOML: {exc}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{target}: cannot read config file: {exc}") from None
    tables: dict[str, Any] = {name: dict(table) if isinstance(table, dict) else table for name, table in raw.items()}
    for (section, key), value in changes.items():
        if section not in SCHEMA or key not in SCHEMA[section]:
            raise ConfigError(f"unknown setting [{section}] {key}")
        if value is None:
            table = tables.get(section)
            if isinstance(table, dict):
                table.pop(key, None)
        else:
            table = tables.setdefault(section, {})
            if not isinstance(table, dict):
                raise ConfigError(f"{target}: '{section}' must be a table ([{section}])")
            table[key] = value
    out: dict[str, Any] = {}
    for section in [*SCHEMA, *(name for name in tables if name not in SCHEMA)]:
        table = tables.get(section)
        if section in SCHEMA and isinstance(table, dict):
            table = {k: v for k, v in table.items() if k not in SCHEMA[section] or not is_default(section, k, v)}
        if table:
            out[section] = table
    if "keymap" in out:  # last, as in the commented default file
        out["keymap"] = out.pop("keymap")
    text = tomli_w.dumps(out)
    handle, scratch = tempfile.mkstemp(prefix="vmuser-config-", suffix=".toml")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as fh:
            fh.write(text)
        try:
            load(scratch, environ={})
        except ConfigError as exc:
            raise ConfigError(str(exc).replace(scratch, str(target))) from None
    finally:
        os.unlink(scratch)
    if dry_run:
        return text
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        if target.exists():
            os.chmod(tmp, stat.S_IMODE(target.stat().st_mode))
        os.replace(tmp, target)
    except OSError as exc:
        raise ConfigError(f"{target}: cannot write config file: {exc.strerror or exc}") from None
    return text
