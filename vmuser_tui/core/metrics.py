"""Session metrics kept in SQLite, so they survive restarts (``session_metrics`` table).

Counted as things happen: commands run, total and last exec duration (ms). Sampled by the
``stats`` job (one sampler per host, under its job lease, not one per client): memory in
bytes (current and peak) and CPU % of one core from Docker stats, the workspace size
(bytes of the newest checkpoint) and the checkpoint storage the session added (bytes of
blobs and packs stored since it started), plus the last :data:`HISTORY` samples for the
TUI's sparklines.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from vmuser_tui.core import clock
from vmuser_tui.core.errors import VmuserError

HISTORY = 60  # samples kept per session (10 minutes at one sample every 10 s)


@dataclass
class SessionMetrics:
    """One session's metrics. Bytes, percent of one core, milliseconds; times ISO UTC.
    ``history``: ``[[at, cpu_percent, memory_bytes], ...]`` oldest first."""

    session_id: str
    commands_run: int = 0
    exec_ms_total: int = 0
    last_exec_ms: int | None = None
    memory_bytes: int | None = None
    peak_memory_bytes: int | None = None
    cpu_percent: float | None = None
    workspace_bytes: int | None = None
    checkpoint_bytes: int | None = None
    sampled_at: str | None = None
    history: list = field(default_factory=list)

    @property
    def avg_exec_ms(self) -> int | None:
        return round(self.exec_ms_total / self.commands_run) if self.commands_run else None

    def to_json(self) -> dict:
        out = asdict(self)
        out["avg_exec_ms"] = self.avg_exec_ms
        return out


def get(database, session_id: str) -> SessionMetrics:
    """The session's metrics (zeros when nothing was recorded yet)."""
    row = database.query_one("SELECT * FROM session_metrics WHERE session_id = ?", (session_id,))
    if row is None:
        return SessionMetrics(session_id)
    row["history"] = json.loads(row["history"] or "[]")
    return SessionMetrics(**row)


def record_exec(conn, session_id: str, duration_ms: int) -> None:
    """Count one command (inside the exec's own write transaction)."""
    conn.execute(
        "INSERT INTO session_metrics(session_id, commands_run, exec_ms_total, last_exec_ms) VALUES (?,1,?,?) "
        "ON CONFLICT(session_id) DO UPDATE SET commands_run = commands_run + 1, "
        "exec_ms_total = exec_ms_total + excluded.exec_ms_total, last_exec_ms = excluded.last_exec_ms",
        (session_id, duration_ms, duration_ms),
    )


def _storage_since(database, started_epoch: int) -> int:
    blobs = database.query_one("SELECT COALESCE(SUM(stored_size), 0) AS n FROM blobs WHERE created_at >= ?",
                               (started_epoch,))["n"]
    packs = database.query_one("SELECT COALESCE(SUM(length(data)), 0) AS n FROM packs WHERE created_at >= ?",
                               (started_epoch,))["n"]
    return blobs + packs


def sample(vm) -> dict:
    """The ``stats`` job: one sample of every running session. Docker sessions get CPU
    and memory from the engine; every running session gets its workspace and storage
    sizes. Returns ``{"sampled": n, "problems": [...]}``."""
    rows = vm.db.query("SELECT id, project_id, runtime, container_id, started_at, engine FROM sessions "
                       "WHERE status = 'running'")
    errors, done = [], 0
    for row in rows:
        cpu = mem = None
        if row["runtime"] == "docker" and row["container_id"]:
            try:
                stats = vm.ctx.engine_runtime(row["engine"]).stats(row["container_id"])
                cpu, mem = round(stats["cpu_percent"], 1), int(stats["memory_bytes"])
            except VmuserError as exc:
                errors.append(f"{row['id']}: {exc}")
        head = vm.db.query_one("SELECT c.total_size AS n FROM projects p "
                               "JOIN checkpoints c ON c.id = p.head_checkpoint_id WHERE p.id = ?", (row["project_id"],))
        started = int(clock.parse(row["started_at"]).timestamp()) if row["started_at"] else 0
        storage = _storage_since(vm.db, started)
        now = clock.now_iso()
        with vm.db.write() as conn:
            old = conn.execute("SELECT peak_memory_bytes, history FROM session_metrics WHERE session_id = ?",
                               (row["id"],)).fetchone()
            history = json.loads(old[1]) if old else []
            if mem is not None:
                history = (history + [[now, cpu, mem]])[-HISTORY:]
            peak = max([v for v in (old[0] if old else None, mem) if v is not None], default=None)
            conn.execute(
                "INSERT INTO session_metrics(session_id, memory_bytes, peak_memory_bytes, cpu_percent, "
                "workspace_bytes, checkpoint_bytes, sampled_at, history) VALUES (?,?,?,?,?,?,?,?) "
                "ON CONFLICT(session_id) DO UPDATE SET "
                "memory_bytes = excluded.memory_bytes, peak_memory_bytes = excluded.peak_memory_bytes, "
                "cpu_percent = excluded.cpu_percent, workspace_bytes = excluded.workspace_bytes, "
                "checkpoint_bytes = excluded.checkpoint_bytes, sampled_at = excluded.sampled_at, "
                "history = excluded.history",
                (row["id"], mem, peak, cpu, head["n"] if head else None, storage, now, json.dumps(history)),
            )
        done += 1
    return {"sampled": done, "problems": errors}  # not "errors": a down engine must not notify every 10 s
