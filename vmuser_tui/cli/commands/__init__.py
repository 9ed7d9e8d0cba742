"""Command handlers, one module per group. ``dispatch(args)`` finds ``args.func``'s handler.

Handlers take ``(args, vm)``; config commands take ``(args,)`` because they must work
even when the database cannot be opened.
"""

from __future__ import annotations

from importlib import import_module

_GROUPS = {"project": "projects", "session": "sessions", "checkpoint": "checkpoints", "fs": "files",
           "config": "config_cmds", "log": "misc", "gc": "misc", "demo": "misc", "tui": "misc", "worker": "workers", "cleanup": "workers",
           "check": "check"}


def open_service(args, *, reconcile: bool = True):
    """The service for this invocation (``--config``, ``--data-dir`` honoured). Only the
    long-lived TUI keeps change monitors; a one-shot command would only pay for them."""
    from vmuser_tui.core.service import Vmuser

    live = args.func in ("tui", "demo", "worker")
    return Vmuser.open(config_path=args.config, data_dir=args.data_dir, reconcile=reconcile, live=live,
                       read_only=bool(getattr(args, "read_only", False)) and args.func == "tui",
                       force=bool(getattr(args, "force", False)), reclaim=args.func != "gc")


def dispatch(args) -> int | None:
    """Run the handler named by ``args.func`` (``'group.command'`` or ``'command'``)."""
    group, _, command = args.func.partition(".")
    module = import_module(f"vmuser_tui.cli.commands.{_GROUPS[group]}")
    handler = getattr(module, f"cmd_{(command or group).replace('-', '_')}")
    if group == "config":
        return handler(args)
    vm = open_service(args, reconcile=group != "check")  # check reads only: no Docker, no writes
    try:
        for note in vm.notes:
            import sys

            print(f"vmuser: {note}", file=sys.stderr)
        return handler(args, vm)
    finally:
        vm.close()
