"""``vmuser`` (TUI), ``demo``, ``log`` and ``gc``."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

from vmuser_tui.cli.output import emit_json, human_size, table
from vmuser_tui.core.errors import UsageError

if TYPE_CHECKING:  # pragma: no cover - annotations only: no import at run time
    from argparse import Namespace

    from vmuser_tui.core.service import Vmuser


def cmd_tui(args: Namespace, vm: Vmuser) -> int:
    if not sys.stdout.isatty():
        raise UsageError("the TUI needs a terminal; for scripts use the commands (vmuser --help)")
    from vmuser_tui.tui.app import run_tui

    run_tui(vm, read_only=args.read_only, jobs=not args.no_jobs)
    return 0


def cmd_demo(args: Namespace, vm: Vmuser) -> int:
    outcome = vm.ensure_demo(say=lambda line: print(f"vmuser: {line}", file=sys.stderr))
    for note in outcome.notes:
        print(f"vmuser: {note}", file=sys.stderr)
    if args.no_tui or not sys.stdout.isatty():
        print(outcome.project_id)
        return 0
    from vmuser_tui.tui.app import run_tui

    run_tui(vm, read_only=False, open_project=outcome.project_id)
    return 0


def cmd_log(args: Namespace, vm: Vmuser) -> int:
    from vmuser_tui.core import bounds, clock

    if args.limit < 1:
        raise UsageError("--limit must be at least 1")
    bounds.in_range("--limit", args.limit, 1, bounds.MAX_LOG_LIMIT)
    bounds_at: dict[str, str] = {}
    for option, when in (("--since", args.since), ("--until", args.until)):
        if when is not None:  # ("" too: `--since "$T"` with T unset must not mean "all time")
            try:
                bounds_at[option] = clock.parse_when(when)
            except UsageError as exc:  # name the option: both take the same forms
                raise UsageError(f"{option}: {exc}") from None
    if len(bounds_at) == 2 and bounds_at["--since"] > bounds_at["--until"]:
        raise UsageError(f"--since {args.since} is later than --until {args.until}, so nothing can match; "
                         "swap them (ages count back from now: --since 2h --until 1h)")
    rows = vm.log(project=args.project, operation=args.operation, limit=args.limit, session=args.session,
                  actor=args.actor, since=args.since, until=args.until, search=args.search)
    if args.search is not None:  # the match, its words between « », in JSON and in the table
        from vmuser_tui.core.search_query import with_marks

        for r in rows:
            r["match"] = with_marks(r.get("match") or "")
    if args.json:
        emit_json(rows)
        return 0
    table(
        ["ID", "AT", "OPERATION", "ACTOR", "PROJECT", "MATCH" if args.search is not None else "DETAILS"],
        [[r["id"], r["at"][:19].replace("T", " "), r["operation"], r["actor"], r["project_id"] or "-",
          r["match"] if args.search is not None
          else json.dumps(r["details"], sort_keys=True)[:80 if args.format == "table" else None]] for r in rows],
        empty="no entries match" if any((args.project, args.session, args.operation, args.actor, args.since,
                                         args.until, args.search)) else "the operation log is empty",
        fmt=args.format,
    )
    return 0


def cmd_gc(args: Namespace, vm: Vmuser) -> int:
    result = vm.gc(dry_run=args.dry_run)
    if args.json:
        emit_json({"blobs": result.blobs, "trees": result.trees, "bytes": result.bytes, "dry_run": result.dry_run,
                   "images": result.images, "workspaces": [o.to_json() for o in result.workspaces],
                   "problems": result.problems})
        return 1 if result.problems else 0
    verb = "would remove" if result.dry_run else "removed"
    images = f" and {len(result.images)} container image(s)" if result.images else ""
    print(f"{verb} {result.blobs} blob(s) and {result.trees} tree(s), {human_size(result.bytes)}{images}")
    for orphan in result.workspaces:
        print(f"{verb} the orphan workspace folder {orphan.path} ({orphan.why})")
    for line in result.problems:
        print(f"vmuser: error: {line}", file=sys.stderr)
    return 1 if result.problems else 0
