"""Home: every project, sortable (``o``/``O``) and filterable (``/``); ``space`` marks rows
for bulk pin, unpin, extend, stop and delete; open, create, start."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.timer import Timer
from textual.widgets import Footer, Header, Input, Static

from vmuser_tui.core.models import Project
from vmuser_tui.core.text import printable
from vmuser_tui.tui.flows.bulk import LIST_CAP, plural, project_list, run_bulk
from vmuser_tui.tui.flows.sessions import start_session
from vmuser_tui.tui.screens.base import VmuserScreen
from vmuser_tui.tui.styles import css
from vmuser_tui.tui.widgets.cells import human_size, lines, short_time
from vmuser_tui.tui.widgets.lazytable import LazyTable
from vmuser_tui.tui.widgets.projects_table import (
    DEFAULT_SORT,
    SORT_BY_KEY,
    SORTS,
    ProjectTable,
    cleanup_state,
    matches,
    sort_key,
)
from vmuser_tui.tui.widgets.status import StatusLine
from vmuser_tui.tui.widgets.taskbar import TaskBar

__all__ = ["ProjectTable", "ProjectsScreen"]  # ProjectTable: where keymap_check finds it

DEBOUNCE_ABOVE = 2000
#: Sessions a stop or a delete applies to (``unreachable``: its engine did not answer; issue 14).
ACTIVE = ("created", "running", "paused", "unreachable")  # projects; beyond this the filter waits for a pause in typing


class ProjectsScreen(VmuserScreen):
    """The project table. The filter matches as you type; Escape clears it (then the marks).
    Pin, unpin, extend, stop and delete act on the marked projects, else on the selected one."""

    # The table, even while hidden (no project yet): Textual's default ("*") picks the first
    # focusable widget, the hidden filter box, which then swallows n, s, d... as text.
    AUTO_FOCUS = "#projects"

    HELP_NAME = "projects"
    AUTO_RELOAD = True
    CSS_PATH = css("projects")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open", show=False, id="projects.open"),
        Binding("slash", "filter", "Filter", key_display="/", id="projects.filter"),
        Binding("n", "new", "New", id="projects.new"),
        Binding("s", "start", "Start", id="projects.start"),
        Binding("space", "mark", "Mark", key_display="spc", id="projects.mark",
                tooltip="Mark/unmark for the bulk actions"),
        Binding("p", "pin", "Pin", id="projects.pin",
                tooltip="Pin (all pinned: unpin)"),
        Binding("P", "unpin", "Unpin", show=False, id="projects.unpin"),
        Binding("d", "delete", "Delete", id="projects.delete", tooltip="Delete (asks first)"),
        Binding("E", "edit", "Edit", show=False, id="projects.edit",
                tooltip="Edit the project: name, description, image, tags"),
        Binding("e", "extend", "Extend", show=False, id="projects.extend",
                tooltip="Extend: restart the idle clock"),
        Binding("S", "stop", "Stop sessions", show=False, id="projects.stop",
                tooltip="Stop their sessions (asks first)"),
        Binding("o", "sort", "Sort", id="projects.sort", tooltip="Sort by the next column"),
        Binding("O", "sort_reverse", "Reverse sort", show=False, id="projects.sort_reverse",
                tooltip="Reverse the sort (▲/▼)"),
        Binding("L", "log", "Operation log", show=False, id="projects.log"),  # L on every screen (issue 12)
        Binding("ctrl+r", "refresh", "Refresh", show=False, id="projects.refresh"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="projects.clear_filter",
                tooltip="Clear the filter, then the marks"),
    ]
    WRITE_ACTIONS = frozenset({"new", "start", "mark", "pin", "unpin", "delete", "extend", "stop", "edit"})

    def __init__(self) -> None:
        super().__init__()
        self.projects: list[Project] = []
        self.shown: list[Project] = []
        self.sort = DEFAULT_SORT
        self.sort_desc = SORT_BY_KEY[DEFAULT_SORT].desc
        self.loaded = False
        self._select: str | None = None
        self._applied: str | None = None
        self._filter_timer: Timer | None = None
        self._columns_width = 0  # the width the columns were chosen for

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="filter: name, id or tag (Esc clears)", id="filter", compact=True)
        yield ProjectTable(id="projects")
        yield Static("", id="projects-empty")
        yield Static("", id="project-detail", classes="nowrap")
        yield TaskBar()
        yield StatusLine()
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.sub_title = "projects"
        table = self.table
        self.query_one("#filter", Input).display = False
        self.query_one("#projects-empty").display = False
        table.focus()

    # -- what the table holds ------------------------------------------------------------
    @property
    def table(self) -> ProjectTable:
        return self.query_one("#projects", ProjectTable)

    @property
    def marked(self) -> set[str]:
        """Ids of the projects marked for the bulk actions (the table draws the marks)."""
        return self.table.marked

    @marked.setter
    def marked(self, ids: set[str]) -> None:
        self.table.marked = ids

    @property
    def sizes(self) -> dict[str, int]:
        """Project id -> bytes at its head checkpoint."""
        return self.table.sizes

    @sizes.setter
    def sizes(self, sizes: dict[str, int]) -> None:
        self.table.sizes = sizes

    def _cleanup_on(self) -> bool:
        return bool(self.vm.config.values.get("cleanup", {}).get("enabled", False))

    def _warning_days(self) -> int:
        return int(self.vm.config.values.get("cleanup", {}).get("warning_days", 7))

    # -- data -------------------------------------------------------------------------
    def reload(self, select: str | None = None) -> None:
        if select:
            self._select = select  # survives a newer reload that supersedes this one
        self.run_blocking(lambda: (self.vm.projects.list(), self.vm.projects.head_sizes()), self._loaded)

    def _loaded(self, result: tuple[list[Project], dict[str, int]]) -> None:
        self.projects, self.sizes = result
        self.loaded = True
        self.marked &= {p.id for p in self.projects}  # a deleted project is no longer marked
        select, self._select = self._select, None
        self.apply_filter(select=select)
        drawn = getattr(self.app, "first_screen_drawn", None)
        if callable(drawn):
            self.call_after_refresh(drawn)

    @property
    def needle(self) -> str:
        return self.query_one("#filter", Input).value.strip()

    def selected(self) -> Project | None:
        table = self.table
        if not self.shown or table.cursor_row >= len(self.shown):
            return None
        return self.shown[table.cursor_row]

    def _table_width(self) -> int:
        return self.size.width or self.app.size.width or 80

    def _set_columns(self) -> None:
        self._columns_width = width = self._table_width()
        # a column less than the screen: the vertical scrollbar (projects.tcss) when the rows overflow
        self.table.choose_columns(self.shown, width=width - 1, sort=self.sort, desc=self.sort_desc,
                                  cleanup=self._cleanup_on(), warning_days=self._warning_days())

    def on_resize(self) -> None:
        if self.loaded and self._table_width() != self._columns_width:
            self._set_columns()

    def apply_filter(self, select: str | None = None) -> None:
        table = self.table
        selected = self.selected()
        current = select or (selected.id if selected is not None else None)
        needle = self._applied = self.needle
        matched = [p for p in self.projects if matches(p, needle)] if needle else list(self.projects)
        if not (self.sort == DEFAULT_SORT and self.sort_desc):  # the service's order already is the default
            matched.sort(key=sort_key(self.sort, self.sizes), reverse=self.sort_desc)
        # every match is shown: the table renders only the rows on screen
        self.shown = matched
        self._set_columns()
        table.set_rows(matched, cursor_key=current)
        empty = self.query_one("#projects-empty", Static)
        if not self.projects:
            empty.update("No projects yet. Press n to create one (or run: vmuser demo).")
        elif not self.shown:
            empty.update(Text(f"No project matches {needle!r}. Esc clears the filter."))
        empty.display = not self.shown
        table.display = bool(self.shown)
        self.show_detail()
        self.show_status()

    def show_status(self) -> None:
        """Counts, the filter, the marks and a sort the headers cannot show (its column left out)."""
        running = sum(1 for p in self.projects if p.status == "running")
        msg = f"{len(self.projects)} project{'s' if len(self.projects) != 1 else ''}, {running} running"
        if self._applied:
            msg = f"/{self._applied}: {len(self.shown)} of {msg}"
        if self.marked:
            keys = " ".join(self.key(f"projects.{a}", k) for a, k in
                            (("pin", "p"), ("unpin", "P"), ("extend", "e"), ("stop", "S"), ("delete", "d")))
            msg += f" · {len(self.marked)} marked: {keys} act on them"
        if self.sort not in self.table.column_keys:
            msg += f" · sorted by {SORT_BY_KEY[self.sort].label} {'▼' if self.sort_desc else '▲'}"
        self.query_one(StatusLine).message = msg

    def refresh_times(self) -> None:
        self.table.refresh_rows()  # rows on screen only: the cells call ago()

    def on_lazy_table_row_highlighted(self, event: LazyTable.RowHighlighted) -> None:
        self.show_detail()

    def show_detail(self) -> None:
        """The selected project's id, size, cleanup and workspace or description under the table."""
        p = self.selected()
        detail = self.query_one("#project-detail", Static)
        if p is None:
            detail.update("")
            return
        line1 = Text(no_wrap=True, overflow="ellipsis")
        line1.append(p.id, style="bold")
        line1.append(f"  {p.checkpoints} checkpoint{'s' if p.checkpoints != 1 else ''}")
        if p.id in self.sizes:
            line1.append(f" ({human_size(self.sizes[p.id])} at the head)")
        state, text, style = cleanup_state(p, self._warning_days())
        extend = self.key("projects.extend", "e")
        if state == "pinned":
            line1.append("  pinned: never cleaned up", style="cyan")
        elif state in ("warn", "due"):
            line1.append(f"  {text} ({short_time(p.cleanup_due_at)}; {extend} extends)", style=style)
        elif p.cleanup_due_at:
            line1.append(f"  cleanup due {short_time(p.cleanup_due_at)} ({extend} extends)", style="dim")
        line2 = Text(no_wrap=True, overflow="ellipsis", style="dim")
        # on another engine (issue 14) the workspace is a volume there, not the folder of the row
        where = p.workspace if p.engine == "local" else f"engine {p.engine} · the volume vmuser-ws-{p.id} there"
        line2.append(printable(p.description or where))  # escapes shown (Rich would drop a BEL silently)
        detail.update(lines(line1, line2))

    # -- filter -----------------------------------------------------------------------
    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        # Focus now, not at the next idle (Widget.focus defers): over SSH "/busy" arrives in one
        # read, and the letters after "/" must land in the box, not on the table (s = start!).
        self.set_focus(box)

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
            self.table.focus()

    def action_clear_filter(self) -> None:
        """Escape: clear the filter; with none, clear the marks."""
        box = self.query_one("#filter", Input)
        if not box.display and not box.value:
            if self.marked:
                self.marked.clear()
                self._set_columns()  # the mark column goes
                self.show_status()
            return
        box.value = ""
        box.display = False
        self.apply_filter()
        self.table.focus()

    # -- sort and marks ---------------------------------------------------------------
    def action_sort(self) -> None:
        """The next sortable column, in its natural direction."""
        # the cleanup column is there only while cleanup is on
        sorts = [s for s in SORTS if s.key != "cleanup" or self._cleanup_on()]
        keys = [s.key for s in sorts]
        at = keys.index(self.sort) if self.sort in keys else SORTS.index(SORT_BY_KEY[self.sort]) - 1
        nxt = sorts[(at + 1) % len(sorts)]
        self.sort, self.sort_desc = nxt.key, nxt.desc
        self.apply_filter()

    def action_sort_reverse(self) -> None:
        self.sort_desc = not self.sort_desc
        self.apply_filter()

    def action_mark(self) -> None:
        """Mark or unmark the selected project, then move to the next row."""
        project = self.require()
        if project is None:
            return
        self.marked ^= {project.id}
        table = self.table
        self._set_columns()  # redraws the rows (and adds or drops the mark column)
        table.move_cursor(row=table.cursor_row + 1)
        self.show_status()

    def targets(self) -> list[Project]:
        """The marked projects (in the table's order, hidden by the filter or not), else the
        selected one."""
        if self.marked:
            shown = {p.id for p in self.shown}
            ordered = [p for p in self.shown if p.id in self.marked]
            return ordered + [p for p in self.projects if p.id in self.marked and p.id not in shown]
        project = self.require()
        return [project] if project is not None else []

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
        if not self.guard_write("new project"):
            return
        from vmuser_tui.tui.screens.new_project import NewProjectScreen

        def created(project) -> None:
            if project is not None:
                self.vapp.notify(f"created project {project.id}", details=f"name: {project.name}\n"
                                f"workspace: {project.workspace}")
                self.action_clear_filter()
                self.reload(select=project.id)

        self.app.push_screen(NewProjectScreen(), created)

    def action_edit(self) -> None:
        """``E``: the edit form of the selected project."""
        if not self.guard_write("edit project"):
            return
        project = self.require()
        if project is not None:
            from vmuser_tui.tui.flows.checkpoint_edits import edit_project

            edit_project(self, project, lambda p: self.reload(select=p.id))

    def action_start(self) -> None:
        if not self.guard_write("start session"):
            return
        project = self.require()
        if project is not None:
            start_session(self, project.id, project.name, after=lambda: self.reload(select=project.id),
                          engine=project.engine)

    # -- bulk actions -----------------------------------------------------------------
    def action_pin(self) -> None:
        if not self.guard_write("pin"):
            return
        targets = self.targets()
        if targets and all(p.pinned for p in targets):
            self._pin(targets, False)  # p on pinned projects unpins them (as it always toggled one)
        elif targets:
            self._pin([p for p in targets if not p.pinned], True)

    def action_unpin(self) -> None:
        if not self.guard_write("unpin"):
            return
        targets = self.targets()
        pinned = [p for p in targets if p.pinned]
        if targets and not pinned:
            self.notify(f"{'none of them is' if len(targets) > 1 else targets[0].name + ' is not'} pinned",
                        severity="warning")
        elif pinned:
            self._pin(pinned, False)

    def _pin(self, targets: list[Project], pinned: bool) -> None:
        verb = "pin" if pinned else "unpin"
        body = Text()
        if pinned:
            body.append("Pinned projects are never cleaned up, however long they stay idle.\n\n")
        else:
            body.append("Unpinned projects are deleted by the idle cleanup ([cleanup], when enabled) once idle for "
                        f"{self.vm.config.values.get('cleanup', {}).get('after_days', 30)} days.\n\n")
        body.append_text(project_list(targets))
        self._bulk(targets, verb, lambda p: self.vm.projects.pin(p.id, pinned), body=body,
                   done_word="pinned (never cleaned up)" if pinned else "unpinned", confirm=len(targets) > 1)

    def action_extend(self) -> None:
        if not self.guard_write("extend"):
            return
        targets = self.targets()
        if not targets:
            return
        days = self.vm.config.values.get("cleanup", {}).get("after_days", 30)
        body = Text(f"The idle clock restarts now: cleanup is due {days} days from now (pinned projects are "
                    "never cleaned up).\n\n")
        body.append_text(project_list(targets))

        def one(p: Project) -> Project:
            return self.vm.projects.extend(p.id)

        self._bulk(targets, "extend", one, body=body, done_word="idle clock reset", confirm=len(targets) > 1)

    def action_stop(self) -> None:
        if not self.guard_write("stop sessions"):
            return
        targets = self.targets()
        if not targets:
            return

        def gather():
            return [(p, [s for s in self.vm.sessions.list(p.id) if s.status in ACTIVE]) for p in targets]

        self.run_blocking(gather, self._confirm_stop, group="write")

    def _confirm_stop(self, found) -> None:
        running = [(p, sessions) for p, sessions in found if sessions]
        if not running:
            many = len(found) > 1
            self.notify(f"no running session in {'these projects' if many else found[0][0].name}", severity="warning")
            return
        count = sum(len(s) for _, s in running)
        containers = sum(1 for _, ss in running for s in ss if s.runtime == "docker" and s.container_id)
        body = Text()
        body.append(f"{count} session{'s' if count != 1 else ''} stop. ")
        body.append("Each running one is checkpointed first; the workspaces and checkpoints stay.\n")
        if containers:
            body.append(f"Lost: {containers} container{'s' if containers != 1 else ''} stopped and removed, "
                        "with their processes and anything outside /workspace.\n", style="bold")
        body.append("\n")
        for p, sessions in running[:LIST_CAP]:
            body.append(f"  • {p.name}", style="bold")
            body.append(f" ({p.id}): " + ", ".join(
                f"{s.id} ({s.container_name or s.runtime})" for s in sessions) + "\n")
        if len(running) > LIST_CAP:
            body.append(f"  … and {len(running) - LIST_CAP} more\n", style="dim")
        by_project = {p.id: sessions for p, sessions in running}

        def one(p: Project) -> None:
            for s in by_project[p.id]:
                self.vm.sessions.stop(s.id)

        self._bulk([p for p, _ in running], "stop sessions", one, body=body, done_word="sessions stopped",
                   confirm=True, title=f"Stop {count} session{'s' if count != 1 else ''} in "
                   f"{plural(len(running), 'project')}?", label="Stop")

    def action_delete(self) -> None:
        if not self.guard_write("delete"):
            return
        targets = self.targets()
        if not targets:
            return

        def gather():
            return [(self.vm.projects.get(p.id), self.vm.sessions.list(p.id)) for p in targets]

        self.run_blocking(gather, self._confirm_delete, group="write")

    def _confirm_delete(self, found) -> None:
        projects = [p for p, _ in found]
        checkpoints = sum(p.checkpoints for p in projects)
        managed = [p for p in projects if p.managed]
        containers = {p.id: [s for s in sessions if s.runtime == "docker" and s.container_id
                             and s.status in (*ACTIVE, "failed")] for p, sessions in found}
        sessions = sum(len(s) for _, s in found)
        body = Text()
        body.append("This cannot be undone. Lost:\n")
        if managed:
            body.append(f"  • {plural(len(managed), 'workspace')} managed by vmuser: deleted with every file\n",
                        style="bold")
        body.append(f"  • {plural(checkpoints, 'checkpoint')} (the whole history)\n",
                    style="bold" if checkpoints else "")
        body.append(f"  • {plural(sessions, 'session record')}")
        n_containers = sum(len(c) for c in containers.values())
        if n_containers:
            body.append(f", {plural(n_containers, 'container')} stopped and removed")
        body.append("\n\n")
        for p, sessions_of in found[:LIST_CAP]:
            body.append(f"  {p.name}", style="bold")
            body.append(f" ({p.id}): {plural(p.checkpoints, 'checkpoint')}, {plural(len(sessions_of), 'session')}")
            if containers[p.id]:
                body.append(", containers " + ", ".join(s.container_name or s.id for s in containers[p.id]))
            if p.engine != "local":  # issue 14: its live workspace is a volume on that engine
                body.append(f", the workspace volume vmuser-ws-{p.id} on engine {p.engine}")
            if p.managed:
                body.append(", the workspace:\n    ")
                body.append(p.workspace, style="bold")
            else:
                body.append("; kept (not managed by vmuser):\n    ")
                body.append(p.workspace, style="dim")
            body.append("\n")
        if len(found) > LIST_CAP:
            body.append(f"  … and {len(found) - LIST_CAP} more\n", style="dim")
        if len(projects) == 1:
            title = f"Delete project {projects[0].name} ({projects[0].id})?"
        else:
            title = f"Delete {len(projects)} projects?"

        def one(p: Project) -> dict:
            return self.vm.delete_project(p.id)

        self._bulk(projects, "delete", one, body=body, done_word="deleted", confirm=True, title=title,
                   label="Delete")

    def _bulk(self, targets: list[Project], verb: str, one: Callable[[Project], object], *, body: Text,
              done_word: str, confirm: bool, title: str | None = None, label: str | None = None) -> None:
        """``one(project)`` for each of ``targets`` (see :func:`run_bulk`), then the report."""
        run_bulk(self, targets, verb, one, body=body, confirm=confirm, title=title, label=label,
                 done=lambda ok, failed: self._bulk_done(verb, done_word, targets, ok, failed))

    def _bulk_done(self, verb: str, done_word: str, targets: list[Project], ok: list[str], failed: list[str]) -> None:
        by_id = {p.id: p for p in targets}
        if verb == "delete" or not failed:
            self.marked -= set(ok)  # done with them; a failed one stays marked to try again
        if len(ok) == 1 and not failed:
            message = f"{by_id[ok[0]].name}: {done_word}"
        else:
            message = f"{plural(len(ok), 'project')} {done_word}"
        if failed:
            message += f"; {len(failed)} failed"
            self.vapp.notify(message, severity="error", details="\n".join(failed))
        else:
            self.notify(message)
        select = self.selected()
        gone = ok if verb == "delete" else []
        self.reload(select=select.id if select is not None and select.id not in gone else None)
