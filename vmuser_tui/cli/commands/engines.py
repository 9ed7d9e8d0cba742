"""``vmuser engine ...``: the Docker engines sessions run on (issue 14)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from vmuser_tui.cli.output import details, emit_json, one_line, table

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from argparse import Namespace

    from vmuser_tui.core.engines import EngineStatus
    from vmuser_tui.core.service import Vmuser


def _rtt(status: EngineStatus) -> str:
    return f"{status.rtt_ms:.1f}" if status.rtt_ms is not None else "-"


def cmd_list(args: Namespace, vm: Vmuser) -> int:
    statuses = vm.engine_statuses()
    if args.json or args.format == "json":
        emit_json([s.to_json() for s in statuses])
        return 0
    table(["NAME", "URL", "REACHABLE", "VERSION", "SESSIONS", "RTT MS"],
          [[s.name, s.url, "yes" if s.reachable else "no", s.version or "-", s.sessions, _rtt(s)] for s in statuses],
          fmt=args.format or "table")
    for s in statuses:
        if not s.reachable:
            print(f"vmuser: engine {s.name}: {one_line(s.error)}", file=sys.stderr)
        if s.warning:
            print(f"vmuser: warning: {one_line(s.warning)}", file=sys.stderr)
    return 0


def cmd_check(args: Namespace, vm: Vmuser) -> int:
    status = vm.engine_statuses([args.engine])[0]
    if args.json:
        emit_json(status.to_json())
    else:
        details([("name", status.name), ("url", status.url), ("reachable", "yes" if status.reachable else "no"),
                 ("version", status.version or "-"), ("sessions", status.sessions),
                 ("round trip", f"{_rtt(status)} ms"),
                 ("error", status.error or "-"), *([("warning", status.warning)] if status.warning else [])])
    return 0 if status.reachable else 1
