"""``vmuser completion``, ``version`` and ``help``: what a command-line tool is expected to
have. None of them opens the database (they take ``(args,)``)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from vmuser_tui.cli.output import details, emit_json
from vmuser_tui.core.errors import UsageError

if TYPE_CHECKING:  # pragma: no cover - annotations only: no import at run time
    from argparse import ArgumentParser, Namespace


def cmd_completion(args: Namespace) -> int:
    from vmuser_tui.cli.completion import script

    sys.stdout.write(script(args.shell))
    return 0


def cmd_version(args: Namespace) -> int:
    from vmuser_tui.core.about import versions

    found = versions(args.config)
    if args.json:
        emit_json(found)
        return 0
    details([(name.replace("_", " "), value) for name, value in found.items()])
    return 0


def _find(root: ArgumentParser, words: list[str]) -> ArgumentParser:
    """The parser of ``vmuser WORDS...``; UsageError naming the word that is no command."""
    import argparse

    parser = root
    for n, word in enumerate(words):
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs or word not in subs[0].choices:
            where = " ".join(["vmuser", *words[:n]])
            raise UsageError(f"{where} has no command {word!r}; see {where} --help")
        parser = subs[0].choices[word]
    return parser


def cmd_help(args: Namespace) -> int:
    if args.man:
        if args.command:
            raise UsageError("--man prints the whole manual; leave out COMMAND (or drop --man)")
        from vmuser_tui.cli.manpage import render

        sys.stdout.write(render())
        return 0
    from vmuser_tui.cli import parser as parser_mod

    _find(parser_mod.build(), list(args.command)).print_help()
    return 0
