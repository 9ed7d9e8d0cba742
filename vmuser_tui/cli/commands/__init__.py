"""Command handlers, one module per group. ``dispatch(args)`` finds ``args.func``'s handler.

Handlers take ``(args, vm)``; config, completion, version and help take ``(args,)``
because they must work even when the database cannot be opened.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - annotations only: no import at run time
    from argparse import Namespace

    from vmuser_tui.core.service import Vmuser


_GROUPS = {"project": "projects", "session": "sessions", "checkpoint": "checkpoints", "fs": "files",
           "config": "config_cmds", "log": "misc", "gc": "misc", "demo": "misc", "tui": "misc",
           "worker": "workers", "cleanup": "workers", "check": "check", "engine": "engines",
           "completion": "conventions", "version": "conventions", "help": "conventions"}

# Commands that never open the database: they must work when it cannot be opened.
NO_SERVICE = {"config", "completion", "version", "help"}


# Commands that only read: on a data directory that cannot be written they open it read-only.
READS = {"check", "log", "project.list", "project.show", "project.export",
         "session.list", "session.show", "session.logs",
         "checkpoint.list", "checkpoint.show", "checkpoint.diff", "fs.ls", "fs.cat"}


def reads_only(args: Namespace) -> bool:
    """True when the command changes nothing: :data:`READS`, ``tui --read-only``, and the
    dry runs (``checkpoint forget --dry-run``, ``cleanup`` without ``--apply``). (``gc --dry-run``
    is not one: it counts inside a write transaction, as gc does.)"""
    func = args.func
    return (func in READS or (func == "tui" and bool(getattr(args, "read_only", False)))
            or (func == "checkpoint.forget" and bool(getattr(args, "dry_run", False)))
            or (func == "cleanup" and not getattr(args, "apply", False)))


# Commands that neither read nor change containers: they skip asking the local engine about
# active sessions at open (Vmuser's reconcile="local-files"), so they never load the docker
# SDK nor wait for the engine. Sessions, projects (their status is their sessions'), engines,
# checkpoint create/restore (a session's target, --container), gc, cleanup and the long-lived
# commands still ask: `session list` and `project list` show fresh states.
FILES_ONLY = {"log", "checkpoint.list", "checkpoint.show", "checkpoint.diff", "checkpoint.tag",
              "checkpoint.annotate", "checkpoint.rm", "checkpoint.forget", "fs.ls", "fs.cat", "fs.put",
              "fs.mkdir", "fs.rm", "fs.mv"}


def reconcile_for(func: str) -> bool | str:
    """What :class:`~vmuser_tui.core.service.Vmuser` reconciles at open for ``func``:
    ``check`` nothing (it reads only: no Docker, no writes); :data:`FILES_ONLY` commands
    interrupted restores and orphan folders but not sessions; everything else all of it."""
    if func == "check":
        return False
    return "local-files" if func in FILES_ONLY else True


def open_service(args: Namespace, *, reconcile: bool | str = True) -> Vmuser:
    """The service for this invocation (``--config``, ``--data-dir`` honoured). Only the
    long-lived TUI keeps change monitors; a one-shot command would only pay for them.
    A data directory that cannot be written is opened read-only for a command that only
    reads (:func:`reads_only`), with a note; a changing command is refused (ReadOnlyDataError)."""
    from vmuser_tui.core.errors import ReadOnlyDataError
    from vmuser_tui.core.service import Vmuser

    if args.func == "check":
        _require_database(args)
    live = args.func in ("tui", "demo", "worker")
    kwargs: dict[str, Any] = {"config_path": args.config, "data_dir": args.data_dir, "live": live,
              "read_only": bool(getattr(args, "read_only", False)) and args.func == "tui",
              "force": bool(getattr(args, "force", False)), "reclaim": args.func != "gc"}
    try:
        return Vmuser.open(reconcile=reconcile, **kwargs)
    except ReadOnlyDataError:
        if not reads_only(args):
            raise
    vm = Vmuser.open(reconcile=reconcile, read_only_data=True, **kwargs)
    vm.notes.append(f"the data directory {vm.data_dir} cannot be written: opened read-only")
    return vm


def _require_database(args: Namespace) -> None:
    """``check`` of a data dir without a database (a typo in ``--data-dir``) would create an
    empty one and report "no damage": say there is nothing there instead, creating nothing."""
    from vmuser_tui.core.errors import NotFoundError
    from vmuser_tui.core.service import Vmuser

    db = Vmuser.database_path(config_path=args.config, data_dir=args.data_dir)
    if not db.is_file():
        raise NotFoundError(f"no vmuser database in {db.parent}: nothing to check; give the data dir that holds "
                            f"{db.name} with --data-dir DIR or VMUSER_DATA_DIR (vmuser config path shows it)")


def dispatch(args: Namespace) -> int | None:
    """Run the handler named by ``args.func`` (``'group.command'`` or ``'command'``)."""
    group, _, command = args.func.partition(".")
    module = import_module(f"vmuser_tui.cli.commands.{_GROUPS[group]}")
    handler = getattr(module, f"cmd_{(command or group).replace('-', '_')}")
    if group in NO_SERVICE:
        return handler(args)
    vm = open_service(args, reconcile=reconcile_for(args.func))
    try:
        for note in vm.notes:
            import sys

            print(f"vmuser: {note}", file=sys.stderr)
        return handler(args, vm)
    finally:
        vm.close()
