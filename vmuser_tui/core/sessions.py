"""Sessions: start (a container, or none), stop, exec, reconcile with Docker.

Status machine: ``created -> running <-> paused -> stopped``, and ``failed`` from any
state; other transitions are refused. Runtime state lives in Docker (containers carry
``vmuser.project`` / ``vmuser.session`` labels), so any process can reconcile the
``sessions`` table with what the engine reports when it starts.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from vmuser_tui.core import clock, container_user, metrics, oplog
from vmuser_tui.core.context import Context
from vmuser_tui.core.errors import (
    NotFoundError,
    RuntimeUnavailableError,
    StateError,
    UsageError,
    VmuserError,
)
from vmuser_tui.core.models import Project, Session
from vmuser_tui.core.runtime.base import WORKSPACE_MOUNT

if TYPE_CHECKING:
    import sqlite3

    from vmuser_tui.core.db import Database
    from vmuser_tui.core.launch import StartOptions
    from vmuser_tui.core.projects import Projects
    from vmuser_tui.core.runtime.base import ContainerRuntime, ExecOutcome, ExecResult, OutputSink
    from vmuser_tui.core.runtime.exec_control import ExecControl
    from vmuser_tui.core.runtime.logs import LogStream

RUNTIMES = ("docker", "none")
# ``unreachable`` (issue 14): its engine did not answer; not failed, the container may
# well run on. The next reconcile that reaches the engine sets what it reports.
TRANSITIONS = {
    "created": {"running", "failed", "stopped", "unreachable"},
    "running": {"paused", "stopped", "failed", "unreachable"},
    "paused": {"running", "stopped", "failed", "unreachable"},
    "unreachable": {"running", "paused", "stopped", "failed"},
    "stopped": set(),
    "failed": {"stopped"},
}
ACTIVE = ("created", "running", "paused", "unreachable")
STALE_START_SECONDS = 300

_LIST_SQL = """
SELECT s.*, (SELECT COUNT(*) FROM checkpoints c WHERE c.session_id = s.id) AS n_checkpoints
FROM sessions s
"""


def _container_left(rt: ContainerRuntime, session_id: str) -> bool:
    """Whether a container of ``session_id`` may exist after its start failed: one carries
    its label, or the engine cannot say (then True: keep the row rather than lose track)."""
    from vmuser_tui.core.runtime.base import LABEL_SESSION

    try:
        return any(c.labels.get(LABEL_SESSION) == session_id for c in rt.list_managed())
    except VmuserError:
        return True


@dataclass
class StartOutcome:
    """A started session plus notes for the user (e.g. which image was chosen and why)."""

    session: Session
    notes: list[str]


class Sessions:
    """Session operations over the configured container runtimes."""

    def __init__(self, ctx: Context, projects: Projects) -> None:
        self.ctx = ctx
        self.projects = projects
        # on_end(session, why): called before a session stops and when its container is
        # found gone, while the workspace is still there; the service checkpoints it.
        self.on_end: Callable[[Session, str], None] | None = None
        # on_move(project, engine) -> notes: move the project's workspace to another engine
        # (the service: checkpoint where it is, fill it there); see core/engine_move.py.
        self.on_move: Callable[[Project, str], builtins.list[str]] | None = None

    @property
    def db(self) -> Database:
        return self.ctx.db

    def resolve(self, ref: str) -> str:
        """A session id from a full id or unique prefix."""
        return self.db.resolve("sessions", ref, what="session")

    def get(self, ref: str) -> Session:
        """The session ``ref`` names. Raises NotFoundError / AmbiguousError."""
        sid = self.resolve(ref)
        row = self.db.query_one(_LIST_SQL + " WHERE s.id = ?", (sid,))
        if row is None:  # deleted by another process since resolve() found it
            raise NotFoundError(f"no session matches {ref!r}; list them with: vmuser session list")
        return Session.from_row(row)

    def list(self, project_ref: str | None = None) -> builtins.list[Session]:
        """Sessions, newest first; of one project when ``project_ref`` is given."""
        if project_ref:
            pid = self.projects.resolve(project_ref)
            rows = self.db.query(_LIST_SQL + " WHERE s.project_id = ? ORDER BY s.created_at DESC", (pid,))
        else:
            rows = self.db.query(_LIST_SQL + " ORDER BY s.created_at DESC")
        return [Session.from_row(r) for r in rows]

    def rt(self, session: Session) -> ContainerRuntime:
        """The runtime of the engine the session's container runs on."""
        return self.ctx.engine_runtime(session.engine)

    def _set_status(self, conn: sqlite3.Connection, session: Session, status: str, reason: str = "",
                    **fields: object) -> None:
        if status not in TRANSITIONS[session.status] and status != session.status:
            raise StateError(
                f"session {session.id} is {session.status}; it cannot become {status}"
                + (" (start a new session instead)" if session.status in ("stopped", "failed") else "")
            )
        sets = ["status = ?", "status_reason = ?", "last_active_at = ?"]
        params: list = [status, reason, clock.now_iso()]
        for key, value in fields.items():
            sets.append(f"{key} = ?")
            params.append(value)
        conn.execute(f"UPDATE sessions SET {', '.join(sets)} WHERE id = ?", (*params, session.id))

    def start(self, project_ref: str, *, runtime: str = "docker", image: str | None = None,
              options: StartOptions | None = None, engine: str | None = None) -> StartOutcome:
        """Start a new session on a project: with runtime ``docker`` a container from the
        project's (or configured) image with the workspace at /workspace; with ``none``,
        the workspace only. The container runs as the user :func:`container_user.prepare`
        picks (never root unless ``[docker] user = "root"``, which adds a warning to the
        notes). Raises RuntimeUnavailableError when Docker cannot be reached (the message
        suggests ``--runtime none``), StateError for a root-owned ``--workspace`` folder
        when vmuser runs as root and no ``[docker] user`` is set. A container that fails to
        start leaves no session (the operation log keeps the attempt as ``session.fail``).

        ``options`` (:class:`~vmuser_tui.core.launch.StartOptions`): environment, published
        ports, metadata; read and checked by :func:`vmuser_tui.core.launch.plan` before
        anything is recorded (UsageError/ConfigError for bad input).

        ``engine`` (issue 14): the Docker engine by name (default: ``[projects."<id or
        name>"] engine`` in config, else where the project's workspace lives,
        ``project.engine``). On an engine other than ``local`` the workspace is the
        volume ``vmuser-ws-<project id>`` there, filled from the head
        checkpoint when it is new (see :mod:`vmuser_tui.core.engine_workspaces`); naming
        another engine than the project's moves the project there first (:attr:`on_move`)."""
        if runtime not in RUNTIMES:
            raise UsageError(f"unknown runtime {runtime!r}; use one of: {', '.join(RUNTIMES)}")
        project = self.projects.get(project_ref)
        self.ctx.access.check(project.id, what="start a session")
        configured = self.ctx.config.project_engine
        engine = self.ctx.engines.check(
            engine or configured.get(project.id) or configured.get(project.name) or project.engine)
        if runtime != "docker" and engine != "local":
            raise UsageError(f"a session without a container (--runtime none) works on this host's folder; "
                             f"drop --engine {engine}")
        if engine != project.engine:
            if self.on_move is None:
                raise StateError(f"project {project.name} lives on engine {project.engine}: "
                                 f"move it with: vmuser session move")
            moved_notes = self.on_move(project, engine)
            project = self.projects.get(project.id)
        else:
            moved_notes = []
        if engine == "local":  # the folder exists and no link now leads to one vmuser refuses (s22)
            self.projects.workspace_dir(project)
        from vmuser_tui.core import launch
        from vmuser_tui.core.ids import new_short_id

        skip_dc = runtime != "docker" and (options is None or options.devcontainer)
        if skip_dc:  # a workspace-only session: the devcontainer.json has no container to act on
            from dataclasses import replace

            options = replace(options or launch.StartOptions(), devcontainer=False)
        plan = launch.plan(self.ctx, project, options)
        if skip_dc and launch.has_devcontainer(project.workspace):
            plan.notes.append(f"the workspace's devcontainer.json is not used: runtime {runtime} has no container")
        if runtime != "docker":
            asked = options is not None and (options.env or options.env_files or options.publish or options.dockerfile)
            if asked:
                raise UsageError("environment variables, ports and a Dockerfile need a container: "
                                 "drop --runtime none")
            plan.environment = {}  # [session.env] in config is for containers; nothing to set here
        meta = dict((options or launch.StartOptions()).meta)

        sid = new_short_id()
        now = clock.now_iso()
        notes: list[str] = moved_notes + list(plan.notes)
        output = (options.output if options else None) or (lambda _line: None)
        wanted = image or plan.image or project.image or self.ctx.config.get("docker", "image")
        rt = self.ctx.engine_runtime(engine) if runtime == "docker" else self.ctx.runtime(runtime)
        volume = ""  # the workspace volume on a non-local engine
        choice_image: str | None = None  # stays None for runtime 'none' (no image)
        if runtime == "docker":
            try:
                rt.ping()
            except RuntimeUnavailableError as exc:
                raise RuntimeUnavailableError(f"{exc} — or start a workspace-only session: --runtime none") from None
            # before anything is recorded or stopped: a refused workspace leaves no failed row
            if engine == "local":
                user, user_notes = container_user.prepare(
                    self.ctx.config.get("docker", "user"), project.workspace, managed=project.managed)
            else:  # no folder of this host is involved: the configured user, else an unprivileged one
                user, user_notes = container_user.for_engine(self.ctx.config.get("docker", "user"))
            notes.extend(user_notes)
            if plan.build is not None and image is None:  # --image wins over the workspace's build
                from vmuser_tui.core.runtime.base import ImageChoice
                from vmuser_tui.core.runtime.build import build_with

                built = build_with(rt, plan.build, output)
                plan.setup["build"] = {**plan.setup.get("build", {}), "image": built.image, "built": built.built}
                choice = ImageChoice(built.image, False, "")
            else:
                if plan.build is not None:
                    notes.append(f"--image {image} is used; {plan.build.dockerfile} is not built")
                choice = rt.ensure_image(wanted)
            if choice.fallback:
                notes.append(choice.message)
            choice_image = choice.image
            notes.extend(self._make_room(project.id))
            if engine != "local":
                from vmuser_tui.core import engine_workspaces

                volume, ws_notes = engine_workspaces.prepare(self.ctx, project, engine, owner=user.spec)
                notes.extend(ws_notes)
        name = f"vmuser-{project.id}-{sid}"
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO sessions(id, project_id, runtime, image, container_name, status, created_at, "
                "last_active_at, metadata, env_keys, workdir, exec_user, setup, engine) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (sid, project.id, runtime, choice_image, name if runtime == "docker" else None, "created", now, now,
                 json.dumps(meta), json.dumps(sorted(plan.environment)),
                 None if plan.workdir == WORKSPACE_MOUNT else plan.workdir, plan.exec_user, json.dumps(plan.setup),
                 engine),
            )
            self.projects.touch(conn, project.id)
            oplog.record(conn, "session.create", project_id=project.id, session_id=sid, runtime=runtime,
                         image=choice_image, **({"engine": engine} if engine != "local" else {}))
        session = self.get(sid)
        if runtime == "docker":
            from vmuser_tui.core.runtime.base import ContainerSpec

            docker_cfg = self.ctx.config.values["docker"]
            spec = ContainerSpec(
                image=choice.image, name=name, workspace=project.workspace,
                labels={"vmuser.project": project.id, "vmuser.session": sid, "vmuser.engine": engine},
                memory=docker_cfg["memory"], cpus=docker_cfg["cpus"], pids_limit=docker_cfg["pids_limit"],
                user=user.spec, environment=dict(plan.environment), ports=list(plan.ports),
                mounts=list(plan.mounts), workdir=plan.workdir, run_options=dict(plan.run_options),
                workspace_volume=volume if engine != "local" else "",
            )
            try:
                info = rt.start(spec)
            except VmuserError as exc:
                # rt.start removes a container it created but could not start: when no
                # container is left, neither is the session (no row, not counted); the
                # operation log keeps the attempt (session.create, then session.fail). A
                # container that may be left (or an engine that cannot tell) keeps a failed row,
                # so the session can still be found and stopped.
                left = _container_left(rt, sid)
                with self.db.write() as conn:
                    if left:
                        self._set_status(conn, session, "failed", str(exc))
                    oplog.record(conn, "session.fail", project_id=project.id, session_id=sid, reason=str(exc),
                                 image=choice_image)
                    if not left:
                        conn.execute("DELETE FROM sessions WHERE id = ?", (sid,))
                raise
            except KeyboardInterrupt:  # ctrl-c: no session stuck in 'created', no stray container
                from vmuser_tui.core.lifecycle import abandon_start

                abandon_start(self, rt, session)
                raise
            container_id = info.id
            ports = json.dumps([p.to_json() for p in info.ports])
        else:
            container_id, ports = None, "[]"
        from vmuser_tui.core.lifecycle import start_overtaken

        with self.db.write() as conn:
            recorded = conn.execute("SELECT 1 FROM sessions WHERE id = ?", (sid,)).fetchone() is not None
            if recorded:  # (not: `project delete` took the row meanwhile)
                self._set_status(conn, session, "running", "", container_id=container_id,
                                 started_at=clock.now_iso(), ports=ports)
                oplog.record(conn, "session.start", project_id=project.id, session_id=sid,
                             runtime=runtime, image=choice_image, container_id=container_id)
        if not recorded:
            start_overtaken(self, rt if container_id else None, container_id, session)
        if plan.hooks and container_id:  # the devcontainer's postCreate/postStart commands
            from vmuser_tui.core import hooks

            notes.extend(hooks.run(self.ctx, rt, session_id=sid, project_id=project.id, container_id=container_id,
                                   hooks=plan.hooks, workdir=plan.workdir, output=output))
        try:
            return StartOutcome(self.get(sid), notes)
        except NotFoundError:  # deleted after it was recorded (its container went with the project)
            start_overtaken(self, rt if container_id else None, container_id, session)
            raise

    def _make_room(self, project_id: str) -> builtins.list[str]:
        """The resource budget ("one VM at a time" on small hosts): while starting one more
        container would exceed ``[runtime] max_running`` or ``memory_budget`` (each
        container counted at ``[docker] memory``), checkpoint and stop the least recently
        used running docker session (a hot swap). Returns one note per session stopped."""
        rcfg = self.ctx.config.values["runtime"]
        max_running, budget = rcfg["max_running"], rcfg["memory_budget"]
        if not max_running and not budget:
            return []
        each = self.ctx.config.get("docker", "memory")
        running = [Session.from_row(r) for r in self.db.query(
            "SELECT * FROM sessions WHERE runtime = 'docker' AND status = 'running' "
            "ORDER BY last_active_at, created_at")]
        notes = []
        while running:
            wanted = len(running) + 1  # with the one being started
            if max_running and wanted > max_running:
                limit = f"[runtime] max_running = {max_running}"
            elif budget and wanted * each > budget:
                limit = f"[runtime] memory_budget = {budget // (1024 * 1024)} MiB"
            else:
                break
            victim = running.pop(0)
            self.stop(victim.id, reason=f"stopped to stay within {limit} (hot swap)")
            with self.db.write() as conn:
                oplog.record(conn, "session.swap", project_id=victim.project_id, session_id=victim.id,
                             for_project=project_id, limit=limit)
            saved = ("it was checkpointed first" if self.ctx.config.get("snapshots", "enabled")
                     else "not checkpointed: [snapshots] enabled = false")
            notes.append(f"stopped session {victim.id} of project {victim.project_id} (least recently used) to stay "
                         f"within {limit}; {saved}")
        return notes

    def stop(self, ref: str, *, reason: str = "stopped by user") -> Session:
        """Stop a session: an automatic checkpoint of its workspace first (see ``on_end``),
        then its container is stopped and removed (the workspace stays); with ``[runtime]
        keep_stopped = true`` the stopped container stays until ``session rm`` or the
        project's deletion. Raises StateError when it is already stopped."""
        session = self.get(ref)
        if session.status in ("stopped",):
            raise StateError(f"session {session.id} is already stopped")
        self.ctx.access.check(session.project_id, session.id, what="stop this session")
        if self.on_end is not None and session.status in ("running", "paused"):
            self.on_end(session, "session stopped")
        if session.runtime == "docker" and session.container_id:
            from vmuser_tui.core.lifecycle import keep_stopped

            rt = self.rt(session)
            try:
                rt.stop(session.container_id)
            except NotFoundError:
                pass  # the container is already gone (removed behind vmuser's back)
            if not keep_stopped(self.ctx):
                rt.remove(session.container_id)
        elif session.runtime == "docker":  # a start killed before it recorded its container
            rt = self.rt(session)
            from vmuser_tui.core.lifecycle import unrecorded_containers

            for container_id in unrecorded_containers(rt, session):
                rt.remove(container_id)
        with self.db.write() as conn:
            self._set_status(conn, session, "stopped", reason, stopped_at=clock.now_iso())
            self.projects.touch(conn, session.project_id)
            oplog.record(conn, "session.stop", project_id=session.project_id, session_id=session.id, reason=reason)
        return self.get(session.id)

    def mark_stopped(self, ref: str, reason: str) -> Session:
        """Record a session as stopped without asking its engine (which does not answer:
        see :func:`vmuser_tui.core.engine_move.move_session`); its container, if any, is
        left where it is. Logged as ``session.stop`` with ``unreachable: true``."""
        session = self.get(ref)
        self.ctx.access.check(session.project_id, session.id, what="stop this session")
        with self.db.write() as conn:
            self._set_status(conn, session, "stopped", reason, stopped_at=clock.now_iso())
            oplog.record(conn, "session.stop", project_id=session.project_id, session_id=session.id, reason=reason,
                         unreachable=True)
        return self.get(session.id)

    def environment(self, ref: str) -> dict[str, str | None]:
        """The variables the session was started with (its ``env_keys``), values read from
        its container now (vmuser stores names only) and secret-looking ones masked
        (:func:`vmuser_tui.core.session_env.masked`). A value is None when the container
        cannot say (removed, runtime none, the engine unreachable)."""
        from vmuser_tui.core.session_env import masked

        session = self.get(ref)
        values: dict[str, str] = {}
        if session.env_keys and session.container_id and session.runtime == "docker":
            try:
                values = masked(self.rt(session).environment(session.container_id))
            except VmuserError:
                values = {}
        return {name: values.get(name) for name in session.env_keys}

    def require_running(self, ref: str) -> Session:
        """The session, which must be running with a container. Raises StateError otherwise."""
        session = self.get(ref)
        if session.runtime != "docker":
            raise StateError(f"session {session.id} has no container (runtime 'none'); "
                             f"start one with: vmuser session start {session.project_id}")
        if session.status == "unreachable":  # its engine may be back: ask it now
            self.reconcile(engines=[session.engine])
            session = self.get(session.id)
            if session.status == "unreachable":
                raise StateError(f"session {session.id} is unreachable: engine {session.engine} does not answer "
                                 f"({session.status_reason}); check it with: vmuser engine check {session.engine}, "
                                 f"or move the session: vmuser session move {session.id} --engine local")
        if session.status == "paused":
            from vmuser_tui.core.lifecycle import resume_hint

            raise StateError(resume_hint(session.id))
        if session.status != "running":
            why = f" ({session.status_reason})" if session.status_reason else ""
            raise StateError(f"session {session.id} is {session.status}{why}; "
                             f"start a new one with: vmuser session start {session.project_id}")
        return session

    def _running_container(self, ref: str) -> tuple[Session, str]:
        """:meth:`require_running`'s session and the id of its container. A running docker
        session always has one (start records both in one write); a row without one is
        refused as StateError rather than handed to the engine."""
        session = self.require_running(ref)
        if not session.container_id:
            raise StateError(f"session {session.id} is running but has no container on record; "
                             f"stop it and start a new one with: vmuser session start {session.project_id}")
        return session, session.container_id

    def exec(self, ref: str, argv: builtins.list[str]) -> ExecResult:
        """Run ``argv`` in the session's container at its workdir (/workspace, or the
        devcontainer.json's workspaceFolder); returns the runtime's
        ExecResult (exit_code, output bytes, duration seconds) and logs it."""
        if not argv:
            raise UsageError("give a command to run, e.g.: vmuser session exec SESSION -- ls -la")
        session, container_id = self._running_container(ref)
        self.ctx.access.check(session.project_id, session.id, what="run commands in this session")
        result = self.rt(session).exec(container_id, argv, workdir=session.workdir or WORKSPACE_MOUNT)
        with self.db.write() as conn:
            conn.execute("UPDATE sessions SET last_active_at = ? WHERE id = ?", (clock.now_iso(), session.id))
            self.projects.touch(conn, session.project_id)
            oplog.record(conn, "session.exec", project_id=session.project_id, session_id=session.id,
                         command=argv, exit_code=result.exit_code, duration_ms=round(result.duration * 1000))
            metrics.record_exec(conn, session.id, round(result.duration * 1000))
        return result

    def exec_stream(self, ref: str, argv: builtins.list[str], *, on_output: OutputSink, stdin_fd: int | None = None,
                    stdin: bool = False, tty: bool = False, detach: bool = False, workdir: str | None = None,
                    env: dict[str, str] | None = None, user: str = "", size: tuple[int, int] | None = None,
                    control: ExecControl | None = None, check_access: bool = True) -> ExecOutcome:
        """Run ``argv`` in the session's container like ``docker exec``: output handed to
        ``on_output(stream, bytes)`` as it arrives (in this thread), ``stdin_fd`` forwarded
        (with ``stdin``), a TTY, detached, ``workdir`` (absolute; default the session's: /workspace or
        the devcontainer.json's workspaceFolder), extra
        ``env``, another ``user``; ``control`` cancels/interrupts/resizes it from other
        threads (closed when this returns). Blocks until the command ends (not when
        detached). Checks the lease first; logs ``session.exec`` (env names only, never
        values) and counts it in the metrics, as :meth:`exec` does. See
        :mod:`vmuser_tui.core.exec_options` for what is bad input (UsageError).
        ``check_access=False``: the caller has judged it already (a custom command marked
        ``changes = false`` runs in read-only mode, issue 16)."""
        from vmuser_tui.core.exec_options import check_env, check_workdir
        from vmuser_tui.core.runtime.base import ExecOptions

        try:
            if not argv:
                raise UsageError("give a command to run, e.g.: vmuser session exec SESSION -- ls -la")
            options = ExecOptions(stdin=stdin and not detach, tty=tty, detach=detach, workdir=check_workdir(workdir),
                                  environment=check_env(env or {}), user=user.strip(), size=size)
            session, container_id = self._running_container(ref)
            if check_access:
                self.ctx.access.check(session.project_id, session.id, what="run commands in this session")
            if not workdir and session.workdir:  # a devcontainer.json's workspaceFolder
                options = replace(options, workdir=session.workdir)
            outcome = self.rt(session).exec_stream(container_id, argv, options, on_output,
                                                             stdin_fd=stdin_fd if options.stdin else None,
                                                             control=control)
        finally:
            if control is not None:
                control.close()
        details: dict[str, object] = {"command": argv, "exit_code": outcome.exit_code,
                                      "duration_ms": round(outcome.duration * 1000)}
        flags = {"tty": options.tty, "stdin": options.stdin, "detached": outcome.detached,
                 "cancelled": outcome.cancelled}
        details.update({key: True for key, on in flags.items() if on})
        if outcome.signal:
            details["signal"] = outcome.signal
        if workdir:
            details["workdir"] = options.workdir
        if options.user:
            details["user"] = options.user
        if options.environment:
            details["env_names"] = sorted(options.environment)  # names only: values may be secrets
        with self.db.write() as conn:
            conn.execute("UPDATE sessions SET last_active_at = ? WHERE id = ?", (clock.now_iso(), session.id))
            self.projects.touch(conn, session.project_id)
            oplog.record(conn, "session.exec", project_id=session.project_id, session_id=session.id, **details)
            metrics.record_exec(conn, session.id, round(outcome.duration * 1000))
        return outcome

    def shell_argv(self, ref: str) -> builtins.list[str]:
        """argv for an interactive shell in the session's container (``docker exec -it``)."""
        session, container_id = self._running_container(ref)
        self.ctx.access.check(session.project_id, session.id, what="open a shell in this session")
        return self.rt(session).shell_argv(container_id, workdir=session.workdir or WORKSPACE_MOUNT)

    def logs(self, ref: str, tail: int = 200) -> str:
        """The last ``tail`` lines of the container's output. Raises StateError when the
        session has no container, or had one that is gone (removed when it stopped), and
        UsageError for a ``tail`` outside 0 to :data:`~vmuser_tui.core.bounds.MAX_TAIL`."""
        from vmuser_tui.core.bounds import MAX_TAIL, in_range

        in_range("--tail", tail, 0, MAX_TAIL)
        session = self.get(ref)
        if not session.container_id:
            raise StateError(f"session {session.id} has no container (runtime '{session.runtime}')")
        try:
            return self.rt(session).logs(session.container_id, tail=tail)
        except NotFoundError:
            if session.status in ACTIVE:
                raise
            # stopping removes the container, and its output with it: not a surprise to report as one
            raise StateError(f"session {session.id} is {session.status}: its container was removed, "
                             "and its output with it") from None

    def remove_containers(self, project_id: str) -> int:
        """Stop and remove every container of a project's sessions (kept stopped ones too,
        see ``[runtime] keep_stopped``); marks them stopped. Docker being unreachable is an
        error only if a session may still have a container."""
        from vmuser_tui.core.lifecycle import keep_stopped

        count = 0
        kept = ("stopped",) if keep_stopped(self.ctx) else ()
        for session in self.list(project_id):
            if (session.runtime == "docker" and session.container_id
                    and session.status in ACTIVE + ("failed",) + kept):
                rt = self.rt(session)
                try:
                    # a failed session's container may be gone (it vanished, or a delete killed
                    # half-way removed it): counted (and logged) only when there was one
                    there = session.status != "failed" or rt.inspect(session.container_id) is not None
                    rt.remove(session.container_id)
                except VmuserError:
                    if session.engine == "local":
                        raise
                    continue  # a dead host: purge_project reports what stays there
                count += there
                with self.db.write() as conn:
                    if session.status != "stopped":
                        self._set_status(conn, session, "stopped", "project deleted", stopped_at=clock.now_iso())
        return count

    # -- lifecycle and logs (the work is in core/lifecycle.py and core/session_logs.py) ----
    def pause(self, ref: str) -> Session:
        """Freeze a running session's container (``docker pause``); see :func:`lifecycle.pause`."""
        from vmuser_tui.core import lifecycle

        return lifecycle.pause(self, ref)

    def resume(self, ref: str) -> Session:
        """Thaw a paused session (``docker unpause``); see :func:`lifecycle.resume`."""
        from vmuser_tui.core import lifecycle

        return lifecycle.resume(self, ref)

    def remove(self, ref: str) -> Session:
        """Remove a stopped or failed session (its container, its row); see :func:`lifecycle.remove`."""
        from vmuser_tui.core import lifecycle

        return lifecycle.remove(self, ref)

    def stream_logs(self, ref: str, *, follow: bool = False, since: str | None = None,
                    tail: str | int | None = None) -> LogStream:
        """The container's output as lines, followed or not; see :func:`session_logs.open_stream`."""
        from vmuser_tui.core import session_logs

        return session_logs.open_stream(self, ref, follow=follow, since=since, tail=tail)

    def reconcile(self, *, wait_s: float | None = None, engines: Collection[str] | None = None,
                  known: dict[str, str | None] | None = None) -> builtins.list[str]:
        """Bring active sessions in line with what their engines report; returns one line
        per change. An engine is only contacted when a docker session on it is active, all
        of them in parallel, each bounded by its timeout (``wait_s`` at most): one dead host
        never slows the others. Sessions of an engine that does not answer become
        ``unreachable`` (not failed: the container may run on) — except on ``local``, where
        an engine that is down changes nothing, as before engines existed. ``engines``: only
        the sessions on these (None: all); ``known``: engines already asked, ``{name: None
        or why not reachable}``. ReadOnlyError for a read-only client."""
        self.ctx.access.check(None, what="update session states")
        active = [Session.from_row(r) for r in self.db.query(
            "SELECT * FROM sessions WHERE runtime = 'docker' AND status IN ('created','running','paused','unreachable')"
        )]
        if not active:
            return []
        by_engine: dict[str, builtins.list[Session]] = {}
        for session in active:
            if engines is None or session.engine in engines:
                by_engine.setdefault(session.engine, []).append(session)
        if not by_engine:
            return []
        from vmuser_tui.core.engine_reconcile import probe_engines

        known = known or {}
        unknown = [e for e in by_engine if e not in known]
        reachable = {**known, **(probe_engines(self.ctx, unknown, wait_s=wait_s) if unknown else {})}
        changes = []
        for engine, sessions in by_engine.items():
            error = reachable[engine]
            for session in sessions:
                if error is not None:
                    if engine != "local" and session.status != "unreachable":
                        changes.append(self._change(session, "unreachable", error))
                    continue
                change = self._reconcile_one(session)
                if change:
                    changes.append(change)
        return changes

    def _reconcile_one(self, session: Session) -> str | None:
        """Compare one active session with its container on a reachable engine."""
        if session.status == "created":
            # Another process may be starting it right now; only a stale start is failed.
            age = (clock.now() - clock.parse(session.created_at)).total_seconds()
            if age < STALE_START_SECONDS:
                return None
        try:
            info = self.rt(session).inspect(session.container_id) if session.container_id else None
        except RuntimeUnavailableError:
            return None
        if info is None:
            new, reason = "failed", "container vanished"
        elif info.status == "running":
            new, reason = "running", ""
        elif info.status == "paused":
            new, reason = "paused", ""
        elif info.status in ("exited", "dead"):
            new, reason = "stopped", f"container {info.status}"
        else:
            return None
        if new == session.status:
            return None
        if session.status == "created" and not session.container_id:
            new, reason = "failed", "start did not finish"
            rt = self.rt(session)
            from vmuser_tui.core.lifecycle import unrecorded_containers

            for container_id in unrecorded_containers(rt, session):  # the killed start's container
                try:
                    rt.remove(container_id)
                except VmuserError:
                    pass  # the engine is in trouble: session stop/rm remove it later
        return self._change(session, new, reason)

    def _change(self, session: Session, new: str, reason: str) -> str:
        """Record a reconciled status change (and its log entry); the line for the user."""
        with self.db.write() as conn:
            ended = {"stopped_at": clock.now_iso()} if new in ("stopped", "failed") else {}
            self._set_status(conn, session, new, reason, **ended)
            oplog.record(conn, "session.reconcile", project_id=session.project_id, session_id=session.id,
                         old=session.status, new=new, reason=reason)
        if self.on_end is not None and session.status == "running" and new in ("stopped", "failed"):
            self.on_end(session, reason)  # the container exited: keep what it left in the workspace
        return f"session {session.id}: {session.status} -> {new} ({reason or 'container ' + new})"
