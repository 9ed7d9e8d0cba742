"""The projects (home) screen's table: its columns (chosen to fit the width, sorted column
marked ▲/▼), its cells (status, cleanup countdown, marks), the sort orders and the filter's
match. The screen owns the data (projects, filter, sort); the table owns what it draws
from it: the marks, the head sizes, the columns shown."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType

from vmuser_tui.core import clock
from vmuser_tui.core.models import Project
from vmuser_tui.tui.widgets.cells import ago, clip, human_size, status_cell, tags_text
from vmuser_tui.tui.widgets.lazytable import Column, LazyTable, text_width
from vmuser_tui.tui.widgets.tables import TIME_WIDTH


def matches(project: Project, needle: str) -> bool:
    """Case-insensitive substring match over name, id and tags (every word must match)."""
    hay = " ".join([project.name, project.id, *project.tags]).lower()
    return all(word in hay for word in needle.lower().split())


NAME_CAP = 24  # characters of a name shown in the table (the detail line has it whole)
TAGS_CAP = 16
MARK = "✓"  # as the timeline's mark


def sessions_text(p: Project) -> str:
    return f"{p.running_sessions}/{p.sessions}" if p.sessions else "-"


def size_text(p: Project, sizes: dict[str, int]) -> str:
    size = sizes.get(p.id)
    return human_size(size) if size is not None else "-"


def cleanup_state(p: Project, warning_days: int, now=None) -> tuple[str, str, str]:
    """``(state, text, style)`` of a project's cleanup countdown: ``pinned``; ``off``
    (cleanup disabled: no due time); ``due`` ("deletes now": the job deletes it at its next
    run); ``warn`` ("deletes in 3d", within ``[cleanup] warning_days``); ``ok`` ("in 24d")."""
    if p.pinned:
        return "pinned", "pinned", "cyan"
    if not p.cleanup_due_at:
        return "off", "-", "dim"
    left = (clock.parse(p.cleanup_due_at) - (now or clock.now())).total_seconds()
    if left <= 0:
        return "due", "deletes now", "bold red"
    # rounded down: a countdown must never promise more time than is left
    span = (f"{int(left // 86400)}d" if left >= 86400 else f"{int(left // 3600)}h" if left >= 3600
            else f"{max(1, int(left // 60))}m")
    if left <= warning_days * 86400:
        return "warn", f"deletes in {span}", "bold yellow"
    return "ok", f"in {span}", "dim"


@dataclass(frozen=True)
class Sort:
    """A sortable column: ``key`` the column, ``desc`` its first direction when chosen
    (names A→Z, but the most recent activity and the biggest size first)."""

    key: str
    label: str
    desc: bool


#: ``o`` goes through these, in this order
SORTS: tuple[Sort, ...] = (
    Sort("name", "name", False),
    Sort("status", "status", True),
    Sort("sessions", "running sessions", True),
    Sort("active", "last active", True),
    Sort("cleanup", "cleanup", False),
    Sort("pinned", "pinned", True),
    Sort("tags", "tags", False),
    Sort("size", "size", True),
    Sort("id", "id", False),
)
SORT_BY_KEY = {s.key: s for s in SORTS}
DEFAULT_SORT = "active"  # the order the service lists them in: most recently active first


def sort_key(column: str, sizes: dict[str, int]) -> Callable[[Project], Any]:
    """The key function of ``column`` (ascending)."""
    return {
        "name": lambda p: p.name.casefold(),
        "status": lambda p: p.status != "idle",
        "sessions": lambda p: (p.running_sessions, p.sessions),
        "active": lambda p: p.last_active_at,
        "cleanup": lambda p: (p.cleanup_due_at is None, p.cleanup_due_at or ""),  # pinned (no due time) last
        "pinned": lambda p: p.pinned,
        "tags": lambda p: (not p.tags, ",".join(p.tags).casefold()),
        "size": lambda p: sizes.get(p.id, -1),
        "id": lambda p: p.id,
    }[column]


#: Columns left out, in this order, while the table is wider than the screen: the id is in
#: the detail line, the cleanup column says "pinned", the size matters least of the rest.
DROP_ORDER = ("id", "pinned", "size", "tags")


def project_columns(projects: list[Project], sizes: dict[str, int], *, width: int, sort: str = DEFAULT_SORT,
                    desc: bool = True, cleanup: bool = False, warning_days: int = 7,
                    marks: bool = False) -> list[Column]:
    """The columns that fit ``width``, sized from the data without rendering a row (a pass
    over strings); the sorted column's header says ▲ or ▼. The cleanup column is there
    only while ``[cleanup] enabled``, the mark column only while a project is marked."""
    arrow = " ▼" if desc else " ▲"

    def label(key: str, text: str) -> str:
        return text + arrow if key == sort else text

    def fit(key: str, text: str, values, cap: int | None = None) -> Column:
        head = label(key, text)
        return Column(key, head, max(len(head), text_width(values, cap=cap)))

    oldest = min((p.last_active_at for p in projects), default=None)  # ISO times sort as text
    # the widest countdown, from the settings (no date arithmetic over every project)
    countdown = max(len("deletes in 23h"), len(f"deletes in {warning_days}d"))
    name = fit("name", "Name", (p.name for p in projects), cap=NAME_CAP)
    # the name gets what the other columns leave, up to NAME_CAP
    name.flex, name.min_width = True, max(8, len(name.label))
    columns = [
        *([Column("mark", "", 1)] if marks else []),
        name,
        fit("status", "Status", {f"○ {p.status}" for p in projects}),
        fit("sessions", "Sess", (sessions_text(p) for p in projects)),
        fit("active", "Active", [ago(oldest), " " * TIME_WIDTH]),
        *([fit("cleanup", "Cleanup", [" " * countdown])] if cleanup else []),
        fit("pinned", "Pin", ()),
        fit("tags", "Tags", (tags_text(p.tags, TAGS_CAP) for p in projects)),
        fit("size", "Size", {size_text(p, sizes) for p in projects}),
        fit("id", "Id", (p.id for p in projects)),
    ]

    def total(cols: list[Column]) -> int:
        return sum(min(c.width, c.min_width) if c.flex else c.width for c in cols) + 2 * len(cols)

    for key in DROP_ORDER:
        if total(columns) <= width:
            break
        if key == "pinned" and not cleanup:
            continue  # without the cleanup column nothing else shows the pin
        columns = [c for c in columns if c.key != key]
    return columns


class ProjectTable(LazyTable):
    """The project list; its Enter shows in the footer as "Open" (the table hides its own).

    ``/`` (the screen's filter key) is bound here as well, with priority: the App runs a
    priority binding as it routes the key, before it routes the next one, so the keys
    typed after ``/`` in one burst (one read over SSH) go to the filter box, in order. A
    plain binding runs only once the key has travelled through the table, after the keys
    behind it were already routed to the table (and ran its bindings: ``s`` starts a
    session). The screen keeps its own ``/`` for when the box has the focus (there the
    box types it)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Open", id="projects.open"),
        Binding("slash", "screen.filter", "Filter", key_display="/", id="projects.filter", priority=True),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__([], self._cells, lambda p: p.id, **kwargs)
        self.marked: set[str] = set()  # ids of the projects marked for the bulk actions
        self.sizes: dict[str, int] = {}  # project id -> bytes at its head checkpoint
        self.warning_days = 7  # [cleanup] warning_days, for the countdown cells
        self.column_keys: list[str] = []  # the columns shown, in order

    def choose_columns(self, projects: list[Project], *, width: int, sort: str, desc: bool, cleanup: bool,
                       warning_days: int) -> None:
        """The columns that fit ``width`` for ``projects`` (see :func:`project_columns`);
        the rows are drawn again."""
        self.warning_days = warning_days
        columns = project_columns(projects, self.sizes, width=width, sort=sort, desc=desc, cleanup=cleanup,
                                  warning_days=warning_days, marks=bool(self.marked))
        self.column_keys = [c.key for c in columns]
        self.set_columns(columns)

    def _cells(self, p: Project, widths: dict[str, int]) -> list:
        """One row; rendered only when the row is drawn."""
        marked = p.id in self.marked
        out: list = []
        for key in self.column_keys:  # the columns shown, in order
            if key == "mark":
                out.append(Text(MARK if marked else " ", style="bold magenta"))
            elif key == "name":
                out.append(Text(clip(p.name, widths["name"]), style="bold magenta" if marked else "bold"))
            elif key == "status":
                out.append(status_cell(p.status))
            elif key == "sessions":
                out.append(sessions_text(p))
            elif key == "active":
                out.append(ago(p.last_active_at))
            elif key == "cleanup":
                _state, text, style = cleanup_state(p, self.warning_days)
                out.append(Text(text, style=style))
            elif key == "pinned":
                out.append("✓" if p.pinned else "")
            elif key == "tags":
                out.append(Text(tags_text(p.tags, TAGS_CAP), style="cyan"))
            elif key == "size":
                out.append(Text(size_text(p, self.sizes).rjust(widths["size"])))
            elif key == "id":
                out.append(p.id)
        return out
