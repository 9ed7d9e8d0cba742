"""A screen's side of the session leases: the passes that attach it to the running
sessions (core's :meth:`~vmuser_tui.core.access.Access.reconcile` in a worker, one at a
time), the heartbeat that renews them, and the take-over of an expired lease after a
confirmation. The policy is core's; the banner (:class:`LeaseBanner`) shows the outcome.
Imports no calling screen."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.text import Text

from vmuser_tui.core.access import Attachment
from vmuser_tui.core.errors import VmuserError
from vmuser_tui.tui.widgets.sessions_panel import WATCHED

if TYPE_CHECKING:  # pragma: no cover
    from textual.app import App

    from vmuser_tui.core.leases import Lease
    from vmuser_tui.core.models import Session
    from vmuser_tui.core.service import Vmuser
    from vmuser_tui.tui.screens.base import WorkerMixin
    from vmuser_tui.tui.widgets.lease_banner import LeaseBanner

class LeaseSync:
    """Attach passes for one screen. ``sessions()``: the project's sessions as shown;
    ``after(restarted)``: called on the UI thread after each pass (``restarted``: a session
    stopped when its last client left was started again, so the screen should reload)."""

    def __init__(self, host: WorkerMixin, banner: LeaseBanner, sessions: Callable[[], list[Session]],
                 after: Callable[[bool], None]) -> None:
        self.host, self.banner, self.sessions, self.after = host, banner, sessions, after
        self.running = False
        self.again = False  # a pass was asked for while one ran: run it after
        self.first_pass = True

    def heartbeat(self) -> None:
        """Renew this client's leases (in a worker)."""
        if self.banner.attachment.attached:
            self.host.run_blocking(self.host.vm.access.heartbeat, group="heartbeat")

    def sync(self, take_over: str | None = None) -> None:
        """Attach to the running sessions, leave stopped ones, see who holds what
        (``take_over``: the session whose expired holder is replaced)."""
        if self.running:
            self.again = True
            return
        self.running = True
        host = self.host
        sessions = self.sessions()
        watched = [s.id for s in sessions if s.status in WATCHED]
        wanted = watched
        if self.first_pass and not wanted and not host.vapp.read_only:
            # Stopped because its last client left ([runtime] container_stop_on_disconnect):
            # opening the project opens it again (open_session starts it).
            from vmuser_tui.core.service import DISCONNECT_REASON

            wanted = [s.id for s in sessions[:1] if s.status == "stopped" and s.runtime == "docker"
                      and s.status_reason == DISCONNECT_REASON]
        self.first_pass = False
        mine = dict(self.banner.attachment.attached)
        read_only = bool(host.vapp.read_only)
        vm = host.vm

        def job() -> Attachment:
            try:
                return vm.access.reconcile(vm, wanted, mine, read_only=read_only, take_over=take_over)
            except VmuserError:
                raise
            except Exception as exc:  # a crash would leave the passes stopped: report it as an error
                raise VmuserError(f"attaching to the sessions failed: {type(exc).__name__}: {exc}") from exc

        restarting = bool(wanted) and wanted[0] not in watched
        host.run_blocking(job, self._done, group="leases", failed=self._failed,
                          task="starting the session again" if restarting else None)

    def _failed(self, err: VmuserError) -> None:
        self.running = False
        self.host.show_error(err)

    def _done(self, att: Attachment) -> None:
        self.running = False
        restarted = any(sid not in {s.id for s in self.sessions()} for sid in att.attached)
        for text, title, severity in self.banner.absorb(att):
            self.host.notify(text, title=title, severity=severity)
        self.after(restarted)
        if not restarted and self.again:
            self.again = False
            self.sync()


def confirm_takeover(host: WorkerMixin, held: dict[str, Lease], focus: str | None,
                     take_over: Callable[[str], None]) -> None:
    """``T``: take over the session another client held read-write and whose lease expired
    (``focus``: the session to prefer), after a confirmation; ``take_over(session_id)``
    runs the pass that does it. Says why when there is nothing (yet) to take over."""
    notify = host.notify
    if not held:
        notify("nobody else holds this project's sessions: nothing to take over", severity="warning")
        return
    sid = focus if focus in held else next(iter(held))
    lease = held[sid]
    if lease.expires_in() > 0:
        notify(f"session {sid} is held read-write by {lease.describe()}: it can be taken over once the "
               "lease expired (its holder stops renewing it when it exits or loses its connection)",
               title="Not yet", severity="warning")
        return
    from vmuser_tui.tui.screens.confirm import ConfirmScreen

    body = Text()
    body.append(f"{lease.actor} pid {lease.pid}", style="bold")
    body.append(f" held session {sid} read-write; {lease.describe().split(', ', 1)[1]}: its vmuser stopped "
                "renewing the lease (it crashed, or lost its connection).\n\n")
    body.append("Taking over makes this TUI the read-write holder. The take-over is written to the operation "
                "log. If that vmuser is still alive, its changes are refused from now on.")

    def answer(yes: bool | None) -> None:
        if yes:
            take_over(sid)

    host.vapp.push_screen(ConfirmScreen(f"Take over session {sid}?", body, confirm_label="Take over"), answer)


def leave_sessions(app: App, vm: Vmuser | None, session_ids: list[str]) -> None:
    """Give back this client's leases on ``session_ids`` (a screen closing), in a worker of
    the app (the screen is gone); a container stopped because its last client left is
    said in a notification. When the whole app is closing, ``Vmuser.close()`` leaves them
    instead."""
    if not session_ids or vm is None or getattr(app, "_exit", False) or not app.is_running:
        return

    def leave() -> None:
        for sid in session_ids:
            try:
                note = vm.close_session(sid)
            except VmuserError:
                continue
            if note:
                try:
                    app.call_from_thread(app.notify, note)
                except RuntimeError:
                    pass

    try:
        app.run_worker(leave, thread=True, group="leave-sessions", exit_on_error=False, name="leaving sessions")
    except Exception:  # noqa: BLE001, S110 - the app is closing after all: Vmuser.close() leaves them
        pass
