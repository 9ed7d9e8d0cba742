"""``vmuser`` entry point: parse, open the service, dispatch, turn errors into one line.

Exit codes: 0 success; 1 an error (one line on stderr, no traceback unless --debug);
2 a usage error; ``session exec`` exits with the command's own code; ``checkpoint diff
--exit-code`` (or ``-q``) exits 1 when there are changes, so its errors exit 2 or more.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - annotations only
    import argparse


def _split_paths(argv: list[str]) -> tuple[list[str], list[str]]:
    """``checkpoint diff A B -- p q``: argparse cannot tell TO from PATH, so split at ``--``."""
    if "--" in argv and "diff" in argv[: argv.index("--")]:
        i = argv.index("--")
        return argv[:i], argv[i + 1 :]
    return argv, []


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the exit code. Every text line it writes shows control
    characters as escapes (see :mod:`vmuser_tui.cli.terminal`)."""
    from vmuser_tui.cli.terminal import shown_safely

    with shown_safely():
        try:
            return _run(argv)
        except KeyboardInterrupt:  # ctrl-c anywhere, e.g. while waiting for a worker: one line, no traceback
            print(f"vmuser: interrupted{_worker_note(argv)}", file=sys.stderr)
            return 130


def _worker_note(argv: list[str] | None) -> str:
    """What an interrupted `checkpoint create` should tell: a running worker may finish it."""
    words = list(sys.argv[1:] if argv is None else argv)
    if "checkpoint" in words and "create" in words:
        return " (a running vmuser worker may still take the checkpoint: see vmuser checkpoint list)"
    return ""


def _run(argv: list[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["__complete"]:  # a TAB in the shell: no parser, no service (cli/completion.py)
        from vmuser_tui.cli.completion import complete_values

        return complete_values(argv[1:])
    from vmuser_tui.cli import parser as parser_mod

    head, diff_paths = _split_paths(argv)
    parser = parser_mod.build(head)  # only what this command line reaches
    args, extra = parser.parse_known_args(head)
    if extra:  # report with the command's own usage line, not vmuser's
        (getattr(args, "_leaf", None) or parser).error(f"unrecognized arguments: {' '.join(extra)}")
    if diff_paths:
        args.paths = list(getattr(args, "paths", []) or []) + diff_paths
    _formats(args)
    if args.func.endswith(".help"):  # a group without its command: show its commands
        args._parser.print_help()
        print(f"{args._parser.prog}: error: missing COMMAND (listed above)", file=sys.stderr)
        return 2
    from vmuser_tui.core.errors import VmuserError
    from vmuser_tui.core.text import printable as one_line

    if args.func == "checkpoint.create":
        try:
            from vmuser_tui.cli.worker_client import checkpoint_via_worker

            code = checkpoint_via_worker(args)
        except VmuserError as exc:
            if args.debug:
                raise
            print(f"vmuser: error: {one_line(exc)}", file=sys.stderr)
            return exc.exit_code
        if code is not None:
            return code

    # `checkpoint diff --exit-code`: 1 means "changes", so an error must be 2 or more (as git's, diff(1)'s)
    least = 2 if getattr(args, "exit_code", False) or getattr(args, "quiet", False) else 1
    try:
        from vmuser_tui.cli import commands
        from vmuser_tui.cli.empty_filters import refuse_empty_filters

        refuse_empty_filters(args)

        return commands.dispatch(args) or 0
    except VmuserError as exc:
        if args.debug:
            raise
        print(f"vmuser: error: {one_line(exc)}", file=sys.stderr)
        return max(exc.exit_code, least)
    except KeyboardInterrupt:
        print("vmuser: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug: still one line unless --debug
        if args.debug:
            raise
        from vmuser_tui.core.errors import damaged_database

        damage = damaged_database(exc)
        if damage is not None:  # a bad page or row met by any query: name it and the tool, not a bug
            print(f"vmuser: error: {one_line(damage)}", file=sys.stderr)
            return max(1, least)
        print(f"vmuser: internal error: {type(exc).__name__}: {one_line(exc)} (run with --debug for details)",
              file=sys.stderr)
        return max(1, least)


def _formats(args: argparse.Namespace) -> None:
    """``--json`` is ``--format json``; both given must agree. Leaves ``args.format`` set
    (table by default) and ``args.json`` true for json, which the handlers read."""
    if not hasattr(args, "format"):
        return
    if args.json and args.format not in (None, "json"):
        args._leaf.error(f"--json and --format {args.format} disagree; give one of them")
    args.format = "json" if args.json else (args.format or "table")
    args.json = args.format == "json"


if __name__ == "__main__":
    raise SystemExit(main())
