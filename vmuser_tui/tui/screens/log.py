"""The operation log: who did what, when (newest first), for all projects or one,
filtered as you type by project and operation and searched (full-text: words, "phrases",
prefix*; the word being typed is a prefix) with the best match first and the matched words
highlighted; Enter shows an entry as JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import DataTable, Footer, Header, Input, Select, Static

from vmuser_tui.core.errors import NotFoundError, UsageError
from vmuser_tui.core.search_query import SearchQuery, as_you_type, mark, parse
from vmuser_tui.core.text import printable
from vmuser_tui.tui.screens.base import VmuserScreen
from vmuser_tui.tui.styles import css
from vmuser_tui.tui.widgets.cells import ago
from vmuser_tui.tui.widgets.highlight import highlight, marked_text
from vmuser_tui.tui.widgets.status import StatusLine
from vmuser_tui.tui.widgets.tables import TIME_WIDTH, Fit, refill

LIMIT = 500
#: ``project:<name or id>`` (or ``p:``) in the filter box limits the log to one project.
PROJECT_TOKENS = ("project:", "p:")


def detail_text(details: dict) -> str:
    parts = []
    for key, value in details.items():
        if value in (None, "", [], {}):
            continue
        if isinstance(value, (list, dict)):
            value = json.dumps(value, separators=(",", ":"))
        parts.append(f"{key}={value}")
    return " ".join(parts)


def entry_json(entry: dict) -> str:
    """One log entry as indented JSON, its fields in a fixed order, details last."""
    order = ("id", "at", "operation", "project_id", "session_id", "actor", "pid", "client_id")
    out = {key: entry.get(key) for key in order if key in entry}
    out.update({key: value for key, value in entry.items() if key not in out and key != "details"})
    out["details"] = entry.get("details") or {}
    return json.dumps(out, indent=2, ensure_ascii=False, default=str)


@dataclass(frozen=True)
class Query:
    """What the filter box and the operation choice ask for."""

    text: str = ""
    project: str | None = None
    operation: str | None = None

    @classmethod
    def parse(cls, box: str, operation: str | None, default_project: str | None = None) -> Query:
        """``box`` is free text, with ``project:<ref>`` words taken out as the project."""
        words, project = [], default_project
        for word in box.split():
            token = next((t for t in PROJECT_TOKENS if word.lower().startswith(t)), None)
            if token is not None:
                project = word[len(token):] or None
            else:
                words.append(word)
        return cls(" ".join(words), project, operation or None)

    def describe(self) -> str:
        parts = []
        if self.project:
            parts.append(f"project {self.project}")
        if self.operation:
            parts.append(f"operation {self.operation}*")
        if self.text:
            parts.append(f"{self.text!r}")
        return ", ".join(parts)


class LogTable(DataTable):
    """The log's rows. ``/`` is bound here too, with priority, as on the projects table
    (:class:`~vmuser_tui.tui.widgets.projects_table.ProjectTable`): the App runs it as it
    routes the key, so the words typed after ``/`` in one burst (one read over SSH, a paste)
    reach the filter box; the screen's plain binding ran only after they had reached the
    table (``o`` opened the operation menu). In the box, ``/`` is text."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "screen.filter", "Filter", key_display="/", id="log.filter", priority=True),
    ]


class LogScreen(VmuserScreen):
    """Newest operation-log entries (``vm.log``), filtered in SQL as the filter box and the
    operation choice change; Enter opens one entry in full."""

    HELP_NAME = "operation log"
    AUTO_RELOAD = True
    CSS_PATH = css("log")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", tooltip="Back (in the filter: clear it)", id="log.back"),
        Binding("slash", "filter", "Filter", key_display="/",
                tooltip="Filter: text, project:<name or id>", id="log.filter"),
        Binding("o", "operation", "Operation", tooltip="Filter by operation", id="log.operation"),
        Binding("enter", "details", "Details", tooltip="Details: the entry as JSON", id="log.details"),
        Binding("ctrl+r", "refresh", "Refresh", id="log.refresh"),
    ]

    def __init__(self, project_id: str | None) -> None:
        super().__init__()
        self.project_id = project_id
        self.entries: list[dict] = []
        self.operations: list[str] = []
        self.query_now = Query(project=project_id)

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="log-bar"):
            yield Input(value=f"project:{self.project_id} " if self.project_id else "",
                        placeholder="filter: text, project:<name> (/ here, Esc clears)", id="log-filter", compact=True,
                        select_on_focus=False)  # "/" then typing adds to the filter (a project token stays)
            yield Select([], prompt="all operations", id="log-op", compact=True)
        yield LogTable(id="log", cursor_type="row", zebra_stripes=True)
        yield Static("", id="log-detail")
        yield StatusLine()
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.sub_title = f"log · {self.project_id}" if self.project_id else "log · all projects"
        table = self.query_one("#log", DataTable)
        for label, key in (("When", "when"), ("Operation", "op"), ("Project", "project"), ("Details", "details")):
            table.add_column(label, key=key)
        table.focus()

    # -- data -------------------------------------------------------------------------
    def current_query(self) -> Query:
        op = self.query_one("#log-op", Select).value
        return Query.parse(self.query_one("#log-filter", Input).value, op if isinstance(op, str) else None)

    def reload(self) -> None:
        query = self.query_now = self.current_query()
        vm = self.vm

        def fetch() -> tuple[list[dict], list[str], str | None]:
            operations = vm.log_operations()
            try:
                rows = vm.log(project=query.project, operation=query.operation,
                              search=as_you_type(query.text) if query.text else None, limit=LIMIT)
            except (NotFoundError, UsageError) as err:  # a project name or a search still being typed: said in
                return [], operations, str(err)          # the status line, not an error toast
            return rows, operations, None

        self.run_blocking(fetch, lambda got: self._loaded(*got))

    def _loaded(self, entries: list[dict], operations: list[str] | None = None, problem: str | None = None) -> None:
        self.entries = entries
        if operations is not None and operations != self.operations:
            self._set_operations(operations)
        table = self.query_one("#log", DataTable)
        row = table.cursor_row
        search = self._search()
        pattern = search.pattern() if search else None
        refill(table, (([ago(e.get("at")), highlight(Text(e.get("operation", ""), style="bold"), pattern),
                         Text(e.get("project_id") or "-"), self._details_cell(e, search)], str(i))
                       for i, e in enumerate(entries)), width=self.size.width or None, minimum={"when": TIME_WIDTH})
        if row and row < len(entries):
            table.move_cursor(row=row, animate=False)
        query = self.query_now
        if not entries:  # where the rows would be, as the timeline says it (typed text: not markup)
            if query.describe() and not problem:
                empty = Text(printable(f"No entry matches {query.describe()}. "
                                       f"{self.key('log.back', 'escape')} in the filter box clears it."))
            else:
                empty = Text("Nothing logged yet." if not problem else "")
            self.query_one("#log-detail", Static).update(empty)
        self.sub_title = f"log · {query.project}" if query.project else "log · all projects"
        if problem:
            message = problem
        else:
            count = f"{len(entries)}{'+' if len(entries) >= LIMIT else ''} entr{'y' if len(entries) == 1 else 'ies'}"
            message = f"{count} matching {query.describe()}" if query.describe() else f"{count}, newest first"
            if query.text:
                message += ", best match first"
            message += f" · {self.key('log.details', 'enter')}: details"
        self.query_one(StatusLine).message = message

    def _search(self) -> SearchQuery | None:
        """The search the shown entries answer (None: no words in the box)."""
        if not self.query_now.text:
            return None
        try:
            return parse(as_you_type(self.query_now.text))
        except UsageError:
            return None

    @staticmethod
    def _details_cell(entry: dict, search: SearchQuery | None) -> Fit:
        """The details, cut to the column; while searching, from the first match on (so
        a match deep in the details shows), the matched words highlighted."""
        text = detail_text(entry.get("details") or {})
        if search is None or not search.pattern().search(text):
            return Fit.text(text, cap=60)
        snippet = mark(text, search, around=12)

        def render(width: int) -> Text:
            cell = marked_text(snippet)
            cell.truncate(min(width, 60), overflow="ellipsis")
            return cell

        return Fit(render)

    def _set_operations(self, operations: list[str]) -> None:
        """The operation choices: each family (``checkpoint.``) then its operations."""
        self.operations = operations
        select = self.query_one("#log-op", Select)
        current = select.value
        options: list[tuple[str, str]] = []
        families: dict[str, list[str]] = {}
        for op in operations:
            families.setdefault(op.split(".", 1)[0], []).append(op)
        for family, ops in families.items():
            if len(ops) > 1 or ops[0] != family:
                options.append((f"{family}.*", f"{family}."))
            options.extend((f"  {op}" if op != family else op, op) for op in ops)
        with select.prevent(Select.Changed):
            select.set_options(options)
            if isinstance(current, str) and current in {value for _, value in options}:
                select.value = current

    def refresh_times(self) -> None:
        table = self.query_one("#log", DataTable)
        for i, e in enumerate(self.entries):
            table.update_cell(str(i), "when", ago(e.get("at")))

    def on_resize(self) -> None:
        if self.entries:
            self._loaded(self.entries)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if 0 <= event.cursor_row < len(self.entries):
            e = self.entries[event.cursor_row]
            self.query_one("#log-detail", Static).update(Text.assemble(
                (f"{e.get('at')} {e.get('actor')} pid {e.get('pid')}\n", "dim"),
                detail_text(e.get("details") or {})))

    # -- filter -----------------------------------------------------------------------
    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "log-filter" and self.loaded and self.current_query() != self.query_now:
            self.reload()  # each keystroke: a newer load makes the older one's result stale

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "log-filter":
            event.stop()
            self.query_one("#log", DataTable).focus()

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "log-op" and self.loaded:
            self.reload()
            self.query_one("#log", DataTable).focus()

    def action_filter(self) -> None:
        box = self.query_one("#log-filter", Input)
        self.set_focus(box)  # now, not at the next idle (Widget.focus): the keys behind "/" go to the box
        box.cursor_position = len(box.value)

    def action_operation(self) -> None:
        select = self.query_one("#log-op", Select)
        select.focus()
        select.expanded = True

    # -- actions ----------------------------------------------------------------------
    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "log":
            event.stop()
            self.action_details()

    def action_details(self) -> None:
        """The highlighted entry in full, as JSON."""
        from vmuser_tui.tui.screens.output import OutputScreen

        table = self.query_one("#log", DataTable)
        if not (0 <= table.cursor_row < len(self.entries)):
            self.notify("no entry selected", severity="warning")
            return
        entry = self.entries[table.cursor_row]
        title = f"Log entry {entry.get('id')}: {entry.get('operation')}"
        summary = f"{entry.get('at')} · {entry.get('actor')} · {ago(entry.get('at'))}"
        self.app.push_screen(OutputScreen(title, entry_json(entry), summary=summary))

    def action_refresh(self) -> None:
        self.reload()

    def action_back(self) -> None:
        """Esc: in the filter box, back to the filter the screen opened with, and to the
        list; on the list, go back."""
        box = self.query_one("#log-filter", Input)
        if box.has_focus:
            box.value = f"project:{self.project_id} " if self.project_id else ""
            self.query_one("#log", DataTable).focus()
            return
        if self.query_one("#log-op", Select).has_focus:
            self.query_one("#log", DataTable).focus()
            return
        self.app.pop_screen()
