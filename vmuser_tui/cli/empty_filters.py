"""Refuse an empty value for an option that narrows what a command reads (session 22).

``vmuser fs ls web --at "$CP"`` with ``CP`` unset passes ``--at ''``; read as "no option"
it lists the live workspace as if it were the checkpoint, and ``log --project ''`` shows
every project's entries. Options that *set* a value keep accepting ``''`` on purpose
(``project update --image ''`` goes back to the default, ``-m ''`` is an empty description).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from argparse import Namespace

#: dest -> (option, what to give, what leaving it out means); (funcs: None = every command with it)
_FILTERS: dict[str, tuple[str, str, str, frozenset[str] | None]] = {
    "at": ("--at", "a checkpoint id", "the live workspace", None),
    "tag": ("--tag", "a tag", "every checkpoint", frozenset({"checkpoint.list", "project.list"})),
    "annotation_tag": ("--annotation-tag", "a tag", "every checkpoint", None),
    "project": ("--project", "a project id or name", "every project", frozenset({"log"})),
    "session": ("--session", "a session id", "every session", frozenset({"log"})),
    "actor": ("--actor", "a user@host (or a part of it)", "every actor", frozenset({"log"})),
    "operation": ("--operation", "an operation, e.g. checkpoint.", "every operation", frozenset({"log"})),
}


def refuse_empty_filters(args: Namespace) -> None:
    """Raise UsageError (exit 2, one line) for the first filter option given as ``''`` (or blanks)."""
    for dest, (option, give, default, funcs) in _FILTERS.items():
        value = getattr(args, dest, None)
        if not isinstance(value, str) or value.strip() or (funcs is not None and args.func not in funcs):
            continue
        from vmuser_tui.core.errors import UsageError

        if args.func == "project.list":
            default = "every project"
        raise UsageError(f"{option} {value!r}: give {give}, or leave the option out for {default}")
