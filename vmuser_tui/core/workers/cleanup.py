"""Idle-project cleanup: which projects go when, warnings before, and the deletion itself.

A project's clock is ``last_active_at`` (session activity, checkpoint, restore, fs write,
``vmuser project extend``); it is deleted ``[cleanup] after_days`` later, or at its
``keep_until`` if that is later, and flagged from ``warning_days`` before. Pinned
projects are never cleaned. The same plan drives ``vmuser cleanup --dry-run``, the TUI's
"deletes in 3d" badge and the cleanup job.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from vmuser_tui.core import clock, oplog
from vmuser_tui.core.errors import VmuserError


@dataclass(frozen=True)
class PlanItem:
    """One project's place in the cleanup plan. Times are aware UTC datetimes; ``state`` is
    ``ok`` (not yet near), ``warn`` (within ``warning_days``), ``due`` (deletable now) or
    ``pinned``."""

    project_id: str
    name: str
    last_active_at: datetime
    deletes_at: datetime | None
    state: str

    def to_json(self) -> dict:
        return {"project": self.project_id, "name": self.name, "last_active_at": clock.iso(self.last_active_at),
                "deletes_at": clock.iso(self.deletes_at) if self.deletes_at else None, "state": self.state}


def deletes_at(last_active_at: str, keep_until: str | None, after_days: int) -> datetime:
    """When an idle project is deleted: ``after_days`` after its last activity, or at
    ``keep_until`` if later."""
    due = clock.parse(last_active_at) + timedelta(days=after_days)
    if keep_until:
        due = max(due, clock.parse(keep_until))
    return due


def plan(vm, now: datetime | None = None) -> list[PlanItem]:
    """Every project with its cleanup state at ``now`` (default: the clock), soonest first."""
    now = now or clock.now()
    c = vm.config.values["cleanup"]
    items = []
    for row in vm.db.query("SELECT id, name, pinned, last_active_at, keep_until FROM projects"):
        last = clock.parse(row["last_active_at"])
        if row["pinned"]:
            items.append(PlanItem(row["id"], row["name"], last, None, "pinned"))
            continue
        due = deletes_at(row["last_active_at"], row["keep_until"], c["after_days"])
        if now >= due:
            state = "due"
        elif now >= due - timedelta(days=c["warning_days"]):
            state = "warn"
        else:
            state = "ok"
        items.append(PlanItem(row["id"], row["name"], last, due, state))
    items.sort(key=lambda i: (i.deletes_at is None, i.deletes_at or now, i.name))
    return items


def run(vm, now: datetime | None = None, *, dry_run: bool = False) -> dict:
    """The cleanup job: log a ``cleanup.warn`` entry (once a day) for each project in its
    warning window, delete each due project (containers, committed images, managed
    workspace, rows, then gc). Does nothing unless ``[cleanup] enabled``. Returns
    ``{"warned": [ids], "deleted": [ids], "errors": [str]}``. ReadOnlyError for a read-only
    client (unless ``dry_run``)."""
    if not dry_run:
        vm.access.check(None, what="clean up idle projects")
    out: dict = {"warned": [], "deleted": [], "errors": []}
    if not vm.config.get("cleanup", "enabled"):
        return out
    now = now or clock.now()
    for item in plan(vm, now):
        if item.state == "warn":
            # One entry per project per UTC day of the job's clock (which tests inject).
            day = now.date().isoformat()
            if vm.db.query_one(
                "SELECT 1 FROM operation_log WHERE operation = 'cleanup.warn' AND project_id = ? "
                "AND json_extract(details, '$.day') = ?", (item.project_id, day)):
                continue
            out["warned"].append(item.project_id)
            if not dry_run:
                with vm.db.write() as conn:
                    oplog.record(conn, "cleanup.warn", project_id=item.project_id, name=item.name,
                                 deletes_at=clock.iso(item.deletes_at), day=day)
        elif item.state == "due":
            if dry_run:
                out["deleted"].append(item.project_id)
                continue
            # Re-read under the current state: an extend or a checkpoint since the plan wins.
            fresh = next((i for i in plan(vm, now) if i.project_id == item.project_id), None)
            if fresh is None or fresh.state != "due":
                continue
            try:
                vm.delete_project(item.project_id, reason="idle cleanup")
                out["deleted"].append(item.project_id)
            except VmuserError as exc:
                out["errors"].append(f"{item.name}: {exc}")
    return out
