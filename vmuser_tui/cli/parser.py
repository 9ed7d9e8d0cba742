"""The argparse definition of every ``vmuser`` command. Names are a public interface:
scripts depend on them, so they change only with a CHANGELOG entry."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any, ClassVar, NoReturn, cast

from vmuser_tui import __version__

EPILOG = """\
examples:
  vmuser demo                               build (once) and open the demo project
  vmuser project create web --import ~/src/web --tag client
  vmuser session start web                  start a container for project 'web'
  vmuser session exec 3fa2 -- make test     run a command in session 3fa2...
  vmuser checkpoint create web -m "tests pass" --tag green
  vmuser checkpoint diff 1c0e 77ab --stat   what changed between two checkpoints
  vmuser checkpoint restore 1c0e            put the workspace back (undo: restore the pre-restore one)

Ids can be shortened to any unique prefix, as in git. Lists take --format json|csv (--json).
TAB completion: vmuser completion bash|zsh|fish; the manual: vmuser help --man.
Settings: vmuser config init; data lives in the data dir (vmuser config path).
"""


FORGET_EPILOG = """\
examples:
  vmuser checkpoint forget web --dry-run           preview with the [retention] settings of the config
  vmuser checkpoint forget web --keep-daily 7 --keep-weekly 4 --dry-run
  vmuser checkpoint forget web --keep-within 2d --yes --prune
  vmuser checkpoint forget web --keep-last 3 --include-manual --dry-run --json

The rules are restic's forget rules. --keep-last N keeps the N newest; --keep-hourly/-daily/-weekly/
-monthly/-yearly N keep the newest checkpoint of each of the N newest hours/days/ISO weeks/months/years
that have one (UTC); -1 means all of them. --keep-within DUR keeps everything within DUR of the newest
checkpoint (y years, m months, d days, h hours: 2d, 36h, 1m15d). A checkpoint is kept when any rule
keeps it. Any --keep-* option replaces the config's whole [retention] policy for this run; a policy
with no rule is refused.

The rules apply to automatic checkpoints only: manual, pre-restore, tagged and annotated ones are
kept unless an --include-* option lets the rules decide them too. The newest checkpoint and the
project's head are always kept. Forget deletes checkpoint rows; their data is freed by `vmuser gc`
afterwards (or --prune).
"""


CHECK_EPILOG = """\
examples:
  vmuser check                  verify everything; a progress line on a terminal
  vmuser check --json | jq '.affected_checkpoints[].id'

When damage is found:
  - Copy vmuser.db somewhere safe before changing anything.
  - A checkpoint listed as affected restores every path except the damaged ones:
    vmuser checkpoint restore ID --path src/ (paths outside the damaged list).
  - Checkpoints not listed are whole; an older copy of vmuser.db (a backup) holds the rest.
    To put a backup in place, stop every vmuser process and remove vmuser.db-wal and
    vmuser.db-shm with it: SQLite would replay the live -wal onto the older file.
"""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``vmuser log: error: argument --limit: invalid int
    value: 'x' (see vmuser log --help)``, exit code 2. The usage block argparse prints
    first would make every usage error several lines; ``--help`` shows it in full."""

    #: the command line being parsed (set by :func:`build`): to explain a missing argument
    argv: ClassVar[list[str]] = []

    def error(self, message: str) -> NoReturn:
        if message.startswith("the following arguments are required"):
            # `vmuser project show -dash`: argparse took the name for an unknown option
            dashed = [w for w in self.argv if len(w) > 1 and w.startswith("-") and not w.startswith("--")
                      and w.split("=")[0] not in self._option_string_actions and not w[1:].isdigit()]
            if dashed and not self.prog.endswith(" diff"):  # (diff's -- starts its paths)
                message += (f"; a name that starts with '-' goes after --, e.g. {self.prog} -- "
                            f"{dashed[0]}")
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Help text as written (line breaks kept), options' help from column 34. The width is
    :func:`shutil.get_terminal_size`'s, found without importing shutil (argparse makes a
    formatter for every argument it adds, and shutil's import pulls in bz2 and lzma)."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=34, width=_columns() - 2)


def _columns() -> int:
    """The terminal's width as :func:`shutil.get_terminal_size` gives it: ``COLUMNS``, else
    the width of the terminal on standard output, else 80."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class _Unreached:
    """Stands in for a command's parser (or a group's commands) that the command line does
    not reach: takes every call (``add_argument``, ``add_parser``, ``set_defaults``...) and
    builds nothing. See :func:`build`."""

    def __getattr__(self, name: str) -> Any:
        return self._ignore

    def _ignore(self, *args: object, **kwargs: object) -> Any:
        return self


_UNREACHED: Any = _Unreached()


class _Commands(argparse._SubParsersAction):
    """A group's sub-commands, built only for the name in ``only`` (all when None)."""

    only: str | None = None

    def add_parser(self, name: str, **kwargs: Any) -> Any:
        if self.only is not None and name != self.only:
            return _UNREACHED
        return super().add_parser(name, **kwargs)


def _given_path(text: str) -> str:
    """``--data-dir`` / ``--config``: an empty value (``--data-dir "$DIR"`` with DIR unset)
    is refused, not read as "the default", which would act on another data dir."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path; give one, or leave the option out for the default")
    return text


#: root options that take a value, and those that do not (``_command_words`` skips them)
_VALUED = ("--data-dir", "--config")
_FLAGS = ("--debug", "--force")


def _command_words(argv: Sequence[str]) -> tuple[str, str | None] | None:
    """The command words of ``argv`` (``('checkpoint', 'list')``, ``('log', ...)``,
    ``('', None)`` when there is none: the TUI), past the root options; None when anything
    before them is not plainly one of those options (``--help``, ``--version``, an
    abbreviation argparse would expand): then the whole parser is built."""
    i = 0
    while i < len(argv):
        word = argv[i]
        if word in _VALUED:
            i += 2
        elif word in _FLAGS or word.startswith(tuple(f"{o}=" for o in _VALUED)):
            i += 1
        elif word.startswith("-"):
            return None
        else:
            return word, (argv[i + 1] if i + 1 < len(argv) else None)
    return "", None


START_EPILOG = """\
examples:
  vmuser session start web -p 8000                 a dev server on 8000, reached at 127.0.0.1:<free port>
  vmuser session start web -p 8080:8000            ... at 127.0.0.1:8080
  vmuser session start web -p 0.0.0.0:8080:8000    ... on every interface (only when you ask)
  vmuser session start web -e DEBUG=1 -e API_TOKEN --env-file .env.dev --meta ticket=OPS-7

Variables, lowest first: [session.env] in the config, [projects."<id or name>".env], the
workspace's devcontainer.json, --env-file files in order, --env. An env file is docker's:
NAME=VALUE per line, # comments and blank lines skipped, NAME alone copies it from your
environment; no quote processing (A="x" sets A to "x" with the quotes).
Values are never written to vmuser's database or log (only the names are); values that look
secret (by name, e.g. API_TOKEN, or by shape) are shown as *** by session show and the TUI.
`vmuser session show S` lists the host ports the engine gave; --json has ports and metadata.

  vmuser session start web --engine build-box      on another Docker engine ([engines.build-box]
                                                   in config); the project's workspace moves there
"""

ENGINE_EPILOG = """\
Engines are Docker engines by name: `local` (the workspace is a folder here) and each
[engines.NAME] table in the config, e.g.

  [engines.build-box]
  url = "ssh://me@build-box"      # or tcp://host:2375, unix:///path/docker.sock; or context = "NAME"

On another engine a project's workspace is the volume vmuser-ws-<project> there; checkpoints,
restores, diffs and `vmuser fs` reach it through the engine. ssh:// engines go through one
OpenSSH tunnel per engine that vmuser keeps up (your ~/.ssh/config, agent and jump hosts apply).

examples:
  vmuser engine list                   every engine: reachable?, version, sessions, round trip
  vmuser engine check build-box        one engine; exit 1 when it does not answer
  vmuser session start web --engine build-box
  vmuser session move 3fa2 --engine local      bring a project back from a dead host
"""

WORKER_EPILOG = """\
examples:
  vmuser worker                  run until Ctrl-C (e.g. in a tmux window or under systemd)
  vmuser worker --once           run the due jobs once and exit (cron)
  vmuser worker --once --all --json     run every job now, print what each did
"""

CLEANUP_EPILOG = """\
examples:
  vmuser cleanup                 what would be deleted, and when (nothing changes)
  vmuser project extend web      reset web's idle clock
  vmuser project pin web         never clean up web
  vmuser cleanup --apply         delete the projects that are due now (asks first)
"""


#: --search's help (issue 16): full-text search, ranked, matches marked.
SEARCH_HELP = ("full-text search of {what}: words (all must match), \"a phrase\", prefix*; best match first, "
               "the match shown between \u00ab \u00bb")


def _json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON document instead of a table")


FORMATS = ("table", "json", "csv")


def _listing(p: argparse.ArgumentParser) -> None:
    """A command that prints a list: ``--format table|json|csv`` (``--json`` = ``--format json``)."""
    p.add_argument("--format", choices=FORMATS, metavar="{table,json,csv}",
                   help="table (default), json (one document) or csv (the table's columns with a header row)")
    p.add_argument("--json", action="store_true", help="the same as --format json")


def build(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser. Each leaf sets ``func`` to ``'group.command'`` for dispatch.

    With ``argv``, only the parsers that command line reaches are built: ``vmuser checkpoint
    list P`` builds the root, the ``checkpoint`` group and its ``list``; ``vmuser checkpoint
    --help`` the whole group; ``vmuser --help`` (or a word that is no command) everything.
    argparse spends ~0.1 ms on each argument it adds (a formatter and gettext look-ups
    each), ~25 ms for all of vmuser's: a one-shot command should not pay for the ~60 it does
    not run (issue 15). What is built parses and prints help exactly as the whole parser does."""
    _Parser.argv = list(argv or [])
    words = _command_words(argv) if argv is not None else None
    parser = _build(words)
    if words is None:
        return parser
    group, command = words
    sub = next(a for a in parser._actions if isinstance(a, _Commands))
    reached = sub.choices.get(group)
    if group and reached is None:  # not a command: argparse's error lists them all
        return _build(None)
    subs = [a for a in reached._actions if isinstance(a, _Commands)] if reached is not None else []
    if subs and command is not None and command not in subs[0].choices:  # the group's own help or error
        return _build((group, None))
    return parser


def _build(words: tuple[str, str | None] | None) -> argparse.ArgumentParser:
    """:func:`build` for the command words ``words`` (None: all)."""
    root = _Parser(
        prog="vmuser",
        description="Container-backed development sessions with checkpoints you can diff and restore.\n"
        "With no command, opens the terminal UI.",
        epilog=EPILOG,
        formatter_class=_Formatter,
    )
    root.add_argument("--data-dir", metavar="DIR", type=_given_path,
                      help="data directory (default: platform data dir; env VMUSER_DATA_DIR)")
    root.add_argument("--config", metavar="FILE", type=_given_path,
                      help="config file (default: platform config dir; env VMUSER_CONFIG)")
    root.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    root.add_argument("--force", action="store_true", help="take over a session whose read-write lease expired "
                      "(its holder crashed or lost its connection); logged")
    root.add_argument("--version", action="version", version=f"vmuser {__version__}")
    root.set_defaults(func="tui", read_only=False, no_jobs=False)
    sub = cast(_Commands, root.add_subparsers(title="commands", metavar="COMMAND", action=_Commands))
    sub.only = words[0] if words is not None else None

    def group(name: str, help_text: str) -> argparse._SubParsersAction[_Parser]:
        p = sub.add_parser(name, help=help_text, description=help_text, formatter_class=_Formatter)
        p.set_defaults(func=f"{name}.help", _parser=p)
        commands = cast(_Commands, p.add_subparsers(title="commands", metavar="COMMAND", action=_Commands))
        commands.only = words[1] if words is not None else None
        return commands

    # The global options are accepted after the command too (`vmuser project list --data-dir X`);
    # SUPPRESS keeps a value given before the command from being reset by the subparser.
    # A _Parser, the class of the subparsers it is a parent of (their add_parser's `parents` is typed so);
    # it only lends its arguments and never parses.
    common = _Parser(add_help=False, formatter_class=_Formatter)
    common.add_argument("--data-dir", metavar="DIR", type=_given_path, default=argparse.SUPPRESS,
                        help=argparse.SUPPRESS)
    common.add_argument("--config", metavar="FILE", type=_given_path, default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    common.add_argument("--force", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)

    def leaf(group_sub: argparse._SubParsersAction[_Parser], name: str, func: str, help_text: str,
             epilog: str | None = None) -> argparse.ArgumentParser:
        p = group_sub.add_parser(name, help=help_text, description=help_text, epilog=epilog,
                                 formatter_class=_Formatter, parents=[common])
        p.set_defaults(func=func, _leaf=p)
        return p

    p: argparse.ArgumentParser = sub.add_parser("tui", help="open the terminal UI (the default)",
                                                formatter_class=_Formatter, parents=[common])
    p.add_argument("--read-only", action="store_true", help="browse, diff and view only; refuse changes")
    p.add_argument("--no-jobs", action="store_true", help="do not run the background jobs (auto checkpoints, "
                   "retention, cleanup) in this TUI; e.g. when `vmuser worker` runs them")
    p.set_defaults(func="tui")
    p = sub.add_parser("demo", help="build (once) a demo project from real files and open the TUI on it",
                       formatter_class=_Formatter, parents=[common],
                       description="Build, once per data dir, a demo project from vmuser's own source with a real "
                       "container (where Docker is reachable) and three checkpoints, then open the TUI.")
    p.add_argument("--no-tui", action="store_true", help="build the demo and print its id; do not open the TUI")
    p.set_defaults(func="demo")

    g = group("config", "show and write settings")
    # --force (a global option: take over expired leases) also means "overwrite" here.
    leaf(g, "init", "config.init", "write a commented default config file (--force: overwrite an existing one)")
    _json(leaf(g, "show", "config.show", "print the effective settings (file, env and defaults merged)"))
    leaf(g, "path", "config.path", "print the config file path and the data dir")
    leaf(g, "validate", "config.validate", "check the config file; exit 1 with the problem if invalid")

    g = group("project", "create, list and manage projects")
    p = leaf(g, "create", "project.create", "create a project and print its id")
    p.add_argument("name", help="display name (the id prefix is derived from it unless --prefix)")
    p.add_argument("--prefix", help="id prefix: lowercase letters, digits, hyphens; starts with a letter")
    ws = p.add_mutually_exclusive_group()
    ws.add_argument("--workspace", metavar="DIR", help="use this existing directory in place as the workspace")
    ws.add_argument("--import", dest="import_dir", metavar="DIR", help="copy this directory into a managed workspace")
    p.add_argument("--image", help="container image for its sessions (default: [docker] image)")
    p.add_argument("--description", default="", help="free text")
    p.add_argument("--tag", action="append", default=[], help="a tag (repeatable)")
    p = leaf(g, "list", "project.list", "list projects, most recently active first")
    p.add_argument("--tag", help="only projects with this tag")
    p.add_argument("--prefix", help="only projects whose id starts with this")
    _listing(p)
    for name, text in (("show", "show one project"), ("pin", "pin: never clean it up"), ("unpin", "unpin")):
        p = leaf(g, name, f"project.{name}", text)
        p.add_argument("project", help="project id, unique id prefix or name")
        _json(p)
    p = leaf(g, "update", "project.update", "change a project's name, description, image or tags")
    p.add_argument("project", help="project id, unique id prefix or name")
    p.add_argument("--name", help="new display name")
    p.add_argument("--description", help="new description ('' clears it)")
    p.add_argument("--image", help="container image for its next sessions ('' goes back to [docker] image)")
    p.add_argument("--add-tag", action="append", default=[], metavar="TAG", help="add a tag (repeatable)")
    p.add_argument("--remove-tag", action="append", default=[], metavar="TAG", help="remove a tag (repeatable)")
    _json(p)
    p = leaf(g, "extend", "project.extend", "reset the idle-cleanup clock (and keep it at least --days)")
    p.add_argument("project")
    p.add_argument("--days", type=int, help="keep for at least this many days from now")
    p = leaf(g, "delete", "project.delete", "delete a project: containers, managed workspace, history")
    p.add_argument("project")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    from vmuser_tui.cli.commands.transfer import EXPORT_EPILOG, IMPORT_EPILOG

    p = leaf(g, "export", "project.export", "write a project with its checkpoints and content to one file",
             epilog=EXPORT_EPILOG)
    p.add_argument("project", help="project id, unique id prefix or name")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="the file to write (--force replaces it)")
    p.add_argument("--since", metavar="WHEN", help="only checkpoints created at or after WHEN (ISO time or age: 7d)")
    p.add_argument("--checkpoint", action="append", default=[], metavar="ID", help="only this checkpoint (repeatable)")
    _json(p)
    p = leaf(g, "import", "project.import", "bring in a project from a file written by project export",
             epilog=IMPORT_EPILOG)
    p.add_argument("file", metavar="FILE")
    p.add_argument("--name", help="name it this (suffixed when a project has it already)")
    p.add_argument("--as-new", action="store_true", help="a copy under new project and checkpoint ids")
    _json(p)

    g = group("session", "start, stop and use sessions (containers)")
    p = leaf(g, "start", "session.start", "start a session on a project and print its id", epilog=START_EPILOG)
    p.add_argument("project")
    p.add_argument("--runtime", choices=["docker", "none"], default="docker",
                   help="docker: a container with the workspace at /workspace; none: workspace only")
    p.add_argument("--image", help="image for this session (default: the project's, then [docker] image)")
    p.add_argument("-e", "--env", action="append", default=[], metavar="NAME[=VALUE]",
                   help="set a variable in the container (repeatable); NAME alone copies it from your environment")
    p.add_argument("--env-file", action="append", default=[], metavar="FILE",
                   help="read variables from FILE: NAME=VALUE lines, # comments (repeatable; no quote processing)")
    p.add_argument("-p", "--publish", action="append", default=[], metavar="[HOST_IP:][HOST_PORT:]CONTAINER_PORT[/udp]",
                   help="publish a container port on the host (repeatable); 127.0.0.1 unless HOST_IP says otherwise")
    p.add_argument("--meta", action="append", default=[], metavar="KEY=VALUE",
                   help="a label of yours kept with the session, shown by session show/list (repeatable)")
    p.add_argument("--dockerfile", metavar="PATH",
                   help="build the session's image from this Dockerfile (relative to the workspace, which is the "
                        "build context); cached by content")
    p.add_argument("--no-devcontainer", action="store_true",
                   help="ignore the workspace's .devcontainer/devcontainer.json (or .devcontainer.json)")
    p.add_argument("--engine", metavar="NAME",
                   help="the Docker engine to run on (default: where the project's workspace is; see vmuser engine "
                   "--help); another one moves the project there first")
    p = leaf(g, "move", "session.move", "stop a session and start its project on another engine, from its last "
             "checkpoint (works when the old engine is dead)", epilog=ENGINE_EPILOG)
    p.add_argument("session", help="session id or unique prefix")
    p.add_argument("--engine", required=True, metavar="NAME", help="the engine to move to (local, or [engines.NAME])")
    _json(p)
    stop_help = "stop a session (its container is removed unless [runtime] keep_stopped; the workspace stays)"
    for name, text in (("stop", stop_help),
                       ("show", "show one session"),
                       ("pause", "freeze a running session's processes (docker pause); resume continues them"),
                       ("resume", "continue a paused session (docker unpause)")):
        p = leaf(g, name, f"session.{name}", text)
        p.add_argument("session", help="session id or unique prefix")
        _json(p)
    p = leaf(g, "list", "session.list", "list sessions, newest first")
    p.add_argument("project", nargs="?", help="only this project's sessions")
    _listing(p)
    if _reaches(g, "exec"):
        from vmuser_tui.cli.exec_cmd import EPILOG as EXEC_EPILOG
        from vmuser_tui.cli.exec_cmd import add_arguments as exec_arguments

        exec_arguments(leaf(g, "exec", "session.exec", "run a command in the session's container, output as it "
                            "comes (like docker exec); exits with its code", epilog=EXEC_EPILOG))
    p = leaf(g, "shell", "session.shell", "open an interactive shell in the session's container")
    p.add_argument("session")
    p = leaf(g, "rm", "session.rm", "remove a stopped or failed session: its container (if kept) and its row; "
             "its checkpoints stay")
    p.add_argument("session", help="session id or unique prefix")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    p = leaf(g, "logs", "session.logs", "print the container's output (as docker logs does)",
             epilog="examples:\n  vmuser session logs 3fa2 -f     follow: new lines as they come (Ctrl-C ends)\n"
             "  vmuser session logs 3fa2 --since 10m --timestamps\n"
             "  vmuser session logs 3fa2 --since 2026-12-04T10:00:00Z --tail all")
    p.add_argument("session")
    p.add_argument("-f", "--follow", action="store_true",
                   help="keep printing new lines until the container stops or Ctrl-C")
    p.add_argument("--since", metavar="WHEN",
                   help="only lines from WHEN on: an age (30s, 10m, 2h, 3d) or a time (2026-12-04T10:00:00Z; UTC if "
                   "no offset)")
    p.add_argument("--tail", metavar="N|all", default="200", help="only the last N lines, or all (default 200)")
    p.add_argument("-t", "--timestamps", action="store_true", help="put the engine's time (RFC 3339, UTC) before each "
                   "line")

    g = group("engine", "the Docker engines sessions run on: local and [engines.NAME] in config")
    p = leaf(g, "list", "engine.list", "list engines: url, reachable, version, active sessions, round trip (ms)",
             epilog=ENGINE_EPILOG)
    _listing(p)
    p = leaf(g, "check", "engine.check", "ask one engine whether it answers; exit 1 when it does not",
             epilog=ENGINE_EPILOG)
    p.add_argument("engine", metavar="NAME", help="local, or a name from [engines.NAME]")
    _json(p)

    g = group("checkpoint", "create, list, diff and restore checkpoints")
    p = leaf(g, "create", "checkpoint.create", "snapshot the workspace and print the checkpoint id")
    p.add_argument("target", metavar="SESSION|PROJECT")
    p.add_argument("-m", "--message", default="", help="description")
    p.add_argument("--tag", action="append", default=[], help="a tag (repeatable)")
    p.add_argument("--allow-empty", action="store_true",
                   help="take the checkpoint even when nothing changed (keeps the description, as git does)")
    p = leaf(g, "list", "checkpoint.list", "list checkpoints, newest first")
    p.add_argument("target", metavar="PROJECT|SESSION")
    p.add_argument("--tag", help="only checkpoints with this tag")
    p.add_argument("--annotation-tag", metavar="TAG", help="only checkpoints with an annotation tagged TAG")
    p.add_argument("--search", metavar="WORDS", help=SEARCH_HELP.format(what="descriptions, tags, annotations"))
    _listing(p)
    p = leaf(g, "show", "checkpoint.show", "show one checkpoint")
    p.add_argument("checkpoint")
    _json(p)
    p = leaf(g, "diff", "checkpoint.diff", "what changed from FROM to TO (default: the live workspace)",
             epilog="limit it to paths after --: vmuser checkpoint diff FROM [TO] -- PATH...\n\n"
             "examples:\n  vmuser checkpoint diff 1c0e            changes since checkpoint 1c0e\n"
             "  vmuser checkpoint diff 1c0e 77ab --stat\n  vmuser checkpoint diff 1c0e -- src/app.py\n"
             "  vmuser checkpoint diff 1c0e 77ab --name-status\n"
             "  vmuser checkpoint diff -q 1c0e || echo changed   exit 1 when anything changed, 2 on an error")
    p.add_argument("from_ref", metavar="FROM")
    p.add_argument("to_ref", metavar="TO", nargs="?")
    shown = p.add_mutually_exclusive_group()
    shown.add_argument("--stat", action="store_true", help="only the list of files with +/- line counts")
    shown.add_argument("--name-only", action="store_true", help="only the changed paths, one a line (as git)")
    shown.add_argument("--name-status", action="store_true",
                       help="the status letter (A added, D deleted, M modified, R100 renamed, T type changed), "
                       "a tab and the path (renames: old and new path), as git")
    shown.add_argument("--json", action="store_true", help="print one JSON document")
    p.add_argument("--exit-code", action="store_true",
                   help="exit 1 when there are changes, 0 when none, 2 on an error (as git diff --exit-code)")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing; implies --exit-code")
    p.set_defaults(paths=[])  # PATHs come after `--` (see cli.main): TO and PATH look alike
    p = leaf(g, "restore", "checkpoint.restore", "put the workspace (or --path) back to a checkpoint",
             epilog="A pre-restore checkpoint is taken first; restore it to undo.")
    p.add_argument("checkpoint")
    p.add_argument("--path", action="append", default=[], help="restore only this path (repeatable)")
    p.add_argument("--container", action="store_true", help="also recreate the project's container from the "
                   "checkpoint's image ([snapshots] container_image): its running session is stopped, a new one "
                   "started")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    p = leaf(g, "tag", "checkpoint.tag", "add tags to a checkpoint")
    p.add_argument("checkpoint")
    p.add_argument("tags", nargs="+", metavar="TAG")
    p.add_argument("--remove", action="store_true", help="remove these tags instead")
    p = leaf(g, "annotate", "checkpoint.annotate", "annotate a checkpoint: a label, a note, tags (or --remove LABEL)",
             epilog="examples:\n  vmuser checkpoint annotate 1c0e --label 'tests pass' --note '212 green' --tag ci\n"
             "  vmuser checkpoint annotate 1c0e --remove 'tests pass'\n\nThe same label again replaces "
             "that annotation. Filter: vmuser checkpoint list PROJECT --annotation-tag ci")
    p.add_argument("checkpoint")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--label", help="the annotation's label, shown on the timeline (1-80 characters)")
    what.add_argument("--remove", metavar="LABEL", help="remove the annotation with this label")
    p.add_argument("--note", default="", help="free text (not written to the operation log)")
    p.add_argument("--tag", action="append", default=[], help="a tag of the annotation (repeatable)")
    _json(p)
    p = leaf(g, "rm", "checkpoint.rm", "remove checkpoints (their children re-parent; gc frees the data later)",
             epilog="The project's head (the checkpoint the workspace was last captured or restored at) is "
             "kept\nunless --force. Asks first on a terminal; --yes for scripts.")
    p.add_argument("checkpoints", nargs="+", metavar="ID")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    # --force is the global option (also: take over expired leases), as `config init --force` is
    _json(p)
    p = leaf(g, "forget", "checkpoint.forget",
             "delete old automatic checkpoints by a retention policy (restic's forget)",
             epilog=FORGET_EPILOG)
    p.add_argument("project", help="project id, unique id prefix or name")
    p.add_argument("--dry-run", "-n", action="store_true", help="only show what would be kept and forgotten")
    p.add_argument("--keep-last", metavar="N", help="keep the N newest automatic checkpoints (-1: all)")
    for rule, bucket in (("hourly", "hours"), ("daily", "days"), ("weekly", "ISO weeks"), ("monthly", "months"),
                         ("yearly", "years")):
        p.add_argument(f"--keep-{rule}", metavar="N", help=f"keep the newest of each of the N newest {bucket}")
    p.add_argument("--keep-within", metavar="DUR", help="keep all within DUR of the newest: 2d, 36h, 1m15d (m: months)")
    for kind in ("manual", "pre-restore", "tagged", "annotated"):
        p.add_argument(f"--include-{kind}", action="store_true", help=f"let the rules forget {kind} checkpoints too")
    p.add_argument("--prune", action="store_true", help="then run gc to free the forgotten checkpoints' data")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    _json(p)

    g = group("fs", "read checkpoints' files and change the live workspace")
    p = leaf(g, "ls", "fs.ls", "list a directory of the workspace or of a checkpoint (--at)")
    p.add_argument("project")
    p.add_argument("path", nargs="?", default="")
    p.add_argument("--at", metavar="CHECKPOINT", help="read from this checkpoint instead of the live workspace")
    _listing(p)
    p = leaf(g, "cat", "fs.cat", "print a file of the workspace or of a checkpoint (--at)")
    p.add_argument("project")
    p.add_argument("path")
    p.add_argument("--at", metavar="CHECKPOINT")
    p = leaf(g, "put", "fs.put", "write a file into the live workspace from FILE or stdin (-)")
    p.add_argument("project")
    p.add_argument("path")
    p.add_argument("source", nargs="?", default="-", metavar="FILE|-")
    p = leaf(g, "mkdir", "fs.mkdir", "create a directory (with parents) in the live workspace")
    p.add_argument("project")
    p.add_argument("path")
    p = leaf(g, "rm", "fs.rm", "remove a file or (with -r) a directory from the live workspace")
    p.add_argument("project")
    p.add_argument("path")
    p.add_argument("-r", "--recursive", action="store_true")
    p = leaf(g, "mv", "fs.mv", "rename a file or directory in the live workspace")
    p.add_argument("project")
    p.add_argument("src")
    p.add_argument("dst")

    p = sub.add_parser("log", help="the operation log, newest first", formatter_class=_Formatter, parents=[common],
                       description="Print the operation log, newest first: every change vmuser made, with who "
                       "(user@host, pid), when (UTC) and the details as JSON.")
    p.add_argument("--project", help="only this project's entries")
    p.add_argument("--session", help="only this session's entries (its event log)")
    p.add_argument("--operation", help="only operations starting with this, e.g. checkpoint.")
    p.add_argument("--actor", help="only entries by this user@host (a part is enough: alice, @build-host)")
    p.add_argument("--since", metavar="WHEN", help="only entries at or after WHEN: 2026-11-21T09:00, or an age: 2h, 3d")
    p.add_argument("--until", metavar="WHEN", help="only entries before WHEN (same forms)")
    p.add_argument("--search", metavar="WORDS", help=SEARCH_HELP.format(what="operations, actors, details"))
    p.add_argument("--limit", type=int, default=50, help="how many (default 50)")
    _listing(p)
    p.set_defaults(func="log", _leaf=p)
    p = sub.add_parser("worker", help="run the background jobs headless (auto checkpoints, retention, cleanup, gc)",
                       formatter_class=_Formatter, parents=[common], epilog=WORKER_EPILOG,
                       description="Run the background jobs in the foreground until stopped (Ctrl-C, SIGTERM), "
                       "logging to stderr: automatic checkpoints of running sessions (every [snapshots] interval "
                       "seconds and [snapshots] debounce seconds after files change), retention ([retention], "
                       "hourly), idle-project cleanup (every [cleanup] check_interval seconds) and gc. Each job "
                       "takes a lease in the database, so a TUI running the same jobs never runs one at the same "
                       "time. It also keeps each workspace's change monitor, so `vmuser checkpoint create` from "
                       "any shell is handed to it (worker.sock in the data dir, owner only) and captures only what "
                       "changed, as git's fsmonitor daemon does.")
    p.add_argument("--once", action="store_true", help="run each due job one time and exit (for cron and tests)")
    p.add_argument("--all", action="store_true", dest="all_jobs", help="with --once: run every job, due or not")
    p.add_argument("--no-serve", action="store_true", help="do not serve checkpoints to the CLI over worker.sock")
    _json(p)
    p.set_defaults(func="worker", _leaf=p)
    p = sub.add_parser("cleanup", help="list (or apply) idle-project cleanup: what would be deleted, and when",
                       formatter_class=_Formatter, parents=[common], epilog=CLEANUP_EPILOG,
                       description="Projects idle for [cleanup] after_days (no session activity, checkpoint, "
                       "restore, file write or `vmuser project extend`) are deleted by the cleanup job when "
                       "[cleanup] enabled = true, and flagged from warning_days before. Pinned projects never go.")
    p.add_argument("--dry-run", action="store_true", help="only list what would be deleted and when (the default "
                   "without --apply)")
    p.add_argument("--apply", action="store_true", help="delete the projects that are due now (asks first; "
                   "even when [cleanup] enabled = false)")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    _json(p)
    p.set_defaults(func="cleanup", _leaf=p)
    p = sub.add_parser("gc", help="remove stored data no checkpoint uses (prune)", formatter_class=_Formatter,
                       parents=[common],
                       description="Remove blobs and trees that no checkpoint (and no workspace's stat cache) "
                       "reaches, as restic's prune does; safe while another process is capturing.")
    p.add_argument("--dry-run", action="store_true", help="only report what would be freed")
    _json(p)
    p.set_defaults(func="gc", _leaf=p)
    p = sub.add_parser("check", help="verify the database and every stored file; report what is damaged",
                       formatter_class=_Formatter, parents=[common], epilog=CHECK_EPILOG,
                       description="Verify the data dir's database as git fsck and restic check --read-data do:\n"
                       "SQLite's integrity check, then every blob read back and re-hashed, every tree decoded\n"
                       "and its entries looked up, every checkpoint's root tree and parent and every project's\n"
                       "head found. Reads only; safe while other vmuser processes run.\n"
                       "Exit code 0: no damage; 1: damage found (listed, with the checkpoints it affects and\n"
                       "their damaged paths).")
    _json(p)
    p.set_defaults(func="check", _leaf=p)
    _conventions(sub, common)
    return root


def _reaches(commands: object, name: str) -> bool:
    """True when the group's ``commands`` build the command ``name`` (see :func:`build`)."""
    return isinstance(commands, _Commands) and commands.only in (None, name)


COMPLETION_EPILOG = """\
examples:
  source <(vmuser completion bash)                       this shell only
  vmuser completion bash > ~/.local/share/bash-completion/completions/vmuser
  vmuser completion zsh > "${fpath[1]}/_vmuser"          then: autoload -U compinit && compinit
  vmuser completion fish > ~/.config/fish/completions/vmuser.fish

Completes commands, options, project ids and names, checkpoint and session ids (read from
the data dir; --data-dir typed on the line is honoured). Generate it again after upgrading.
"""


def _conventions(sub: argparse._SubParsersAction[_Parser], common: _Parser) -> None:
    """``completion``, ``version`` and ``help``: what a command-line tool is expected to have."""
    p = sub.add_parser("completion", help="print a shell completion script to source (bash, zsh, fish)",
                       description="Print a script that makes TAB complete vmuser's commands, options and values.",
                       formatter_class=_Formatter, parents=[common], epilog=COMPLETION_EPILOG)
    p.add_argument("shell", choices=("bash", "zsh", "fish"), metavar="SHELL", help="bash, zsh or fish")
    p.set_defaults(func="completion", _leaf=p)
    p = sub.add_parser("version", help="print the versions of vmuser, Python, SQLite, Textual, the docker SDK "
                       "and the Docker engine", formatter_class=_Formatter, parents=[common],
                       description="Print the versions a bug report needs. The Docker engine is asked with a "
                       "short timeout; when it does not answer it is shown as unreachable (exit code 0).")
    _json(p)
    p.set_defaults(func="version", _leaf=p)
    p = sub.add_parser("help", help="show help for a command, or the manual page (--man)",
                       formatter_class=_Formatter, parents=[common],
                       description="vmuser help [COMMAND...] is vmuser [COMMAND...] --help.",
                       epilog="examples:\n  vmuser help checkpoint diff\n  vmuser help --man | man -l -\n"
                       "  vmuser help --man > vmuser.1")
    p.add_argument("command", nargs="*", metavar="COMMAND", help="the command, e.g. checkpoint diff")
    p.add_argument("--man", action="store_true", help="print the manual page (roff, for man -l) made from every "
                   "command's --help")
    p.set_defaults(func="help", _leaf=p)
