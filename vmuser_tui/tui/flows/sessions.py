"""Session actions that several screens share: start a session, stop one, run a command
in its container, open a shell there. Each takes the screen it runs from as a ``host``
(a :class:`~vmuser_tui.tui.screens.base.WorkerMixin`: workers, notifications, the app)
and an ``after`` callback (usually the screen's reload); it imports no calling screen,
only the dialogs it shows."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.text import Text

from vmuser_tui.core.redact import redact_argv
from vmuser_tui.tui.widgets.cells import clip

if TYPE_CHECKING:  # pragma: no cover
    from vmuser_tui.core.models import Session
    from vmuser_tui.core.sessions import StartOutcome
    from vmuser_tui.tui.screens.base import WorkerMixin

After = Callable[[], object] | None


def start_session(host: WorkerMixin, project_id: str, name: str, *, after: After = None,
                  engine: str = "local") -> None:
    """Start a session (Docker; when Docker is known to be unreachable, offer a
    workspace-only session instead) in a worker, then notify its notes. ``engine``: where
    the project lives; with more engines configured the user picks one first
    (:func:`~vmuser_tui.tui.flows.engines.choose_start_engine`)."""
    from vmuser_tui.tui.flows.engines import choose_start_engine

    choose_start_engine(host, name, engine, lambda chosen: _start_on(host, project_id, name, chosen, after))


def _start_on(host: WorkerMixin, project_id: str, name: str, engine: str, after: After) -> None:
    from vmuser_tui.tui.screens.confirm import ConfirmScreen

    app = host.vapp

    def run(runtime: str) -> None:
        def done(outcome: StartOutcome) -> None:
            s = outcome.session
            if s.runtime == "docker":
                short = f"session {s.id} started in a container" + (f" on engine {s.engine}"
                                                                    if s.engine != "local" else "")
                where = f"container {s.container_name}, image {s.image}"
            else:
                short = f"session {s.id} started: workspace only"
                where = "workspace only (runtime none): no container"
            notes = [note for note in outcome.notes if note.strip()]
            # one line; the notes (e.g. why this image: a registry lookup that failed) go
            # to the messages view in full
            app.notify(short, title="Session started",
                       details="\n".join([f"on {name}: {where}", *notes]) if notes else None)
            for note in notes:  # e.g. [docker] user = "root": a toast of its own, not only in the details
                if note.startswith("warning:"):
                    app.notify(note, title="Session started", severity="warning")
            if after:
                after()

        from vmuser_tui.core.launch import StartOptions

        label = "starting a Docker session" if runtime == "docker" else "starting a workspace-only session"
        if engine != "local":
            label += f" on engine {engine}"
        # the image build of a devcontainer.json/Dockerfile streams its latest line into the TaskBar
        options = StartOptions(output=host.line_callback())
        host.run_blocking(lambda: host.vm.sessions.start(project_id, runtime=runtime, options=options,
                                                         engine=engine), done, group="write", task=label)

    if engine != "local":  # the status line's Docker check is about the local engine only
        run("docker")
        return
    ok, detail = getattr(app, "docker_state", (None, ""))
    if ok is False:
        def answer(yes: bool | None) -> None:
            if yes:
                run("none")

        app.push_screen(ConfirmScreen(
            "Docker is unreachable",
            Text.assemble(detail or "The Docker engine cannot be reached.", "\n\nStart a workspace-only session "
                          "(runtime none: checkpoints, diffs and restores work; no container)?"),
            confirm_label="Start without Docker", danger=False), answer)
        return
    run("docker")


def stop_session(host: WorkerMixin, session: Session, *, after: After = None) -> None:
    """Ask, then stop ``session`` (its container is removed; the workspace stays)."""
    from vmuser_tui.tui.screens.confirm import ConfirmScreen

    body = Text(f"Session {session.id} ({session.runtime}) stops.")
    if session.runtime == "docker" and host.vm.config.get("runtime", "keep_stopped"):
        body.append(f"\nIts container {session.container_name} is stopped and kept ([runtime] keep_stopped): "
                    "`vmuser session rm` removes it. The workspace and checkpoints stay.")
    elif session.runtime == "docker":
        body.append(f"\nIts container {session.container_name} is stopped and removed: anything outside "
                    "/workspace inside it is lost. The workspace and checkpoints stay.")

    def stopped(s: Session) -> None:
        host.notify(f"session {s.id} stopped")
        if after:
            after()

    def answer(yes: bool | None) -> None:
        if yes:
            host.run_blocking(lambda: host.vm.sessions.stop(session.id), stopped,
                              group="write", task=f"stopping {session.id}")

    host.vapp.push_screen(ConfirmScreen(f"Stop session {session.id}?", body, confirm_label="Stop"), answer)


def exec_command(host: WorkerMixin, session: Session, *, after: After = None) -> None:
    """Ask for a command and run it with ``sh -c`` in the session's container, its output
    streamed into :class:`~vmuser_tui.tui.screens.exec_output.ExecOutputScreen` while it
    runs (cancellable there); ``after`` runs when that view closes."""
    from vmuser_tui.tui.screens.exec_output import ExecOutputScreen
    from vmuser_tui.tui.screens.prompt import PromptScreen

    app = host.vapp

    def answer(command: str | None) -> None:
        if not command:
            return
        argv = ["sh", "-c", command]
        shown = redact_argv(argv)[2]  # the title may be on a shared screen: no secrets (core.redact)
        title = f"$ {clip(shown, 60)}  [{session.container_name}]"
        def closed(_: None) -> None:
            if after:
                after()

        app.push_screen(ExecOutputScreen(session, argv, title), closed)

    app.push_screen(PromptScreen(f"Run in {session.container_name}", placeholder="command, e.g. ls -la",
                                 hint="sh -c in /workspace, output live   Enter: run   Esc: cancel",  # fits 80 columns
                                 allow_empty=False), answer)


def show_container_logs(host: WorkerMixin, selected: Session | None, sessions: list[Session]) -> None:
    """The container output of ``selected`` (or of the first running session with a
    container), followed; a warning when there is none."""
    from vmuser_tui.tui.widgets.sessions_panel import WATCHED

    session = selected
    if session is None or not session.container_id:
        with_container = [s for s in sessions if s.container_id and s.status in WATCHED]
        if with_container:
            session = with_container[0]
    start = host.key("project.start", "s")
    if session is None:
        host.notify(f"this project has no session: {start} starts one", severity="warning")
        return
    if not session.container_id:
        host.notify(f"no container logs: session {session.id} has no container (runtime '{session.runtime}'); "
                    f"{start} starts a Docker session", severity="warning")
        return
    from vmuser_tui.tui.screens.container_logs import ContainerLogsScreen

    host.vapp.push_screen(ContainerLogsScreen(session))


def shell_banner(container: str) -> str:
    """What the terminal shows before the shell starts: a cleared screen and one line."""
    return f"\x1b[H\x1b[2Jvmuser: shell in {container} — exit to return\n"


def open_shell(host: WorkerMixin, session: Session, *, after: After = None) -> None:
    """An interactive shell in the session's container, on the real terminal."""
    host.run_blocking(lambda: host.vm.sessions.shell_argv(session.id),
                      lambda argv: run_shell(host, argv, session, after=after), group="write")


def run_shell(host: WorkerMixin, argv: list[str], session: Session, *, after: After = None) -> None:
    """Suspend the app and run ``argv`` (``docker exec -it ...``) until it exits."""
    import subprocess
    import sys
    import threading

    # The event loop waits for the shell, so its timers do too: renew the leases from
    # a thread meanwhile, or a long shell would lose the session to another client.
    stop = threading.Event()
    vm = host.vm

    def beat() -> None:
        while not stop.wait(vm.access.heartbeat_interval):
            try:
                vm.access.heartbeat()
            except Exception:  # noqa: BLE001, S110 - a busy database: the next beat tries again
                pass

    beater = threading.Thread(target=beat, name="vmuser shell heartbeat", daemon=True)
    beater.start()
    try:
        with host.vapp.suspend():
            # the real terminal now: start the shell on a clean screen that says where it is
            sys.stdout.write(shell_banner(session.container_name or session.id))
            sys.stdout.flush()
            subprocess.call(argv)
    except Exception as exc:  # noqa: BLE001 - SuspendNotSupported (served over the web), no docker CLI
        host.notify(f"cannot open a shell here: {exc}", severity="error")
    finally:
        stop.set()
    if after:
        after()
