"""Home: every project, filterable with ``/``; open, create, start, pin, delete."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Header, Input, Static

from vmuser_tui.core.models import Project
from vmuser_tui.tui.screens.base import VmuserScreen
from vmuser_tui.tui.styles import css
from vmuser_tui.tui.widgets.cells import (
    ago,
    clip,
    lines,
    short_time,
    status_cell,
    tags_text,
)
from vmuser_tui.tui.widgets.lazytable import Column, LazyTable, text_width
from vmuser_tui.tui.widgets.status import StatusLine
from vmuser_tui.tui.widgets.tables import TIME_WIDTH
from vmuser_tui.tui.widgets.taskbar import TaskBar


def matches(project: Project, needle: str) -> bool:
    """Case-insensitive substring match over name, id and tags (every word must match)."""
    hay = " ".join([project.name, project.id, *project.tags]).lower()
    return all(word in hay for word in needle.lower().split())


class ProjectTable(LazyTable):
    """The project list; its Enter shows in the footer as "Open" (the table hides its own)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Open", id="projects.open"),
    ]


DEBOUNCE_ABOVE = 2000  # projects; beyond this the filter waits for a pause in typing
NAME_CAP = 24  # characters of a name shown in the table (the detail line has it whole)
TAGS_CAP = 16


def sessions_text(p: Project) -> str:
    return f"{p.running_sessions}/{p.sessions}" if p.sessions else "-"


def project_cells(p: Project, widths: dict[str, int]) -> list:
    """One row of the project table; rendered only when the row is drawn."""
    return [Text(clip(p.name, widths["name"]), style="bold"), status_cell(p.status), sessions_text(p),
            ago(p.last_active_at), "✓" if p.pinned else "", Text(tags_text(p.tags, TAGS_CAP), style="cyan"), p.id]


def project_columns(projects: list[Project]) -> list[Column]:
    """The columns, sized from the data without rendering a row (a pass over strings)."""
    oldest = min((p.last_active_at for p in projects), default=None)  # ISO times sort as text
    return [
        # the name gets what the other columns leave, up to NAME_CAP
        Column("name", "Name", text_width((p.name for p in projects), floor=4, cap=NAME_CAP), flex=True),
        Column("status", "Status", text_width({f"○ {p.status}" for p in projects}, floor=6)),
        Column("sessions", "Sess", text_width((sessions_text(p) for p in projects), floor=4)),
        Column("active", "Active", max(TIME_WIDTH, len(ago(oldest)))),
        Column("pinned", "Pin", 3),
        Column("tags", "Tags", text_width((tags_text(p.tags, TAGS_CAP) for p in projects), floor=4)),
        Column("id", "Id", text_width((p.id for p in projects), floor=2)),
    ]


class ProjectsScreen(VmuserScreen):
    """The project table. The filter matches as you type; Escape clears it."""

    HELP_NAME = "projects"
    AUTO_RELOAD = True
    CSS_PATH = css("projects")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open", show=False, id="projects.open"),
        Binding("slash", "filter", "Filter", key_display="/", id="projects.filter"),
        Binding("n", "new", "New", id="projects.new"),
        Binding("s", "start", "Start", id="projects.start"),
        Binding("p", "pin", "Pin", id="projects.pin"),
        Binding("d", "delete", "Delete", id="projects.delete"),
        Binding("e", "extend", "Extend", show=False, id="projects.extend"),
        Binding("l", "log", "Log", show=False, id="projects.log"),
        Binding("ctrl+r", "refresh", "Refresh", show=False, id="projects.refresh"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="projects.clear_filter"),
    ]
    WRITE_ACTIONS = frozenset({"new", "start", "pin", "delete", "extend"})

    def __init__(self) -> None:
        super().__init__()
        self.projects: list[Project] = []
        self.shown: list[Project] = []
        self.loaded = False
        self._select: str | None = None
        self._applied: str | None = None
        self._filter_timer = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="filter: name, id or tag (Esc clears)", id="filter", compact=True)
        yield ProjectTable(project_columns([]), project_cells, lambda p: p.id, id="projects")
        yield Static("", id="projects-empty")
        yield Static("", id="project-detail", classes="nowrap")
        yield TaskBar()
        yield StatusLine()
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.sub_title = "projects"
        table = self.query_one("#projects", ProjectTable)
        self.query_one("#filter", Input).display = False
        self.query_one("#projects-empty").display = False
        table.focus()

    # -- data -------------------------------------------------------------------------
    def reload(self, select: str | None = None) -> None:
        if select:
            self._select = select  # survives a newer reload that supersedes this one
        self.run_blocking(lambda: self.vm.projects.list(), self._loaded)

    def _loaded(self, projects: list[Project]) -> None:
        self.projects = projects
        self.loaded = True
        select, self._select = self._select, None
        self.apply_filter(select=select)
        drawn = getattr(self.app, "first_screen_drawn", None)
        if callable(drawn):
            self.call_after_refresh(drawn)

    @property
    def needle(self) -> str:
        return self.query_one("#filter", Input).value.strip()

    def selected(self) -> Project | None:
        table = self.query_one("#projects", ProjectTable)
        if not self.shown or table.cursor_row >= len(self.shown):
            return None
        return self.shown[table.cursor_row]

    def apply_filter(self, select: str | None = None) -> None:
        table = self.query_one("#projects", ProjectTable)
        current = select or (self.selected().id if self.selected() else None)
        needle = self._applied = self.needle
        matched = [p for p in self.projects if matches(p, needle)] if needle else self.projects
        # every match is shown: the table renders only the rows on screen
        self.shown = matched
        table.set_columns(project_columns(matched))
        table.set_rows(matched, cursor_key=current)
        empty = self.query_one("#projects-empty", Static)
        if not self.projects:
            empty.update("No projects yet. Press n to create one (or run: vmuser demo).")
        elif not self.shown:
            empty.update(Text(f"No project matches {needle!r}. Esc clears the filter."))
        empty.display = not self.shown
        table.display = bool(self.shown)
        self.show_detail()
        running = sum(1 for p in self.projects if p.status == "running")
        msg = f"{len(self.projects)} project{'s' if len(self.projects) != 1 else ''}, {running} running"
        if needle:
            msg = f"/{needle}: {len(matched)} of {msg}"
        self.query_one(StatusLine).message = msg

    def refresh_times(self) -> None:
        self.query_one("#projects", ProjectTable).refresh_rows()  # rows on screen only: the cells call ago()

    def on_lazy_table_row_highlighted(self, event: LazyTable.RowHighlighted) -> None:
        self.show_detail()

    def show_detail(self) -> None:
        """The selected project's id, workspace and description under the table."""
        p = self.selected()
        detail = self.query_one("#project-detail", Static)
        if p is None:
            detail.update("")
            return
        line1 = Text(no_wrap=True, overflow="ellipsis")
        line1.append(p.id, style="bold")
        line1.append(f"  {p.checkpoints} checkpoint{'s' if p.checkpoints != 1 else ''}")
        if p.pinned:
            line1.append("  pinned: never cleaned up", style="cyan")
        elif p.cleanup_due_at:
            line1.append(f"  cleanup due {short_time(p.cleanup_due_at)} (e extends)", style="dim")
        line2 = Text(no_wrap=True, overflow="ellipsis", style="dim")
        line2.append(p.description or p.workspace)
        detail.update(lines(line1, line2))

    # -- filter -----------------------------------------------------------------------
    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id != "filter" or not self.loaded or event.value.strip() == self._applied:
            return
        if self._filter_timer is not None:
            self._filter_timer.stop()
            self._filter_timer = None
        if len(self.projects) <= DEBOUNCE_ABOVE:
            self.apply_filter()
        else:  # thousands of rows: rebuild once typing pauses
            self._filter_timer = self.set_timer(0.15, self.apply_filter)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            event.stop()
            if not event.value.strip():
                event.input.display = False
            self.query_one("#projects", ProjectTable).focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        if not box.display and not box.value:
            return
        box.value = ""
        box.display = False
        self.apply_filter()
        self.query_one("#projects", ProjectTable).focus()

    # -- actions ----------------------------------------------------------------------
    def on_lazy_table_row_selected(self, event: LazyTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def require(self) -> Project | None:
        project = self.selected()
        if project is None:
            self.notify("no project selected" if self.projects else "no projects yet: press n to create one",
                        severity="warning")
        return project

    def action_open(self) -> None:
        project = self.require()
        if project is not None:
            from vmuser_tui.tui.screens.project import ProjectScreen

            self.app.push_screen(ProjectScreen(project.id))

    def action_refresh(self) -> None:
        self.reload()

    def action_log(self) -> None:
        from vmuser_tui.tui.screens.log import LogScreen

        self.app.push_screen(LogScreen(None))

    def action_new(self) -> None:
        if not self.can_write("new project"):
            return
        from vmuser_tui.tui.screens.new_project import NewProjectScreen

        def created(project) -> None:
            if project is not None:
                self.app.notify(f"created project {project.id}", details=f"name: {project.name}\n"
                                f"workspace: {project.workspace}")
                self.action_clear_filter()
                self.reload(select=project.id)

        self.app.push_screen(NewProjectScreen(), created)

    def action_start(self) -> None:
        if not self.can_write("start session"):
            return
        project = self.require()
        if project is not None:
            start_session(self, project.id, project.name, after=lambda: self.reload(select=project.id))

    def action_pin(self) -> None:
        if not self.can_write("pin"):
            return
        project = self.require()
        if project is None:
            return
        pinned = not project.pinned

        def done(p: Project) -> None:
            self.notify(f"{p.name}: {'pinned (never cleaned up)' if p.pinned else 'unpinned'}")
            self.reload(select=p.id)

        self.run_blocking(lambda: self.vm.projects.pin(project.id, pinned), done, group="write")

    def action_extend(self) -> None:
        if not self.can_write("extend"):
            return
        project = self.require()
        if project is None:
            return

        def done(p: Project) -> None:
            when = short_time(p.cleanup_due_at) if p.cleanup_due_at else "never (pinned)"
            self.notify(f"{p.name}: idle clock reset; cleanup due {when}")
            self.reload(select=p.id)

        self.run_blocking(lambda: self.vm.projects.extend(project.id), done, group="write")

    def action_delete(self) -> None:
        if not self.can_write("delete"):
            return
        project = self.require()
        if project is None:
            return

        def gather():
            p = self.vm.projects.get(project.id)
            sessions = self.vm.sessions.list(p.id)
            return p, sessions

        self.run_blocking(gather, self._confirm_delete, group="write")

    def _confirm_delete(self, info) -> None:
        from vmuser_tui.tui.screens.confirm import ConfirmScreen

        project, sessions = info
        containers = [s for s in sessions if s.runtime == "docker" and s.container_id
                      and s.status in ("created", "running", "paused", "failed")]
        body = Text()
        body.append("This cannot be undone. Lost:\n")
        if project.managed:
            body.append("  • the workspace ", style="")
            body.append(project.workspace, style="bold")
            body.append(" (managed by vmuser: deleted)\n")
        body.append(f"  • {project.checkpoints} checkpoint{'s' if project.checkpoints != 1 else ''}"
                    " (the whole history)\n", style="bold" if project.checkpoints else "")
        body.append(f"  • {len(sessions)} session record{'s' if len(sessions) != 1 else ''}")
        if containers:
            body.append(f", {len(containers)} container{'s' if len(containers) != 1 else ''} stopped and removed: ")
            body.append(", ".join(s.container_name or s.id for s in containers), style="bold")
        body.append("\n")
        if not project.managed:
            body.append("Kept: the workspace directory ", style="dim")
            body.append(project.workspace, style="dim bold")
            body.append(" (not managed by vmuser).", style="dim")

        def answer(yes: bool | None) -> None:
            if not yes:
                return
            self.run_blocking(lambda: self.vm.projects.delete(project.id, sessions=self.vm.sessions),
                              self._deleted, group="write", task=f"deleting {project.name}")

        self.app.push_screen(ConfirmScreen(f"Delete project {project.name} ({project.id})?", body,
                                           confirm_label="Delete"), answer)

    def _deleted(self, result: dict) -> None:
        extra = f", {result['containers']} container(s) removed" if result.get("containers") else ""
        self.notify(f"deleted project {result['id']}{extra}")
        self.reload()


def start_session(screen: VmuserScreen, project_id: str, name: str, *, after=None) -> None:
    """Start a session (Docker; when Docker is known to be unreachable, offer a
    workspace-only session instead) in a worker, then notify its notes."""
    from vmuser_tui.tui.screens.confirm import ConfirmScreen

    def run(runtime: str) -> None:
        def done(outcome) -> None:
            s = outcome.session
            if s.runtime == "docker":
                short = f"session {s.id} started in a container"
                where = f"container {s.container_name}, image {s.image}"
            else:
                short = f"session {s.id} started: workspace only"
                where = "workspace only (runtime none): no container"
            notes = [note for note in outcome.notes if note.strip()]
            # one line; the notes (e.g. why this image: a registry lookup that failed) go
            # to the messages view in full
            screen.app.notify(short, title="Session started",
                              details="\n".join([f"on {name}: {where}", *notes]) if notes else None)
            if after:
                after()

        label = "starting a Docker session" if runtime == "docker" else "starting a workspace-only session"
        screen.run_blocking(lambda: screen.vm.sessions.start(project_id, runtime=runtime), done,
                            group="write", task=label)

    ok, detail = getattr(screen.app, "docker_state", (None, ""))
    if ok is False:
        def answer(yes: bool | None) -> None:
            if yes:
                run("none")

        screen.app.push_screen(ConfirmScreen(
            "Docker is unreachable",
            Text.assemble(detail or "The Docker engine cannot be reached.", "\n\nStart a workspace-only session "
                          "(runtime none: checkpoints, diffs and restores work; no container)?"),
            confirm_label="Start without Docker", danger=False), answer)
        return
    run("docker")
