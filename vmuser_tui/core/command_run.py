"""Run a custom command (:mod:`~vmuser_tui.core.custom_commands`) and log it.

``where = "container"``: the session's streaming exec
(:meth:`Sessions.exec_stream <vmuser_tui.core.sessions.Sessions.exec_stream>`: output as it
comes, cancellable through an :class:`~vmuser_tui.core.runtime.exec_control.ExecControl`).
``where = "host"``: a subprocess on the host, cwd the project's workspace, no shell, stdin
/dev/null, in its own process group; its stdout/stderr are read as they come (select on
both pipes and the control's wake-up pipe) and a cancel sends SIGTERM to the group, then
SIGKILL after :data:`KILL_AFTER` seconds if it has not ended.

Each run is logged as ``command.run`` with the command's name, scope, where, the *names*
of its placeholders, the exit code and duration; never the expanded argv (values may be
paths or names the user would not want in a shared log).
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import time
from typing import TYPE_CHECKING

from vmuser_tui.core import oplog
from vmuser_tui.core.custom_commands import CommandContext, CustomCommand, expand, missing
from vmuser_tui.core.errors import UsageError
from vmuser_tui.core.runtime.base import WORKSPACE_MOUNT, ExecOutcome

if TYPE_CHECKING:  # pragma: no cover
    from vmuser_tui.core.context import Context
    from vmuser_tui.core.projects import Projects
    from vmuser_tui.core.runtime.base import OutputSink
    from vmuser_tui.core.runtime.exec_control import ExecControl
    from vmuser_tui.core.sessions import Sessions

#: Seconds between SIGTERM and SIGKILL when a host command is cancelled.
KILL_AFTER = 3.0
_CHUNK = 65536


class Commands:
    """``vm.commands``: fill and run custom commands."""

    def __init__(self, ctx: Context, projects: Projects, sessions: Sessions) -> None:
        self.ctx = ctx
        self.projects = projects
        self.sessions = sessions

    def context(self, cmd: CustomCommand, project_id: str, *, session_id: str | None = None,
                checkpoint_id: str | None = None, path: str | None = None) -> CommandContext:
        """The placeholder values for ``cmd`` run on ``project_id`` (and the selected
        session, checkpoint, file): ``{workspace}`` is the host folder for a host command,
        the container's workdir for a container command."""
        project = self.projects.get(project_id)
        session = self.sessions.get(session_id) if session_id else None
        if session is None and cmd.where == "container":  # e.g. from the files screen: the running one
            session = next((s for s in self.sessions.list(project_id)
                            if s.runtime == "docker" and s.status == "running"), None)
        if cmd.where == "container":
            workspace = (session.workdir or WORKSPACE_MOUNT) if session is not None else None
        else:
            workspace = project.workspace
        return CommandContext(project=project.name, session=session.id if session else None,
                              container=session.container_name if session and session.container_name else None,
                              checkpoint=checkpoint_id, path=path, workspace=workspace)

    def run(self, cmd: CustomCommand, context: CommandContext, project_id: str, *, session_id: str | None,
            on_output: OutputSink, control: ExecControl | None = None) -> ExecOutcome:
        """Run ``cmd`` with ``context`` filled in; blocks until it ends (cancel with
        ``control``). A container command needs ``session_id`` (a running Docker session).
        ``changes = true`` is refused in read-only mode (ReadOnlyError) and while another
        client holds the project's sessions; ``changes = false`` runs there, on the host or in
        the container alike (issue 16: "refused in read-only mode when marked as changing").
        Logs ``command.run``."""
        try:
            argv = expand(cmd, context)
            if cmd.changes:
                self.ctx.access.check(project_id, session_id, what=f"run command {cmd.name!r} (changes = true)")
            if cmd.where == "container":
                if not session_id:
                    raise UsageError(f"command {cmd.name!r} runs in a container: start a Docker session first")
                outcome = self.sessions.exec_stream(session_id, argv, on_output=on_output, control=control,
                                                    check_access=False)  # judged above, by cmd.changes
            else:
                outcome = run_host(argv, self.projects.get(project_id).workspace, on_output, control)
        finally:
            if control is not None:  # closing twice is harmless (exec_stream closes it too)
                control.close()
        details: dict[str, object] = {"name": cmd.name, "scope": cmd.scope, "where": cmd.where,
                                      "placeholders": list(cmd.placeholders), "exit_code": outcome.exit_code,
                                      "duration_ms": round(outcome.duration * 1000)}
        if outcome.cancelled:
            details["cancelled"] = True
        with self.ctx.db.write() as conn:
            oplog.record(conn, "command.run", project_id=project_id, session_id=session_id, **details)
        return outcome

    @staticmethod
    def missing(cmd: CustomCommand, context: CommandContext) -> list[str]:
        """Placeholders of ``cmd`` without a value in ``context``."""
        return missing(cmd, context)


def run_host(argv: list[str], cwd: str, on_output: OutputSink, control: ExecControl | None = None) -> ExecOutcome:
    """Run ``argv`` on the host (no shell) in ``cwd``, its output handed to
    ``on_output(stream, bytes)`` as it arrives. UsageError when it cannot start."""
    started = time.monotonic()
    try:
        proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,  # noqa: S603
                                stderr=subprocess.PIPE, start_new_session=True)
    except FileNotFoundError:
        raise UsageError(f"cannot run {argv[0]!r} on the host: no such program (or the workspace {cwd} "
                         "is missing); fix command in [[commands]]") from None
    except OSError as exc:
        raise UsageError(f"cannot run {argv[0]!r} on the host: {exc.strerror or exc}") from None
    assert proc.stdout is not None and proc.stderr is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ, "stdout")
    sel.register(proc.stderr, selectors.EVENT_READ, "stderr")
    if control is not None:
        sel.register(control.fileno(), selectors.EVENT_READ, "control")
    open_streams = 2
    cancelled = False
    sent = ""
    term_at = 0.0
    try:
        while open_streams:
            timeout = None
            if cancelled and sent == "TERM":
                timeout = max(0.0, term_at + KILL_AFTER - time.monotonic())
            events = sel.select(timeout)
            if not events and cancelled and sent == "TERM":
                _signal(proc, signal.SIGKILL)
                sent = "KILL"
                continue
            for key, _ in events:
                if key.data == "control":
                    assert control is not None
                    control.drain()
                    if control.cancelled and not cancelled:
                        cancelled = True
                        _signal(proc, signal.SIGTERM)
                        sent, term_at = "TERM", time.monotonic()
                    continue
                data = os.read(key.fd, _CHUNK)
                if not data:
                    sel.unregister(key.fileobj)
                    open_streams -= 1
                    continue
                on_output(key.data, data)
        code = proc.wait()
    finally:
        sel.close()
        proc.stdout.close()
        proc.stderr.close()
        if proc.poll() is None:  # an error in on_output: do not leave it running
            _signal(proc, signal.SIGKILL)
            proc.wait()
    return ExecOutcome(exit_code=code, duration=time.monotonic() - started, cancelled=cancelled, signal=sent)


def _signal(proc: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
