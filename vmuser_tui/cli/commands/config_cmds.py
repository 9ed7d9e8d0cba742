"""``vmuser config init|show|path|validate``."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from vmuser_tui.cli.output import emit_json
from vmuser_tui.core import config as cfg
from vmuser_tui.core.errors import UsageError

if TYPE_CHECKING:  # pragma: no cover - annotations only: no import at run time
    from argparse import Namespace


def _load(args: Namespace) -> cfg.Config:
    overrides = {("data", "dir"): args.data_dir} if args.data_dir else None
    return cfg.load(args.config, overrides=overrides)


def cmd_init(args: Namespace) -> int:
    import contextlib
    import os

    from vmuser_tui.core.errors import ConfigError

    path = cfg.resolve_config_path(args.config)
    if path.is_dir():
        raise UsageError(f"cannot write the config file {path}: it is a folder; give a file path with --config, "
                         f"e.g. {path / 'config.toml'}")
    if path.exists() and not args.force:
        raise UsageError(f"{path} exists; pass --force to overwrite it")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:  # a temp file renamed into place: an interrupted --force never leaves half a config
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(cfg.commented_default(), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise ConfigError(f"cannot write the config file {path}: {exc.strerror or exc}; "
                          "give a path you can write with --config") from None
    print(path)
    return 0


def cmd_show(args: Namespace) -> int:
    conf = _load(args)
    if args.json:
        emit_json({"path": str(conf.path), "data_dir": str(conf.data_dir), "settings": conf.to_toml_dict()})
        return 0
    import tomli_w

    print(f"# effective settings (file: {conf.path}{'' if conf.path.exists() else ', not present: defaults'})")
    sys.stdout.write(tomli_w.dumps(conf.to_toml_dict()))
    return 0


def cmd_path(args: Namespace) -> int:
    conf = _load(args)
    print(f"config: {conf.path}{'' if conf.path.exists() else ' (not present: defaults apply)'}")
    print(f"data:   {conf.data_dir}")
    return 0


def cmd_validate(args: Namespace) -> int:
    """Types and ranges (core), then what only the TUI knows: binding ids, keys Textual can bind, key
    collisions within a screen, theme names. Exit 1 with one line per problem."""
    conf = _load(args)
    from vmuser_tui.tui.keymap_check import problems

    found = problems(conf.keymap, conf.get("ui", "theme"))
    if conf.commands:  # [[commands]] keys: Textual can bind them, free on the screen of their scope
        from vmuser_tui.tui.command_keys import problems as command_problems

        found += command_problems(conf.commands, conf.keymap)
    import os

    from vmuser_tui.core.env_typos import misspelt

    typos = [f"environment variable {name} is no setting (ignored); did you mean {meant}?"
             for name, meant in misspelt(os.environ, cfg.SCHEMA)]
    if found or typos:
        for line in found:
            print(f"vmuser: {conf.path}: {line}", file=sys.stderr)
        for line in typos:
            print(f"vmuser: {line}", file=sys.stderr)
        return 1
    print(f"{conf.path}: ok" if conf.path.exists() else f"{conf.path}: not present; defaults are valid")
    return 0
