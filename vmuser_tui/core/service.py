"""The facade adapters call: one :class:`Vmuser` wires settings, database and services.

``Vmuser.open()`` reads the config, opens (and migrates) the database, finishes (or rolls
back) restores that were interrupted, and reconciles sessions with Docker, so every
process starts from the same truth.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Collection
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vmuser_tui.core import clock, oplog
from vmuser_tui.core import config as cfg
from vmuser_tui.core.access import Access
from vmuser_tui.core.context import Context
from vmuser_tui.core.errors import RuntimeUnavailableError, VmuserError
from vmuser_tui.core.projects import Projects

if TYPE_CHECKING:  # annotations only (most of these modules load lazily, when their method is called)
    from vmuser_tui.core.check import CheckReport, Progress
    from vmuser_tui.core.checkpoints import Checkpoints
    from vmuser_tui.core.command_run import Commands
    from vmuser_tui.core.db import Database
    from vmuser_tui.core.demo import DemoOutcome
    from vmuser_tui.core.engines import EngineStatus
    from vmuser_tui.core.export import ExportResult
    from vmuser_tui.core.forget import ForgetResult
    from vmuser_tui.core.import_project import ImportResult
    from vmuser_tui.core.leases import Outcome
    from vmuser_tui.core.metrics import SessionMetrics
    from vmuser_tui.core.models import Project, Session
    from vmuser_tui.core.restoring import Restorer
    from vmuser_tui.core.retention import RetentionPolicy
    from vmuser_tui.core.rpc import Server
    from vmuser_tui.core.sessions import Sessions, StartOutcome
    from vmuser_tui.core.store.gc import GcResult
    from vmuser_tui.core.vfs import VirtualFS
    from vmuser_tui.core.workers.cleanup import PlanItem
    from vmuser_tui.core.workers.scheduler import Scheduler

DISCONNECT_REASON = "stopped when its last client left"


class Vmuser:
    """The service layer. Attributes: ``projects``, ``sessions``, ``checkpoints``,
    ``restores`` (restore, preview, undo: :class:`~vmuser_tui.core.restoring.Restorer`), ``fs``
    (see their modules); ``access`` (leases and the read-only / read-write rules, see
    :mod:`vmuser_tui.core.access`); ``config``; ``data_dir``; ``notes`` (lines for the user
    from start-up, e.g. an interrupted restore finished, sessions reconciled).
    ``read_only``: every change is refused in core; ``force``: expired read-write leases
    of other clients are taken over (logged) instead of refusing; ``read_only_data``: the
    database is opened read-only too (a data directory that cannot be written), so even a
    viewer's lease is not written, nor restore recovery or reconcile run.

    ``reconcile``: at open, finish interrupted restores (always, when not read-only: cheap,
    one query when there is none), ask the local engine about active sessions
    (``reconcile=True``; ``"local-files"`` skips that: for commands that do not read or
    touch containers, so they never import the docker SDK nor wait for the engine) and
    reclaim orphan workspace folders; False: none of it. The services (``sessions``,
    ``checkpoints``...) are made on first use, so a command loads only the modules it runs
    (issue 15: a one-shot command costs near the interpreter's start-up)."""

    def __init__(self, config: cfg.Config, *, reconcile: bool | str = True, live: bool = True,
                 read_only: bool = False, force: bool = False, reclaim: bool = True, read_only_data: bool = False):
        self.config = config
        self.ctx = Context.open(config, read_only=read_only_data)
        read_only = read_only or read_only_data
        self.ctx.live_enabled = live
        self.ctx.access = self.access = Access(self.ctx.db, read_only=read_only, force=force)
        self.data_dir: Path = self.ctx.data_dir
        self.projects = Projects(self.ctx)
        self.notes: list[str] = list(self.ctx.warnings)
        if reconcile and read_only:
            from vmuser_tui.core import journal

            # Both write: a read-only client leaves them to the next read-write one.
            self.notes.extend(journal.pending_note(self.db))
        elif reconcile:
            # A restore killed half-way left its journal row: finish it before anything
            # reads or captures that workspace (see core/restoring.py).
            # (the module holding the recovery loads only when the journal has a row: the usual
            # case is one query and no import)
            if self.db.conn.execute("SELECT 1 FROM restore_journal LIMIT 1").fetchone():
                self.notes.extend(self.restores.recover())
            # the local engine only: other engines may be far or dead, and every command opens
            # the service; the scheduler's reconcile job (TUI, worker), `engine list` and a
            # command on a session there ask them (issue 14: one dead host slows nothing)
            # (Sessions, and the runtime modules under it, load only when a docker session is
            # active: the condition is Sessions.reconcile's own first query)
            if reconcile is True and self.db.conn.execute(
                    "SELECT 1 FROM sessions WHERE runtime = 'docker' AND status IN "
                    "('created','running','paused','unreachable') LIMIT 1").fetchone():
                self.notes.extend(self.sessions.reconcile(engines=["local"]))
            if reclaim and not read_only:  # `gc` reclaims them itself (and `gc --dry-run` lists them)
                self.notes.extend(self.reclaim_orphan_workspaces())

    @cached_property
    def sessions(self) -> Sessions:
        """Sessions (containers): :class:`~vmuser_tui.core.sessions.Sessions`."""
        from vmuser_tui.core.sessions import Sessions

        sessions = Sessions(self.ctx, self.projects)
        sessions.on_end = self._on_session_end
        sessions.on_move = self._move_project
        return sessions

    @cached_property
    def checkpoints(self) -> Checkpoints:
        """Checkpoints: :class:`~vmuser_tui.core.checkpoints.Checkpoints`."""
        from vmuser_tui.core.checkpoints import Checkpoints

        return Checkpoints(self.ctx, self.projects, lambda: self.sessions)

    @cached_property
    def restores(self) -> Restorer:
        """Restore, preview, undo: :class:`~vmuser_tui.core.restoring.Restorer`."""
        from vmuser_tui.core.restoring import Restorer

        return Restorer(self.checkpoints)

    @cached_property
    def fs(self) -> VirtualFS:
        """Files of the workspace and of checkpoints: :class:`~vmuser_tui.core.vfs.VirtualFS`."""
        from vmuser_tui.core.vfs import VirtualFS

        return VirtualFS(self.ctx, self.projects, self.checkpoints)

    @cached_property
    def commands(self) -> Commands:
        """The ``[[commands]]`` of the config (issue 16): :class:`~vmuser_tui.core.command_run.Commands`."""
        from vmuser_tui.core.command_run import Commands

        return Commands(self.ctx, self.projects, self.sessions)

    @classmethod
    def open(
        cls, *, config_path: str | os.PathLike[str] | None = None, data_dir: str | None = None,
        reconcile: bool | str = True, live: bool = True, read_only: bool = False, force: bool = False,
        reclaim: bool = True, read_only_data: bool = False,
    ) -> Vmuser:
        """Load settings (``--config``/``VMUSER_CONFIG``, ``--data-dir``/``VMUSER_DATA_DIR``)
        and open the service. ``live=False`` (one-shot CLI commands) keeps no change monitor:
        it pays off only across several captures in one process. ``reclaim=False``: leave
        orphan workspace folders to :meth:`gc` (see :meth:`reclaim_orphan_workspaces`).
        ``read_only_data``: open the
        database itself read-only (a data directory that cannot be written; implies
        ``read_only``): nothing is written, not even leases. Raises ConfigError /
        StoreError (ReadOnlyDataError for a data directory that cannot be written) with
        one-line messages."""
        overrides = {("data", "dir"): data_dir} if data_dir else None
        return cls(cfg.load(config_path, overrides=overrides), reconcile=reconcile, live=live, read_only=read_only,
                   force=force, reclaim=reclaim, read_only_data=read_only_data)

    @staticmethod
    def database_path(*, config_path: str | os.PathLike[str] | None = None, data_dir: str | None = None) -> Path:
        """Where :meth:`open` with these arguments finds (or would create) the database file,
        without opening or creating anything. Raises ConfigError as :meth:`open` does."""
        from vmuser_tui.core.db import DB_NAME

        overrides = {("data", "dir"): data_dir} if data_dir else None
        return cfg.load(config_path, overrides=overrides).data_dir / DB_NAME

    @property
    def db(self) -> Database:
        return self.ctx.db

    def _on_session_end(self, session: Session, why: str) -> None:
        """A session is stopping or its container exited: checkpoint its workspace (kind
        ``auto``) if it changed, so no work is lost between two interval snapshots. A
        failure is reported in :attr:`notes`, never raised: the stop must go on."""
        from vmuser_tui.core.workers import snapshot

        if not snapshot.enabled(self):  # [snapshots] enabled = false: only the checkpoints users take
            return
        res = snapshot.checkpoint_if_changed(self, session.project_id, why or "session ended")
        if res and "error" in res:
            self.notes.append(f"no checkpoint before the session ended: {res['error']}")

    def _move_project(self, project: Project, engine: str) -> list[str]:
        from vmuser_tui.core.engine_move import move_project

        return move_project(self, project, engine)

    def move_session(self, ref: str, engine: str) -> tuple[StartOutcome, list[str]]:
        """Stop session ``ref`` and start its project on ``engine`` from its last state
        (see :func:`vmuser_tui.core.engine_move.move_session`): ``(new session's
        StartOutcome, notes of the move)``."""
        from vmuser_tui.core.engine_move import move_session

        return move_session(self, ref, engine)

    def engine_statuses(self, names: list[str] | None = None) -> list[EngineStatus]:
        """Each engine (``local`` and ``[engines.*]``, or ``names``) asked in parallel:
        reachable, version, active sessions, round trip in ms (see :class:`Engines`).
        UsageError for an unknown name; never raises for an engine that does not answer."""
        statuses = self.ctx.engines.statuses(names)
        if not self.access.read_only:  # what was just learnt marks their sessions (un)reachable
            try:
                self.sessions.reconcile(engines=[s.name for s in statuses],
                                        known={s.name: None if s.reachable else s.error for s in statuses})
            except VmuserError:
                pass  # a listing never fails on the bookkeeping
        return statuses

    def reconcile_engines(self) -> list[str]:
        """Ask the engines other than ``local`` that have active sessions (in parallel, a
        bounded wait) and bring those sessions in line: running, stopped, or
        ``unreachable``. One line per change. Cheap when no session runs elsewhere (one
        query); nothing for a read-only client. The TUI calls it on a timer (issue 14)."""
        if self.access.read_only:
            return []
        rows = self.db.query("SELECT DISTINCT engine FROM sessions WHERE runtime = 'docker' AND engine != 'local' "
                             "AND status IN ('created','running','paused','unreachable')")
        if not rows:
            return []
        return self.sessions.reconcile(engines=[r["engine"] for r in rows])

    def engine_names(self) -> list[str]:
        """``local`` and the configured engines, in config order."""
        return self.ctx.engines.names()

    def open_session(self, ref: str, *, mode: str = "rw", take_over: bool = False) -> tuple[Session, Outcome]:
        """Attach this client to a session for work (``rw``) or to watch (``ro``); see
        :meth:`Access.attach`. A session stopped because its last client left
        (``[runtime] container_stop_on_disconnect``) is started again first: a new container
        with the workspace mounted. Returns ``(session, Outcome)``."""
        session = self.sessions.get(ref)
        if (mode == "rw" and session.status == "stopped" and session.runtime == "docker"
                and session.status_reason == DISCONNECT_REASON
                and not [s for s in self.sessions.list(session.project_id) if s.status == "running"]):
            session = self.sessions.start(session.project_id, runtime="docker", image=session.image).session
        return session, self.access.attach(session.id, mode=mode, take_over=take_over)

    def close_session(self, ref: str) -> str | None:
        """Detach this client from a session. With ``[runtime] container_stop_on_disconnect``
        and nobody else attached, the session is checkpointed and its container stopped;
        returns a line saying so, else None."""
        session = self.sessions.get(ref)
        self.access.detach(session.id)
        if not self.config.get("runtime", "container_stop_on_disconnect") or self.access.read_only:
            return None  # (a read-only client never stops a container)
        if session.runtime != "docker" or session.status != "running" or self.access.holders(session.id):
            return None
        self.sessions.stop(session.id, reason=DISCONNECT_REASON)
        return f"session {session.id}: checkpointed and stopped (its last client left); opening it starts it again"

    def delete_project(self, ref: str, *, reason: str = "") -> dict:
        """Delete a project with everything it owns: containers, managed workspace, rows,
        then unreachable stored data (see :meth:`Projects.delete`)."""
        return self.projects.delete(ref, sessions=self.sessions, reason=reason)

    def export_project(self, ref: str, out: str | os.PathLike[str], *, since: str | None = None,
                       checkpoints: Collection[str] = (), force: bool = False,
                       say: Callable[[str], None] = lambda line: None) -> ExportResult:
        """Write project ``ref`` to one self-contained SQLite file ``out`` (see
        :mod:`vmuser_tui.core.export`): all its checkpoints, or those created at or after
        ``since`` (ISO time or age: 2h, 3d) or the ``checkpoints`` named (ids or prefixes of
        this project's), with what they need. ``force``: replace an existing ``out``.
        ``say(line)``: one line per phase. Reads only (works on a read-only data dir).
        Raises NotFoundError, UsageError (destination, selection), StoreError."""
        from vmuser_tui.core import export

        project_id = self.projects.resolve(ref)
        dest = export.check_destination(Path(out), force)
        ids = [self.db.resolve("checkpoints", c, what="checkpoint", extra_where="project_id = ?",
                               params=(project_id,)) for c in checkpoints]
        return export.export(self.db.path, project_id, dest, since=clock.parse_when(since) if since else None,
                             ids=ids, read_only_dir=self.db.read_only, say=say)

    def import_project(self, path: str | os.PathLike[str], *, name: str | None = None, as_new: bool = False,
                       say: Callable[[str], None] = lambda line: None) -> ImportResult:
        """Bring a project exported by :meth:`export_project` into this data dir (see
        :mod:`vmuser_tui.core.import_project`): every object verified and every tree
        validated before the first write, then one transaction; the workspace restored
        from the project's head (or newest) checkpoint. ``as_new``: new project and
        checkpoint ids (a second copy); ``name``: its name (suffixed when taken). Raises
        UsageError (no such file), StoreError (damaged, forged, newer format), StateError
        (the project is here already: pass ``as_new``), LimitError, ReadOnlyError."""
        from vmuser_tui.core import import_project
        from vmuser_tui.core.projects import validate_name

        self.access.check(None, what="import a project")
        return import_project.run(self.ctx, Path(path), name=name, as_new=as_new, say=say,
                                  validate_name=validate_name)

    def scheduler(self, **kwargs: Any) -> Scheduler:
        """A :class:`~vmuser_tui.core.workers.scheduler.Scheduler` of the default jobs for
        this service (``kwargs``: ``now``, ``on_result``, ``jobs``)."""
        from vmuser_tui.core.workers.scheduler import Scheduler

        return Scheduler(self, **kwargs)

    def serve_requests(self) -> Server:
        """Answer the CLI's fast-path requests (:mod:`vmuser_tui.core.rpc`) on this data
        directory's socket, from a daemon thread, until the returned server's ``stop()``.
        Raises StateError when another worker already serves this data directory."""
        import threading

        from vmuser_tui.core.rpc import Server

        server = Server(self)
        server.start()
        threading.Thread(target=server.serve_forever, name="vmuser-rpc", daemon=True).start()
        return server

    def cleanup_plan(self, now: datetime | None = None) -> list[PlanItem]:
        """Every project with its idle-cleanup state at ``now`` (default: the clock),
        soonest first (see :func:`vmuser_tui.core.workers.cleanup.plan`). Reads only."""
        from vmuser_tui.core.workers import cleanup

        return cleanup.plan(self, now)

    def ensure_demo(self, *, say: Callable[[str], None] = lambda line: None) -> DemoOutcome:
        """The demo project (vmuser's own source with a few checkpoints), built first when
        this data directory has none; ``say(line)`` reports progress (see
        :func:`vmuser_tui.core.demo.ensure_demo`)."""
        from vmuser_tui.core.demo import ensure_demo

        return ensure_demo(self, say=say)

    def log(self, *, project: str | None = None, operation: str | None = None, limit: int = 100,
            session: str | None = None, actor: str | None = None, since: str | None = None,
            until: str | None = None, text: str | None = None, search: str | None = None) -> list[dict]:
        """Operation-log entries, newest first (see :func:`vmuser_tui.core.oplog.entries`).
        ``since``/``until``: ISO 8601 times or ages such as ``2h``, ``3d``, ``30m`` (before
        now); ``text``: a substring anywhere in the entry; ``search``: full-text search (words,
        "phrases", prefix*; see :mod:`vmuser_tui.core.search_query`): matching entries, best
        first, each with ``match`` (a snippet, matched words marked). Raises NotFoundError for an unknown
        project or session, UsageError for a bad time or a ``limit`` outside 1 to
        :data:`~vmuser_tui.core.bounds.MAX_LOG_LIMIT` (SQLite's LIMIT is 64-bit)."""
        from vmuser_tui.core.bounds import MAX_LOG_LIMIT, in_range

        in_range("limit", limit, 1, MAX_LOG_LIMIT)
        project_id = self.projects.resolve(project) if project else None
        session_id = self.sessions.resolve(session) if session else None
        parsed = None
        if search is not None:
            from vmuser_tui.core.search_query import parse

            parsed = parse(search)
        return oplog.entries(self.db, project_id=project_id, operation=operation, limit=limit, session_id=session_id,
                             actor=actor, since=clock.parse_when(since) if since else None,
                             until=clock.parse_when(until) if until else None, text=text,
                             search=parsed)

    def forget(self, project_ref: str, policy: RetentionPolicy | None = None, dry_run: bool = False, *,
               only: Collection[str] | None = None) -> ForgetResult:
        """Forget one project's checkpoints under a retention policy (restic's ``forget``):
        ``policy`` is a :class:`~vmuser_tui.core.retention.RetentionPolicy`, default the
        config's ``[retention]``. Deletes rows only; :meth:`gc` frees their data afterwards.
        Returns a :class:`~vmuser_tui.core.forget.ForgetResult`; see :func:`~vmuser_tui.core.forget.forget`
        for ``dry_run``, ``only`` and what is always kept. Raises NotFoundError, UsageError (empty policy),
        ReadOnlyError for a read-only client (unless ``dry_run``)."""
        from vmuser_tui.core import forget, retention

        if not dry_run:
            self.access.check(None, what="forget checkpoints")

        policy = policy or retention.RetentionPolicy.from_config(self.config)
        return forget.forget(self.db, self.projects.resolve(project_ref), policy, dry_run=dry_run, only=only)

    def gc(self, *, dry_run: bool = False, unowned: bool = True) -> GcResult:
        """Remove unreachable blobs and trees (restic's prune); returns a GcResult.
        ReadOnlyError for a read-only client (unless ``dry_run``). ``unowned=False`` (the
        background job) leaves folders named like a project that no row names: they may be
        the live workspaces of projects a replaced vmuser.db does not know (see
        :data:`vmuser_tui.core.workspace_orphans.UNOWNED`)."""
        if not dry_run:
            self.access.check(None, what="collect garbage")
        from vmuser_tui.core import container_images
        from vmuser_tui.core.store.gc import collect

        result = collect(self.db, self.ctx.store, dry_run=dry_run)
        # Container images of checkpoints that are gone (only when some were ever taken).
        images = []
        if self.db.query_one("SELECT 1 FROM operation_log WHERE operation = 'checkpoint.image' LIMIT 1"):
            images = container_images.prune(self.ctx, dry_run=dry_run)
        result.images = images
        from vmuser_tui.core import workspace_orphans

        orphans = [o for o in workspace_orphans.find(self.db, self.ctx.workspaces_dir)
                   if unowned or o.kind != workspace_orphans.UNOWNED]
        if not dry_run:
            orphans, result.problems = workspace_orphans.remove(orphans)
        result.workspaces = orphans
        if not dry_run:
            with self.db.write() as conn:
                oplog.record(conn, "gc", blobs=result.blobs, trees=result.trees, bytes=result.bytes, images=images,
                             workspaces=[o.to_json() for o in orphans])
        return result

    def reclaim_orphan_workspaces(self) -> list[str]:
        """Start-up recovery of case 15: remove folders under ``<data dir>/workspaces`` that
        no project owns (an import killed half-way; see :mod:`vmuser_tui.core.workspace_orphans`).
        Returns one line per folder removed or not removable (for :attr:`notes`); each
        removal is also in the operation log (``workspace.orphan``). Folders named like a
        project that no row names are only listed, in one line: they may be live workspaces
        of a database that was replaced (left to ``vmuser gc``). Never raises."""
        try:  # the usual case, every folder a project's, needs neither the module nor a stat
            names = set(os.listdir(self.ctx.workspaces_dir))
            if names <= {row[0] for row in self.db.conn.execute("SELECT id FROM projects")}:
                return []
        except FileNotFoundError:
            return []
        except (OSError, sqlite3.Error):
            pass  # find() says what is wrong
        from vmuser_tui.core import workspace_orphans

        try:
            found = workspace_orphans.find(self.db, self.ctx.workspaces_dir)
            unowned = [o for o in found if o.kind == workspace_orphans.UNOWNED]
            orphans = [o for o in found if o.kind != workspace_orphans.UNOWNED]
            if unowned:  # maybe live work of a replaced database: say so, never delete here
                some = ", ".join(os.path.basename(o.path) for o in unowned[:3]) + (", ..." if len(unowned) > 3 else "")
                left = [(f"left {len(unowned)} folder(s) in {self.ctx.workspaces_dir} that no project in this database "
                         f"owns ({some}): if vmuser.db was moved, emptied or restored from a backup they may be "
                         "live workspaces (put that vmuser.db back); if not, vmuser gc removes them")]
            else:
                left = []
            if not orphans:
                return left
            removed, problems = workspace_orphans.remove(orphans)
            if removed:
                with self.db.write() as conn:
                    for o in removed:
                        oplog.record(conn, "workspace.orphan", path=o.path, why=o.why)
        except (VmuserError, OSError, sqlite3.Error) as exc:  # a locked or read-only database: next start
            return [f"orphan workspace folders were not reclaimed: {exc}"]
        return [f"removed the orphan workspace folder {o.path} ({o.why})" for o in removed] + problems + left

    def restore_container(self, checkpoint_ref: str):
        """Recreate the project's container from the checkpoint's image (see
        :func:`vmuser_tui.core.container_images.recreate`); returns a StartOutcome. To
        restore the workspace and the container in one call, use
        ``restores.restore(ref, container=True)``."""
        from vmuser_tui.core import container_images

        return container_images.recreate(self.sessions, self.checkpoints.get(checkpoint_ref))

    def check(self, *, progress: Progress | None = None) -> CheckReport:
        """Verify the database and every stored object (reads only); returns a
        :class:`~vmuser_tui.core.check.CheckReport`. ``progress(phase, done, total)``."""
        from vmuser_tui.core.check import check

        return check(self.db, self.ctx.store, progress=progress)

    def data_version(self) -> int:
        """SQLite's ``PRAGMA data_version`` of this client's connection: it changes when
        another process commits, so an adapter polls it to know when to reload."""
        return self.db.data_version()

    def session_metrics(self, session_id: str) -> SessionMetrics:
        """The session's :class:`~vmuser_tui.core.metrics.SessionMetrics` (zeros when
        nothing was recorded yet)."""
        from vmuser_tui.core import metrics

        return metrics.get(self.db, session_id)

    def log_operations(self) -> list[str]:
        """Every operation name the log holds, sorted (a filter's choices)."""
        return oplog.operations(self.db)

    @property
    def db_path(self) -> Path:
        """The SQLite database file (for messages)."""
        return self.db.path

    def docker_status(self) -> tuple[bool, str]:
        """``(usable, one-line description)`` of the Docker engine; never raises. Not usable:
        the engine cannot be reached, or it answers but the last container start failed
        (its error, until a start succeeds)."""
        try:
            runtime = self.ctx.runtime("docker")
            runtime.ping()
        except RuntimeUnavailableError as exc:
            return False, str(exc)
        except Exception as exc:  # the status line must never crash an adapter
            return False, f"Docker status unknown: {exc}"
        last_error = getattr(runtime, "last_error", "")  # DockerRuntime's; a test double may lack it
        if last_error:
            return False, f"last container start failed: {last_error}"
        return True, "Docker reachable"

    def storage_stats(self) -> dict:
        """Bytes stored: ``{"blobs", "blob_bytes", "raw_bytes", "packs", "trees", "tree_bytes", "db_file"}``
        (``blob_bytes`` counts packed content at its compressed size in packs)."""
        # an aggregate without GROUP BY returns exactly one row
        row = self.db.query("SELECT COUNT(*) AS n, COALESCE(SUM(stored_size),0) AS s, COALESCE(SUM(size),0) AS r "
                            "FROM blobs WHERE codec NOT IN ('chunks', 'cdc')")[0]
        prow = self.db.query("SELECT COUNT(*) AS n, COALESCE(SUM(length(data)),0) AS s FROM packs")[0]
        trow = self.db.query("SELECT COUNT(*) AS n, COALESCE(SUM(length(data)),0) AS s FROM trees")[0]
        return {"blobs": row["n"], "blob_bytes": row["s"] + prow["s"], "raw_bytes": row["r"], "packs": prow["n"],
                "trees": trow["n"], "tree_bytes": trow["s"], "db_file": self.db.path.stat().st_size}

    def close(self) -> None:
        """Give back this client's leases, stop change monitors and release the database
        connections."""
        try:
            # Leave each session this client is attached to (a container may stop with it).
            for row in self.db.query("SELECT name FROM leases WHERE holder = ? AND name LIKE 'session:%'",
                                     (self.access.client_id,)):
                try:
                    self.close_session(row["name"].split(":", 1)[1])
                except VmuserError:
                    continue
            self.access.close()
        except Exception:  # noqa: BLE001 - a closing client must close even with the database gone
            pass
        self.ctx.close()
