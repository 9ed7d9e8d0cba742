"""One scheduler for every background job, hosted by the TUI (a thread worker) or by
``vmuser worker`` (headless, foreground).

A :class:`Job` is a name, an interval in seconds and a function ``run(vm, now) -> dict``.
:meth:`Scheduler.run_due` runs each due job once: it takes the lease ``job:<name>`` (see
:mod:`vmuser_tui.core.leases`), re-reads when the job last ran (another process may have
run it while this one waited), runs it, records the run in ``job_runs`` and gives the
lease back. So two TUIs and a headless worker on one host never run a job at the same
time, and ``vmuser worker --once`` started twice at once runs each job once. The clock is
injectable (``now``), so tests can run a year of jobs in a second.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from vmuser_tui.core import clock
from vmuser_tui.core.errors import VmuserError, damaged_database
from vmuser_tui.core.leases import Leases
from vmuser_tui.core.workers import cleanup, snapshot
from vmuser_tui.core.workers.watch import Watcher

if TYPE_CHECKING:  # pragma: no cover - the service imports this module
    from vmuser_tui.core.service import Vmuser

log = logging.getLogger("vmuser.worker")

JOB_LEASE_TTL = 900.0  # seconds a job may run before another process may take its lease over


@dataclass(frozen=True)
class Job:
    """A background job: ``run(vm, now) -> dict`` (a JSON-able summary) every ``interval``
    seconds. ``interval`` is a function of the config, read at each check."""

    name: str
    interval: Callable[[Vmuser], float]
    run: Callable[[Vmuser, datetime], dict]


@dataclass
class JobResult:
    """One run: ``skipped`` when another holder had the lease or had just run it."""

    name: str
    summary: dict = field(default_factory=dict)
    skipped: str = ""
    error: str = ""


def _retention(vm, now: datetime) -> dict:
    """Forget auto checkpoints beyond ``[retention]``, project by project (rows only; the
    gc job reclaims the data)."""
    from vmuser_tui.core import forget, retention

    policy = retention.RetentionPolicy.from_config(vm.config)
    if not any(getattr(policy, name) for name, _ in retention.COUNT_RULES) and not policy.keep_within:
        return {"skipped": "no [retention] rule is set: keeping everything"}
    forgotten, errors = {}, []
    for row in vm.db.query("SELECT id FROM projects"):
        try:
            res = forget.forget(vm.db, row["id"], policy, now=now)
        except VmuserError as exc:
            errors.append(f"{row['id']}: {exc}")
            continue
        if res.forgotten:
            forgotten[row["id"]] = [c.id for c in res.forgotten]
    return {"forgotten": forgotten, "errors": errors}


def _gc(vm, now: datetime) -> dict:
    """Prune: reclaim what forgets and deletions left unreachable."""
    res = vm.gc(unowned=False)  # a folder no row names may be live work of a replaced vmuser.db: `vmuser gc` only
    orphans = {"workspaces": [o.path for o in res.workspaces]} if res.workspaces else {}  # reclaimed folders
    return {"blobs": res.blobs, "trees": res.trees, "bytes": res.bytes, **orphans}


def _cleanup(vm, now: datetime) -> dict:
    return cleanup.run(vm, now)


def _snapshot(vm, now: datetime) -> dict:
    return snapshot.run(vm, why="interval")


def _reconcile(vm, now: datetime) -> dict:
    """Notice containers that exited or vanished (their work is checkpointed on the way)."""
    return {"changes": vm.sessions.reconcile()}


def _stats(vm, now: datetime) -> dict:
    """Sample running sessions' CPU, memory and sizes (see :mod:`vmuser_tui.core.metrics`)."""
    from vmuser_tui.core import metrics

    return metrics.sample(vm)


def default_jobs() -> list[Job]:
    """reconcile (every 15 s: a container that died is noticed and its workspace
    checkpointed), snapshot (``[snapshots] interval``; none with ``[snapshots] enabled =
    false``), retention (hourly), cleanup (``[cleanup] check_interval``), gc
    (daily, and right after a retention or cleanup run that removed something)."""
    return [
        Job("reconcile", lambda vm: 15.0, _reconcile),
        Job("stats", lambda vm: 10.0, _stats),
        Job("snapshot", lambda vm: vm.config.get("snapshots", "interval"), _snapshot),
        Job("retention", lambda vm: 3600.0, _retention),
        Job("cleanup", lambda vm: float(vm.config.get("cleanup", "check_interval")), _cleanup),
        Job("gc", lambda vm: 86400.0, _gc),
    ]


class Scheduler:
    """Runs :class:`Job`\\ s for one :class:`~vmuser_tui.core.service.Vmuser`.

    ``now`` returns an aware UTC datetime (default :func:`clock.now`); ``on_result`` is
    called with each :class:`JobResult` that did something (the TUI turns them into
    notifications, the headless worker into log lines).
    """

    def __init__(self, vm, jobs: list[Job] | None = None, *, now=clock.now, on_result=None,
                 leases: Leases | None = None):
        self.vm = vm
        self.jobs = {j.name: j for j in (jobs if jobs is not None else default_jobs())}
        self.now = now
        self.on_result = on_result
        self.leases = leases or Leases(vm.db)
        self.watcher: Watcher | None = None

    # -- bookkeeping ----------------------------------------------------------
    def last_runs(self) -> dict[str, dict]:
        """``{job name: {"last_run_at", "runs", "last_holder", "last_result"}}`` from ``job_runs``."""
        return {r["name"]: {**dict(r), "last_result": json.loads(r["last_result"])}
                for r in self.vm.db.query("SELECT * FROM job_runs")}

    def _is_due(self, job: Job, now: datetime) -> bool:
        row = self.vm.db.query_one("SELECT last_run_at FROM job_runs WHERE name = ?", (job.name,))
        if row is None:
            return True
        return (now - clock.parse(row["last_run_at"])).total_seconds() >= job.interval(self.vm)

    def _record(self, name: str, now: datetime, summary: dict) -> None:
        with self.vm.db.write() as conn:
            conn.execute(
                "INSERT INTO job_runs(name, last_run_at, last_result, runs, last_holder) VALUES (?,?,?,1,?) "
                "ON CONFLICT(name) DO UPDATE SET last_run_at = excluded.last_run_at, "
                "last_result = excluded.last_result, runs = runs + 1, last_holder = excluded.last_holder",
                (name, clock.iso(now), json.dumps(summary, default=str), self.leases.holder),
            )

    # -- running ----------------------------------------------------------------
    def run_job(self, name: str, *, force: bool = False, why_now: datetime | None = None) -> JobResult:
        """Run one job if it is due (or ``force``), under its lease. Never raises for a
        job's own failure: it is logged and returned in ``error``."""
        job = self.jobs[name]
        if self.vm.access.read_only:  # every job changes something: a read-only client runs none
            return JobResult(name, skipped="read-only")
        now = why_now or self.now()
        if not force and not self._is_due(job, now):
            # A read, not a lease: a host's schedulers poll every second, and a write per job
            # per second would wake every screen watching PRAGMA data_version.
            return JobResult(name, skipped="not due")
        lease_name = f"job:{name}"
        got = self.leases.acquire(lease_name, ttl=JOB_LEASE_TTL, mode="job", log=True)
        if not got.ok:
            holder = got.held_by
            assert holder is not None  # acquire refuses only for a live holder, which it names
            return JobResult(name, skipped=f"running in {holder.actor} pid {holder.pid}")
        try:
            if not force and not self._is_due(job, now):
                return JobResult(name, skipped="not due")
            try:
                try:
                    summary = job.run(self.vm, now)
                except Exception as exc:  # a damaged page or row: this job fails, the next ones run
                    damage = damaged_database(exc)
                    if damage is None:
                        raise
                    raise damage from exc
            except VmuserError as exc:
                log.warning("job %s failed: %s", name, exc)
                self._record(name, now, {"error": str(exc)})
                return JobResult(name, error=str(exc))
            self._record(name, now, summary)
            return JobResult(name, summary=summary)
        finally:
            self.leases.release(lease_name)

    def run_due(self, *, force: bool = False) -> list[JobResult]:
        """Run every due job once (``vmuser worker --once``); a retention or cleanup run
        that removed something triggers gc right after."""
        results = []
        prune = False
        for name in self.jobs:
            if name == "gc" and prune:
                res = self.run_job(name, force=True)
            else:
                res = self.run_job(name, force=force)
            results.append(res)
            s = res.summary
            if (name == "retention" and s.get("forgotten")) or (name == "cleanup" and s.get("deleted")):
                prune = True
            if self.on_result and (res.error or _did_something(res)):
                self.on_result(res)
        return results

    def snapshot_changed(self) -> JobResult | None:
        """Checkpoint the projects the watcher reports as changed and quiet; None if none."""
        if self.watcher is None or self.vm.access.read_only:
            return None
        due = self.watcher.due()
        if not due:
            return None
        lease = "job:snapshot"
        got = self.leases.acquire(lease, ttl=JOB_LEASE_TTL, mode="job")
        if not got.ok:
            self.watcher.retry(due)  # another holder is snapshotting: try again at the next tick
            return None
        try:
            res = JobResult("snapshot", summary=snapshot.run(self.vm, only=due, why="files changed"))
        finally:
            self.leases.release(lease)
        if self.on_result and _did_something(res):
            self.on_result(res)
        return res

    def serve(self, stop: threading.Event, *, tick: float = 1.0, watch: bool = True, refresh: float = 2.0) -> None:
        """Run until ``stop`` is set: due jobs every ``tick`` seconds, and change-driven
        snapshots as soon as a workspace has been quiet for ``[snapshots] debounce``
        (``refresh``: seconds between the watcher's looks at which sessions run)."""
        if watch and snapshot.enabled(self.vm):
            self.watcher = Watcher(self.vm, debounce=self.vm.config.get("snapshots", "debounce"),
                                   refresh=refresh).start()
        try:
            next_jobs = 0.0
            while not stop.is_set():
                if time.monotonic() >= next_jobs:
                    try:
                        self.run_due()
                    except VmuserError as exc:  # e.g. database busy for too long: try next tick
                        log.warning("scheduler: %s", exc)
                    next_jobs = time.monotonic() + max(tick, 1.0)
                try:
                    self.snapshot_changed()
                except VmuserError as exc:
                    log.warning("scheduler: %s", exc)
                wait = tick
                if self.watcher is not None:
                    due_in = self.watcher.next_due_in()
                    if due_in is not None:
                        wait = min(wait, max(0.05, due_in))
                stop.wait(wait)
        finally:
            if self.watcher is not None:
                self.watcher.stop()
            self.leases.release_all()


def _did_something(res: JobResult) -> bool:
    s = res.summary
    return bool(s.get("checkpoints") or s.get("forgotten") or s.get("warned") or s.get("deleted")
                or s.get("errors") or s.get("blobs") or s.get("changes"))
