"""The vmuser TUI: :class:`VmuserApp` and :func:`run_tui` (what ``vmuser`` with no arguments runs).

Home is the projects screen. Every Binding has a stable id (``projects.filter``,
``project.restore``...) that ``[keymap]`` in config.toml can remap. Docker reachability
is checked in a thread worker (never blocking) and shown in each screen's status line;
another process's commits (``PRAGMA data_version``) make the current screen reload.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.reactive import reactive

from vmuser_tui.core.text import printable
from vmuser_tui.tui.commands import VmuserCommands
from vmuser_tui.tui.keymap_check import resolve, theme_problem, theme_suggestion, unknown_ids
from vmuser_tui.tui.scopes import AppKeys, all_binding_ids
from vmuser_tui.tui.screens.projects import ProjectsScreen
from vmuser_tui.tui.styles import css
from vmuser_tui.tui.widgets.cells import clip

if TYPE_CHECKING:  # pragma: no cover
    import threading

    from textual.app import AutopilotCallbackType
    from textual.content import Content
    from textual.notifications import SeverityLevel

    from vmuser_tui.core.custom_commands import CustomCommand
    from vmuser_tui.core.service import Vmuser
    from vmuser_tui.core.workers.scheduler import JobResult

DockerStatus = Callable[[], "tuple[bool, str]"]


def clock_now() -> str:
    """Local wall-clock time for the messages view (the core clock, so a frozen clock holds here too)."""
    from vmuser_tui.core import clock

    return clock.now().astimezone().strftime("%H:%M:%S")


#: Allocations between young collections once the TUI is up (CPython's default: 700).
GC_THRESHOLD = 10_000


def settle_heap() -> None:
    """Once per process: collect, then freeze what is alive (modules, classes, the first
    screen) out of the garbage collector's reach, and collect young objects less often.

    With a 10,000-checkpoint timeline and a 5,000-entry folder open, full collections of
    the whole heap took 90-220 ms, each one a stalled keypress, and came every few dozen
    keys: every preview drawn leaves short-lived objects that the default threshold
    promotes to the old generation. Frozen objects are still freed when their last
    reference goes (only cycles among them stay, and those live as long as the process);
    with the higher threshold short-lived objects die young, and full collections in
    scrolling became rare (measured: none in 180 keypresses)."""
    import gc

    if gc.get_freeze_count():
        return
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_THRESHOLD, older, oldest)


#: Seconds after start at which the Docker check and the jobs start if the project list
#: has not been drawn by then (it normally is, well before).
FIRST_SCREEN_FALLBACK = 2.0

#: How long a notification stays, by severity (Textual's default is 5 s): errors longer.
NOTIFY_TIMEOUT = {"information": 4.0, "warning": 6.0, "error": 8.0}
#: Seconds a hung-up TUI may take to shut down before it ends itself (see VmuserApp._hang_up).
HANGUP_GRACE = 3.0
#: Notifications kept for the messages view (m).
HISTORY = 200
#: Seconds between two checks of the sessions on engines other than ``local`` (issue 14): a
#: host that died is shown as such within this (each check waits at most 1.5 s, off the UI thread).
ENGINE_INTERVAL = 10.0


@dataclass
class Note:
    """One notification as it was sent, in full (the toast shows one line of it)."""

    at: str
    severity: str
    title: str
    text: str


class VmuserApp(App):
    """The TUI over one :class:`~vmuser_tui.core.service.Vmuser`.

    ``read_only`` (or ``[ui] read_only``) hides and refuses every changing action.
    ``docker_status`` replaces ``vm.docker_status`` (tests inject a constant one).
    """

    TITLE = "vmuser"
    CSS_PATH = css("app")
    COMMANDS = App.COMMANDS | {VmuserCommands}
    BINDINGS: ClassVar[list[BindingType]] = AppKeys.BINDINGS  # the registry lists them without importing the app
    ENABLE_COMMAND_PALETTE = True
    MODES: ClassVar[dict] = {"projects": ProjectsScreen}
    DEFAULT_MODE = "projects"

    #: (reachable: True/False, or None while checking; one-line detail)
    docker_state: reactive[tuple[bool | None, str]] = reactive((None, "checking Docker…"))

    def __init__(
        self,
        vm: Vmuser,
        *,
        read_only: bool = False,
        docker_status: DockerStatus | None = None,
        docker_interval: float = 30.0,
        watch_interval: float = 0.5,  # PRAGMA data_version is one cheap read: 2 polls a second
        open_project: str | None = None,
        jobs: bool = False,
    ) -> None:
        super().__init__()
        self.vm = vm
        self._jobs = jobs
        self._jobs_stop: threading.Event | None = None
        ui = vm.config.values.get("ui", {})
        self.read_only = bool(read_only or ui.get("read_only", False))
        if self.read_only:  # [ui] read_only too: the service refuses every change, not only the keys
            vm.access.read_only = True
        self._docker_status = docker_status or vm.docker_status
        self._docker_interval = docker_interval
        self._watch_interval = watch_interval
        self._data_version: int | None = None
        self._open_project = open_project
        self.history: deque[Note] = deque(maxlen=HISTORY)
        configured: dict[str, str] = dict(getattr(vm.config, "keymap", {}) or {})
        # a remapping that would take a key away from another binding is refused (warned)
        self.keymap, self._keymap_notes = resolve(configured)
        # [[commands]]: a command whose key is taken on its screen is left unbound (warned)
        self.commands: list[CustomCommand] = []
        self._command_notes: list[tuple[str, str]] = []
        if getattr(vm.config, "commands", None):
            from vmuser_tui.tui.command_keys import resolve as resolve_commands

            self.commands, self._command_notes = resolve_commands(vm.config.commands, self.keymap)
        theme = ui.get("theme")
        self._theme_note = None
        if theme and theme in self.available_themes:
            self.theme = theme
        elif theme:
            close = theme_suggestion(theme)
            self._theme_note = (f"unknown theme {theme!r}" + (f": did you mean {close!r}?" if close else ""),
                                theme_problem(theme) or "")
        if self.keymap:
            self.set_keymap(self.keymap)

    def on_mount(self) -> None:
        self._exit_on_hangup()
        for note in getattr(self.vm, "notes", []) or []:
            self.notify(note, title="On start")
        if self._theme_note:
            short, full = self._theme_note
            self.notify(short, severity="warning", details=full)
        for short, full in self._keymap_notes:
            self.notify(short, severity="warning", details=full)
        for short, full in self._command_notes:
            self.notify(short, severity="warning", details=full)
        # (all_binding_ids imports every screen: ~40 ms, only worth it when there is a keymap)
        unknown = sorted(set(self.keymap) - all_binding_ids()) if self.keymap else []
        if unknown:
            self.notify(f"[keymap]: unknown id{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} (? lists ids)",
                        severity="warning", details="\n".join(unknown_ids(self.keymap)))
        if self._open_project:
            from vmuser_tui.tui.screens.project import ProjectScreen

            self.push_screen(ProjectScreen(self._open_project))
        if self._watch_interval:
            # The version at the first screen: a commit before the first poll must count too.
            self._data_version = self.vm.data_version()
            self.set_interval(self._watch_interval, self.check_data_version)
        # the project list calls first_screen_drawn when it is up; this is for when it never is
        self.set_timer(FIRST_SCREEN_FALLBACK, self.first_screen_drawn)

    def _exit_on_hangup(self) -> None:
        """A closed terminal (SSH link gone, tmux killed: SIGHUP) or a plain ``kill`` (SIGTERM)
        ends the app as quitting does, so ``Vmuser.close()`` gives the session leases back at
        once; killed outright, they would keep other clients read-only until they expire."""
        if self.is_headless:
            return
        import asyncio
        import signal

        try:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGHUP, signal.SIGTERM):
                loop.add_signal_handler(sig, self._hang_up)
        except (NotImplementedError, RuntimeError, ValueError, AttributeError):  # Windows, not the main thread
            pass

    def _hang_up(self) -> None:
        """Exit as on quit; if that has not ended the process within :data:`HANGUP_GRACE`
        seconds, leave the sessions and end it. With the terminal gone, Textual's shutdown can
        block for ever writing to it (seen: an orphan stuck in ``WriterThread.stop``)."""
        import os
        import threading
        import time

        def watchdog() -> None:
            time.sleep(HANGUP_GRACE)
            try:
                self.vm.close()  # gives the session leases back, stops a container on disconnect
            except Exception:  # noqa: BLE001 - ending the process matters more than a clean close
                pass
            os._exit(0)

        threading.Thread(target=watchdog, name="vmuser-hangup", daemon=True).start()
        self.exit()

    _first_screen_done = False

    def first_screen_drawn(self) -> None:
        """Start what would slow the first screen down, once it is drawn: the Docker check
        (importing the docker SDK and asking the engine is 50-80 ms of CPU, which a thread worker takes from
        the event loop through the GIL) and the background jobs; then settle the heap
        (:func:`settle_heap`). Runs once."""
        if self._first_screen_done:
            return
        self._first_screen_done = True
        self.check_docker()
        if self._docker_interval:
            self.set_interval(self._docker_interval, self.check_docker)
            # sessions on other engines (issue 14): noticed when theirs stops answering or comes back
            self.check_engines()
            self.set_interval(ENGINE_INTERVAL, self.check_engines)
        if self._jobs and not self.read_only:
            self.start_jobs()
        settle_heap()

    # -- background jobs ----------------------------------------------------------------
    def start_jobs(self) -> None:
        """Run the background jobs (auto checkpoints, retention, cleanup, gc, noticing dead
        containers) in a thread worker; each result worth knowing becomes a notification.
        Leases keep them from running twice when another TUI or ``vmuser worker`` runs."""
        import threading

        stop = self._jobs_stop = threading.Event()
        scheduler = self.vm.scheduler(on_result=lambda res: self._from_thread(self.job_note, res))
        self.run_worker(lambda: scheduler.serve(stop), thread=True, group="jobs", exit_on_error=False,
                        name="background jobs")

    def _from_thread(self, fn, *args) -> None:
        """``fn(*args)`` on the UI thread, called from a worker thread; dropped once the app
        is closing. The one such helper: screens and flows call ``self.vapp._from_thread``."""
        try:
            self.call_from_thread(fn, *args)
        except RuntimeError:
            pass  # the app is closing

    def job_note(self, res: JobResult) -> None:
        """One notification per background event: an auto checkpoint, a cleanup warning or
        deletion, a container that died, a job that failed."""
        from vmuser_tui.tui.jobnotes import notes_for

        for severity, text in notes_for(self.vm, res):
            self.notify(text, title="Background", severity=severity)
        self._reload_screen()

    def _reload_screen(self) -> None:
        """Reload the current screen if it reloads itself (``AUTO_RELOAD``) and is not busy."""
        reload = getattr(self.screen, "reload", None)
        if getattr(self.screen, "AUTO_RELOAD", False) and callable(reload) and not getattr(self.screen, "busy", None):
            reload()

    def on_unmount(self) -> None:
        if self._jobs_stop is not None:
            self._jobs_stop.set()

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None,
               markup: bool = False, details: str | None = None) -> None:
        """Show a one-line toast; the full text (``message``, ``details``) is kept for the
        messages view (``m``).

        Service messages are shown verbatim, never parsed as markup (a message such as
        "[limits] max_projects" must show as written). A message with more lines, or too
        long for the toast, is cut to one line that ends with a hint to ``m``. Info toasts
        go after 4 s (Textual's default is 5), warnings after 6, errors after 8.
        """
        text = str(message)
        full = text if not details else f"{text}\n{details}"
        self.history.append(Note(clock_now(), str(severity), title, full))
        lines = [line.strip() for line in text.splitlines() if line.strip()] or [""]
        line = " ".join(printable(lines[0]).split())  # a name in a message: escapes shown, not obeyed
        width = self.toast_width()
        hint = f" ({self.key('app.messages', 'm')}: more)"
        if len(line) > width:
            line = clip(line, max(8, width - len(hint))) + hint
        elif (len(lines) > 1 or details) and len(line) + len(hint) <= width:
            line += hint  # else the line as it is: the rest is in the messages view all the same
        if timeout is None:
            timeout = NOTIFY_TIMEOUT.get(str(severity), 5.0)
        super().notify(line, title="", severity=severity, timeout=timeout, markup=False)
        if severity == "error" and self._first_screen_done:
            # an error may be the engine's (a container that did not start): ask the engine
            # again now, so the status line shows it rather than a stale "Docker ✓"
            self.check_docker()

    def format_title(self, title: str, sub_title: str) -> Content:
        """The header's title: names in it (a project's, a file's) with control and bidi
        characters shown as escapes (Textual's own shows them raw)."""
        return super().format_title(printable(title), printable(sub_title))

    def toast_width(self) -> int:
        """Characters a one-line toast shows at the current size (see Toast in app.tcss:
        at most 80% of the toast rack, which keeps 2 columns for a scrollbar, less the
        toast's padding and coloured edge, and a column to spare)."""
        return max(20, int(((self.size.width or 80) - 2) * 0.8) - 4)

    def key(self, binding_id: str, default: str) -> str:
        """How to show the key of ``binding_id`` in hints, after the keymap (``'D'``, ``'^d'``)."""
        keys = self.keymap.get(binding_id, default)
        first = keys.split(",")[0].strip() or default
        return self.get_key_display(Binding(first, "", key_display=None))

    # -- background checks ------------------------------------------------------------
    def check_docker(self) -> None:
        """Ask the Docker engine in a thread worker; the answer goes to :attr:`docker_state`."""

        def job() -> None:
            try:
                ok, detail = self._docker_status()
            except Exception as exc:  # noqa: BLE001 - the status line must never crash the app
                ok, detail = False, f"Docker status unknown: {exc}"
            try:
                self.call_from_thread(setattr, self, "docker_state", (bool(ok), detail))
            except RuntimeError:
                pass

        self.run_worker(job, thread=True, group="docker-status", exclusive=True, exit_on_error=False,
                        name="docker status")

    def check_engines(self) -> None:
        """Reconcile the sessions on engines other than ``local`` in a thread worker (see
        :meth:`Vmuser.reconcile_engines`); a change is a notification and the screen reloads."""

        def job() -> None:
            try:
                changes = self.vm.reconcile_engines()
            except Exception:  # noqa: BLE001 - a background check must never crash the app
                return
            if changes:
                self._from_thread(self._engines_changed, changes)

        self.run_worker(job, thread=True, group="engine-status", exclusive=True, exit_on_error=False,
                        name="engine status")

    def _engines_changed(self, changes: list[str]) -> None:
        for line in changes:
            self.notify(line, title="Engines", severity="warning")
        self._reload_screen()

    def check_data_version(self) -> None:
        """Reload the current screen when another process committed to the database."""
        try:
            version = self.vm.data_version()
        except Exception:  # noqa: BLE001 - a busy or closed database: try again next tick
            return
        previous, self._data_version = self._data_version, version
        if previous is not None and version != previous:
            self._reload_screen()

    # -- actions ----------------------------------------------------------------------
    async def action_back_or_quit(self) -> None:
        """``q``: quit on the project list (home); on another full screen do what escape
        does there (back). Dialogs never see it (a modal screen ends the binding chain);
        help and output close on q themselves. ctrl+q quits from anywhere."""
        screen = self.screen
        if isinstance(screen, ProjectsScreen) or len(self.screen_stack) <= 1:
            await self.action_quit()
            return
        for binding in Binding.make_bindings(type(screen).BINDINGS):
            if binding.key == "escape":
                await screen.run_action(binding.action)
                return
        self.pop_screen()

    def _move_focused(self, direction: str) -> None:
        """j/k: move the cursor of the focused list, table or tree (or scroll a log)."""
        widget = self.focused
        if widget is None:
            return
        for name in (f"action_cursor_{direction}", f"action_scroll_{direction}"):
            action = getattr(widget, name, None)
            if callable(action):
                action()
                return

    def action_cursor_down(self) -> None:
        self._move_focused("down")

    def action_cursor_up(self) -> None:
        self._move_focused("up")

    def action_messages(self) -> None:
        """The notifications of this run in full, newest last."""
        from vmuser_tui.tui.screens.output import OutputScreen

        blocks = []
        for note in self.history:
            head = f"{note.at}  {note.severity}" + (f"  {note.title}" if note.title else "")
            blocks.append(head + "\n" + "\n".join("  " + line for line in note.text.splitlines()))
        count = len(self.history)
        screen = OutputScreen("Messages (newest last)", "\n".join(blocks), empty="no messages yet", at_end=True,
                              wrap=True, summary=f"{count} message{'s' if count != 1 else ''} since vmuser started")
        self.push_screen(screen)

    async def action_quit(self) -> None:
        """Quit; while a change (checkpoint, restore...) is still running, ask first."""
        busy = [task for s in self.screen_stack if (task := getattr(s, "busy", None))]
        if not busy:
            self.exit()
            return
        from rich.text import Text

        from vmuser_tui.tui.screens.confirm import ConfirmScreen

        def answer(yes: bool | None) -> None:
            if yes:
                self.exit()

        self.push_screen(ConfirmScreen(
            "Quit while work is running?",
            Text(f"Still running: {', '.join(busy)}.\nThe screen closes now, but the process waits for it to "
                 "finish before it exits (it is not interrupted)."),
            confirm_label="Quit"), answer)

    def action_settings(self) -> None:
        """The settings screen (view only in read-only mode)."""
        from vmuser_tui.tui.screens.settings import SettingsScreen

        if not isinstance(self.screen, SettingsScreen):
            self.push_screen(SettingsScreen())

    def action_engines(self) -> None:
        """The Docker engines: reachable, version, sessions (issue 14)."""
        from vmuser_tui.tui.screens.engines import EnginesScreen

        if not isinstance(self.screen, EnginesScreen):
            self.push_screen(EnginesScreen())

    def action_help(self) -> None:
        from vmuser_tui.tui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            self.pop_screen()
            return
        self.push_screen(HelpScreen(self.screen))


def still_running(vm: Vmuser) -> list[str]:
    """What to say as the TUI exits: a line per session whose container keeps running
    (running or paused: it holds memory and CPU until stopped), each with the command that
    stops it, after a heading; ``[]`` when none does. A session this client alone is
    attached to is left out when ``[runtime] container_stop_on_disconnect`` stops it on
    close. Never raises (the database may be gone): then ``[]``."""
    try:
        me = vm.access.client_id
        stops = bool(vm.config.get("runtime", "container_stop_on_disconnect")) and not vm.access.read_only
        sessions = [s for s in vm.sessions.list() if s.runtime == "docker" and s.status in ("running", "paused")]
        if stops:  # closing stops a running one that only this client holds (Vmuser.close_session)
            sessions = [s for s in sessions if s.status != "running"
                        or {h.holder for h in vm.access.holders(s.id)} != {me}]
        names = {s.project_id: vm.projects.get(s.project_id).name for s in sessions}
    except Exception:  # noqa: BLE001 - a note on the way out must never turn quitting into a crash
        return []
    if not sessions:
        return []
    if len(sessions) == 1:
        lines = ["vmuser: 1 session is still running (its container keeps running after vmuser exits); stop it with:"]
    else:
        lines = [(f"vmuser: {len(sessions)} sessions are still running (their containers keep running after "
                  "vmuser exits); stop them with:")]
    for s in sessions:
        paused = " (paused)" if s.status == "paused" else ""
        lines.append(f"  vmuser session stop {s.id}    # {printable(names[s.project_id])}{paused}")
    return lines


def run_tui(vm: Vmuser, *, read_only: bool = False, open_project: str | None = None, jobs: bool = True,
            headless: bool = False, auto_pilot: AutopilotCallbackType | None = None) -> None:
    """Run the TUI until the user quits (``q`` on the project list, or ctrl+q); ``open_project`` (an id)
    opens that project's screen over the project list. ``jobs``: host the background jobs
    (never in read-only mode). Then say, on stderr, which session containers keep running
    and how to stop them (:func:`still_running`). ``headless``/``auto_pilot``: as
    ``App.run`` takes them (tests)."""
    import sys

    VmuserApp(vm, read_only=read_only, open_project=open_project, jobs=jobs).run(headless=headless,
                                                                                 auto_pilot=auto_pilot)
    for line in still_running(vm):
        print(line, file=sys.stderr)
