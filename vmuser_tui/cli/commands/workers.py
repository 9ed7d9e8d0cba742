"""``vmuser worker`` (the background jobs, headless) and ``vmuser cleanup``."""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import TYPE_CHECKING

from vmuser_tui.cli.output import confirm, emit_json, table
from vmuser_tui.core import clock
from vmuser_tui.core.errors import Aborted, UsageError

if TYPE_CHECKING:  # pragma: no cover - annotations only: no import at run time
    from argparse import Namespace
    from datetime import datetime

    from vmuser_tui.core.service import Vmuser
    from vmuser_tui.core.workers.scheduler import JobResult


def _summary_line(res: JobResult) -> str:
    if res.skipped:
        return f"{res.name}: skipped ({res.skipped})"
    if res.error:
        return f"{res.name}: failed: {res.error}"
    return f"{res.name}: {json.dumps(res.summary, sort_keys=True)}"


def cmd_worker(args: Namespace, vm: Vmuser) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s vmuser worker: %(message)s", datefmt="%Y-%m-%d %H:%M:%S")
    log = logging.getLogger("vmuser.worker")
    if args.all_jobs and not args.once:
        raise UsageError("--all goes with --once: vmuser worker --once --all")
    if args.once:
        results = vm.scheduler().run_due(force=args.all_jobs)
        if args.json:
            emit_json([{"job": r.name, "summary": r.summary, "skipped": r.skipped, "error": r.error}
                       for r in results])
        else:
            for r in results:
                print(_summary_line(r))
        return 1 if any(r.error for r in results) else 0

    import signal
    import threading

    stop = threading.Event()
    server = None if args.no_serve else vm.serve_requests()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def report(res: JobResult) -> None:
        if res.name == "snapshot" and not res.error and not res.summary.get("errors"):
            return  # each auto checkpoint is already logged as it is taken
        log.info(_summary_line(res))

    scheduler = vm.scheduler(on_result=report)
    log.info("serving %s (pid %d): auto checkpoints every %ss and %ss after changes; Ctrl-C stops",
             vm.data_dir, os.getpid(), vm.config.get("snapshots", "interval"), vm.config.get("snapshots", "debounce"))
    try:
        scheduler.serve(stop)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        if server is not None:
            server.stop()
    log.info("stopped")
    return 0


def cmd_cleanup(args: Namespace, vm: Vmuser) -> int:
    if args.apply and args.dry_run:
        raise UsageError("--apply and --dry-run exclude each other")
    now = clock.now()
    items = vm.cleanup_plan(now)
    enabled = vm.config.get("cleanup", "enabled")
    if not args.apply:
        if args.json:
            emit_json({"enabled": enabled, "projects": [i.to_json() for i in items]})
            return 0
        table(["PROJECT", "NAME", "LAST ACTIVE", "DELETES", "STATE"],
              [[i.project_id, i.name, clock.ago(clock.iso(i.last_active_at), now),
                _when(i.deletes_at, now), i.state] for i in items], empty="no projects")
        if not enabled:
            print("cleanup is off ([cleanup] enabled = false): nothing is deleted automatically", file=sys.stderr)
        return 0
    due = [i for i in items if i.state == "due"]
    if not due:
        print("no project is due for cleanup")
        return 0
    names = ", ".join(i.name for i in due)
    if not args.yes and not confirm(f"delete {len(due)} idle project(s) with their workspaces and checkpoints: "
                                    f"{names}?"):
        raise Aborted("nothing deleted")
    deleted = []
    for item in due:
        vm.delete_project(item.project_id, reason="idle cleanup (vmuser cleanup --apply)")
        deleted.append(item.project_id)
    if args.json:
        emit_json({"deleted": deleted})
    else:
        print(f"deleted {len(deleted)} project(s): {names}")
    return 0


def _when(at: datetime | None, now: datetime) -> str:
    if at is None:
        return "never (pinned)"
    seconds = (at - now).total_seconds()
    if seconds <= 0:
        return "now (due)"
    days = seconds / 86400
    return f"in {days:.0f}d" if days >= 1 else f"in {seconds / 3600:.0f}h"
