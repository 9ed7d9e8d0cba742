"""``vmuser session ...``."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from vmuser_tui.cli.output import details, emit_json, human_size, table
from vmuser_tui.core import clock
from vmuser_tui.core.errors import UsageError

if TYPE_CHECKING:  # pragma: no cover - annotations only: no import at run time
    from argparse import Namespace

    from vmuser_tui.core.models import Session
    from vmuser_tui.core.service import Vmuser


def cmd_start(args: Namespace, vm: Vmuser) -> int:
    if sys.stderr.isatty() and args.runtime == "docker":
        print("starting container...", file=sys.stderr)
    outcome = vm.sessions.start(args.project, runtime=args.runtime, image=args.image)
    for note in outcome.notes:
        print(f"vmuser: {note}", file=sys.stderr)
    print(outcome.session.id)
    return 0


def _show(session: Session, as_json: bool, vm: Vmuser | None = None) -> None:
    # `vm` given (session show): metrics and holders too; not given (session stop): the row only
    m = vm.session_metrics(session.id) if vm is not None else None
    holders = vm.access.holders(session.id) if vm is not None else []
    if as_json:
        doc = session.to_json()
        if m is not None:
            doc["metrics"] = m.to_json()
            doc["attached"] = [{"actor": h.actor, "pid": h.pid, "mode": h.mode, "since": h.acquired_at,
                                "expires_in_s": round(h.expires_in(), 1)} for h in holders]
        emit_json(doc)
        return
    extra = []
    if m is not None:
        extra = [
            ("commands run", f"{m.commands_run} (avg {m.avg_exec_ms} ms, last {m.last_exec_ms} ms)"
             if m.commands_run else "0"),
            ("cpu", f"{m.cpu_percent:.1f} %" if m.cpu_percent is not None else "-"),
            ("memory", f"{human_size(m.memory_bytes)} (peak {human_size(m.peak_memory_bytes or 0)})"
             if m.memory_bytes is not None else "-"),
            ("workspace", human_size(m.workspace_bytes) if m.workspace_bytes is not None else "-"),
            ("storage added", human_size(m.checkpoint_bytes) if m.checkpoint_bytes is not None else "-"),
            ("attached", ", ".join(f"{h.actor} pid {h.pid} ({h.mode})" for h in holders) or "nobody"),
        ]
    details([
        ("id", session.id), ("project", session.project_id), ("status", session.status),
        ("reason", session.status_reason or "-"), ("runtime", session.runtime), ("image", session.image or "-"),
        ("container",
         f"{session.container_name} ({(session.container_id or '')[:12]})" if session.container_id else "-"),
        ("created", session.created_at), ("started", session.started_at or "-"), ("stopped", session.stopped_at or "-"),
        ("last active", clock.ago(session.last_active_at)), ("checkpoints", session.checkpoints), *extra,
    ])


def cmd_stop(args: Namespace, vm: Vmuser) -> int:
    _show(vm.sessions.stop(args.session), args.json)
    return 0


def cmd_show(args: Namespace, vm: Vmuser) -> int:
    _show(vm.sessions.get(args.session), args.json, vm)
    return 0


def cmd_list(args: Namespace, vm: Vmuser) -> int:
    sessions = vm.sessions.list(args.project)
    if args.json:
        emit_json([s.to_json() for s in sessions])
        return 0
    table(
        ["ID", "PROJECT", "STATUS", "RUNTIME", "IMAGE", "STARTED", "CHECKPOINTS"],
        [[s.id, s.project_id, s.status, s.runtime, s.image or "-", clock.ago(s.started_at), s.checkpoints]
         for s in sessions],
        empty="no sessions: vmuser session start PROJECT",
    )
    return 0


def cmd_exec(args: Namespace, vm: Vmuser) -> int:
    from vmuser_tui.cli.exec_cmd import cmd_exec as run  # streaming, stdin, TTY: its own module

    return run(args, vm)


def cmd_shell(args: Namespace, vm: Vmuser) -> int:
    argv = vm.sessions.shell_argv(args.session)
    if not sys.stdin.isatty():
        raise UsageError("session shell needs a terminal; use session exec for scripts")
    sys.stdout.flush()
    os.execvp(argv[0], argv)
    return 0  # not reached


def cmd_logs(args: Namespace, vm: Vmuser) -> int:
    sys.stdout.write(vm.sessions.logs(args.session, tail=args.tail))
    return 0
