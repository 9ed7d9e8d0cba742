"""The CLI's fast path: hand a command to a running ``vmuser worker`` (see core.rpc).

Kept import-light on purpose (config, socket, json): when a worker answers, the CLI
process never loads the service layer, SQLite or the store, and a checkpoint takes a few
milliseconds of the worker's time plus Python's start-up.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - annotations only: no import at run time
    from argparse import Namespace


def checkpoint_via_worker(args: Namespace) -> int | None:
    """Ask a worker to take the checkpoint; returns the exit code, or None when no worker
    serves the data dir (the caller then captures locally). Raises ConfigError for a bad
    config, as the local path would."""
    from vmuser_tui.core import config as cfg
    from vmuser_tui.core.rpc import request, socket_path
    from vmuser_tui.core.text import printable

    overrides = {("data", "dir"): args.data_dir} if args.data_dir else None
    conf = cfg.load(args.config, overrides=overrides)
    path = socket_path(conf.data_dir)
    if not path.exists():
        return None
    reply = request(path, {"op": "checkpoint", "target": args.target, "description": args.message,
                           "tags": list(args.tag), "allow_empty": bool(args.allow_empty)})
    if reply is None:
        return None
    if not reply.get("ok"):
        print(f"vmuser: error: {printable(reply.get('error', 'the worker failed'))}", file=sys.stderr)
        return int(reply.get("exit_code", 1))
    cp = reply["checkpoint"]
    for path_, why in reply.get("skipped", [])[:10]:
        print(f"vmuser: skipped {printable(path_)}: {why}", file=sys.stderr)
    for note in reply.get("notes", []):
        print(f"vmuser: {note}", file=sys.stderr)
    if not reply.get("created"):
        print(f"vmuser: nothing changed since checkpoint {cp['id']}; no new checkpoint", file=sys.stderr)
        if args.message:  # never drop typed text silently (as the local path says it)
            print(f"vmuser: description {printable(args.message)!r} not recorded; --allow-empty takes a "
                  "checkpoint with it anyway", file=sys.stderr)
    elif sys.stderr.isatty():
        print(f"vmuser: {cp['file_count']} files; {reply.get('new_bytes', 0):,} bytes of new data stored "
              "(by the running worker)", file=sys.stderr)
    print(cp["id"])
    return 0
