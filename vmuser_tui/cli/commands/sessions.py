"""``vmuser session ...``."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from vmuser_tui.cli.output import details, emit_json, human_size, table
from vmuser_tui.core import clock
from vmuser_tui.core.errors import UsageError
from vmuser_tui.core.ports import ports_text
from vmuser_tui.core.session_env import env_text

if TYPE_CHECKING:  # pragma: no cover - annotations only: no import at run time
    from argparse import Namespace

    from vmuser_tui.core.models import Session
    from vmuser_tui.core.service import Vmuser


def cmd_start(args: Namespace, vm: Vmuser) -> int:
    from vmuser_tui.core.launch import StartOptions
    from vmuser_tui.core.session_env import parse_env_args, parse_meta

    def progress(line: str) -> None:  # build output and lifecycle commands, as they happen
        print(line, file=sys.stderr, flush=True)

    # checked here first, so a typo is refused before "starting container..." is printed
    options = StartOptions(env=parse_env_args(args.env, os.environ), env_files=list(args.env_file),
                           publish=list(args.publish), meta=parse_meta(args.meta), dockerfile=args.dockerfile,
                           devcontainer=not args.no_devcontainer, output=progress)
    if sys.stderr.isatty() and args.runtime == "docker":
        print("starting container...", file=sys.stderr)
    outcome = vm.sessions.start(args.project, runtime=args.runtime, image=args.image, options=options,
                                engine=args.engine)
    for note in outcome.notes:
        print(f"vmuser: {note}", file=sys.stderr)
    print(outcome.session.id)
    return 0


def cmd_move(args: Namespace, vm: Vmuser) -> int:
    if sys.stderr.isatty():
        print(f"moving to engine {args.engine}...", file=sys.stderr)
    outcome, notes = vm.move_session(args.session, args.engine)
    for note in notes + outcome.notes:
        print(f"vmuser: {note}", file=sys.stderr)
    if args.json:
        emit_json(outcome.session.to_json())
    else:
        print(outcome.session.id)
    return 0


def _show(session: Session, as_json: bool, vm: Vmuser | None = None) -> None:
    # `vm` given (session show): metrics and holders too; not given (session stop): the row only
    m = vm.session_metrics(session.id) if vm is not None else None
    holders = vm.access.holders(session.id) if vm is not None else []
    env = vm.sessions.environment(session.id) if vm is not None else {}
    if as_json:
        doc = session.to_json()
        if vm is not None:
            doc["environment"] = env  # values as shown: secret-looking ones "***", null when unknown
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
        ("reason", session.status_reason or "-"), ("runtime", session.runtime), ("engine", session.engine),
        ("image", session.image or "-"),
        ("container",
         f"{session.container_name} ({(session.container_id or '')[:12]})" if session.container_id else "-"),
        ("created", session.created_at), ("started", session.started_at or "-"), ("stopped", session.stopped_at or "-"),
        ("last active", clock.ago(session.last_active_at)), ("checkpoints", session.checkpoints),
        ("ports", ports_text(session.ports)),
        ("metadata", ", ".join(f"{k}={v}" for k, v in session.metadata.items()) or "-"),
        ("env", env_text(env or dict.fromkeys(session.env_keys)) or "-"), *extra,
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
        # ENGINE last: scripts reading the csv by position keep their columns
        ["ID", "PROJECT", "STATUS", "RUNTIME", "IMAGE", "STARTED", "CHECKPOINTS", "PORTS", "ENGINE"],
        [[s.id, s.project_id, s.status, s.runtime, s.image or "-", clock.ago(s.started_at), s.checkpoints,
          ports_text(s.ports), s.engine] for s in sessions],
        empty="no sessions: vmuser session start PROJECT", fmt=args.format,
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


def cmd_pause(args: Namespace, vm: Vmuser) -> int:
    session = vm.sessions.pause(args.session)
    if args.json:
        _show(session, True)
    else:
        print(f"session {session.id} paused; continue it with: vmuser session resume {session.id}")
    return 0


def cmd_resume(args: Namespace, vm: Vmuser) -> int:
    session = vm.sessions.resume(args.session)
    if args.json:
        _show(session, True)
    else:
        print(f"session {session.id} running again")
    return 0


def cmd_rm(args: Namespace, vm: Vmuser) -> int:
    from vmuser_tui.cli.output import confirm, need_terminal
    from vmuser_tui.core.errors import Aborted

    session = vm.sessions.get(args.session)
    if not args.yes and session.status in ("stopped", "failed"):  # an active one is refused before asking
        need_terminal()
        kept = f" and its container {session.container_name}" if session.container_id else ""
        print(f"Removing session {session.id} ({session.status}) removes its row{kept}; its "
              f"{session.checkpoints} checkpoint(s) stay.", file=sys.stderr)
        if not confirm("Remove it?"):
            raise Aborted("not removed (confirm at the prompt, or pass --yes)")
    removed = vm.sessions.remove(session.id)
    print(f"removed session {removed.id}")
    return 0


def cmd_logs(args: Namespace, vm: Vmuser) -> int:
    """Print the container's output; with -f, until the container stops (0) or Ctrl-C (130)."""
    stream = vm.sessions.stream_logs(args.session, follow=args.follow, since=args.since, tail=args.tail)
    try:
        for line in stream:
            target = sys.stderr if line.stream == "stderr" else sys.stdout
            target.write(line.shown(args.timestamps) + "\n")
            if args.follow:  # as it comes, even into a pipe
                target.flush()
    except KeyboardInterrupt:  # the way to end a follow: no traceback, no "interrupted" line
        return 130
    finally:
        stream.close()
    sys.stdout.flush()
    return 0
