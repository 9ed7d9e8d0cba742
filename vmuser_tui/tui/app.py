"""The vmuser TUI: :class:`VmuserApp` and :func:`run_tui` (what ``vmuser`` with no arguments runs).

Home is the projects screen. Every Binding has a stable id (``projects.filter``,
``project.restore``...) that ``[keymap]`` in config.toml can remap. Docker reachability
is checked in a thread worker (never blocking) and shown in each screen's status line;
another process's commits (``PRAGMA data_version``) make the current screen reload.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.reactive import reactive

from vmuser_tui.tui.commands import VmuserCommands
from vmuser_tui.tui.screens.projects import ProjectsScreen
from vmuser_tui.tui.styles import css

if TYPE_CHECKING:  # pragma: no cover
    from vmuser_tui.core.service import Vmuser

DockerStatus = Callable[[], "tuple[bool, str]"]


def all_binding_ids() -> set[str]:
    """Every binding id of every screen, for validating ``[keymap]``."""
    from textual.binding import Binding as B

    from vmuser_tui.tui.screens import (
        confirm,
        diff,
        files,
        help,
        log,
        new_project,
        output,
        project,
        projects,
        prompt,
        restore_confirm,
    )

    classes = [VmuserApp, projects.ProjectsScreen, project.ProjectScreen, diff.DiffScreen, files.FilesScreen,
               help.HelpScreen, log.LogScreen, confirm.ConfirmScreen, prompt.PromptScreen, output.OutputScreen,
               new_project.NewProjectScreen, restore_confirm.RestoreConfirmScreen]
    return {b.id for cls in classes for b in B.make_bindings(cls.BINDINGS) if b.id}


class VmuserApp(App):
    """The TUI over one :class:`~vmuser_tui.core.service.Vmuser`.

    ``read_only`` (or ``[ui] read_only``) hides and refuses every changing action.
    ``docker_status`` replaces ``vm.docker_status`` (tests inject a constant one).
    """

    TITLE = "vmuser"
    CSS_PATH = css("app")
    COMMANDS = App.COMMANDS | {VmuserCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help", key_display="?", id="app.help"),
        Binding("q", "quit", "Quit", show=False, id="app.quit"),
    ]
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
        watch_interval: float = 2.0,
        open_project: str | None = None,
    ) -> None:
        super().__init__()
        self.vm = vm
        ui = vm.config.values.get("ui", {})
        self.read_only = bool(read_only or ui.get("read_only", False))
        self._docker_status = docker_status or vm.docker_status
        self._docker_interval = docker_interval
        self._watch_interval = watch_interval
        self._data_version: int | None = None
        self._open_project = open_project
        self.keymap: dict[str, str] = dict(getattr(vm.config, "keymap", {}) or {})
        theme = ui.get("theme")
        self._theme_note = None
        if theme and theme in self.available_themes:
            self.theme = theme
        elif theme:
            self._theme_note = f"unknown theme {theme!r} in [ui] theme; known: {', '.join(sorted(self.available_themes))}"
        if self.keymap:
            self.set_keymap(self.keymap)

    def on_mount(self) -> None:
        for note in getattr(self.vm, "notes", []) or []:
            self.notify(note, title="On start", timeout=8)
        if self._theme_note:
            self.notify(self._theme_note, severity="warning")
        unknown = sorted(set(self.keymap) - all_binding_ids())
        if unknown:
            self.notify(f"[keymap] has unknown binding ids: {', '.join(unknown)} (see ? for the ids)",
                        severity="warning", timeout=10)
        self.check_docker()
        if self._open_project:
            from vmuser_tui.tui.screens.project import ProjectScreen

            self.push_screen(ProjectScreen(self._open_project))
        if self._docker_interval:
            self.set_interval(self._docker_interval, self.check_docker)
        if self._watch_interval:
            self.set_interval(self._watch_interval, self.check_data_version)

    def notify(self, message: str, *, title: str = "", severity="information", timeout: float | None = None,
               markup: bool = False) -> None:
        """Notifications carry service messages verbatim: never parsed as markup
        (a message such as "[limits] max_projects" must show as written)."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

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

    def check_data_version(self) -> None:
        """Reload the current screen when another process committed to the database."""
        try:
            version = self.vm.db.data_version()
        except Exception:  # noqa: BLE001 - a busy or closed database: try again next tick
            return
        previous, self._data_version = self._data_version, version
        if previous is not None and version != previous:
            reload = getattr(self.screen, "reload", None)
            if getattr(self.screen, "AUTO_RELOAD", False) and callable(reload) and not getattr(self.screen, "busy", None):
                reload()

    # -- actions ----------------------------------------------------------------------
    async def action_quit(self) -> None:
        """Quit; while a change (checkpoint, restore...) is still running, ask first."""
        busy = [s.busy for s in self.screen_stack if getattr(s, "busy", None)]
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

    def action_help(self) -> None:
        from vmuser_tui.tui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            self.pop_screen()
            return
        self.push_screen(HelpScreen(self.screen))


def run_tui(vm: Vmuser, *, read_only: bool = False, open_project: str | None = None) -> None:
    """Run the TUI until the user quits (``q`` or ctrl+q); ``open_project`` (an id)
    opens that project's screen over the project list."""
    VmuserApp(vm, read_only=read_only, open_project=open_project).run()
