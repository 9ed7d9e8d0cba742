"""The Docker engines (issue 14): ``local`` and each ``[engines.NAME]`` of config with its
address, whether it answers, its version, the active sessions vmuser has on it and one
round trip in milliseconds: ``vmuser engine list`` as a screen. Opened from anywhere
(``app.engines``, and the command palette's "Engines").

The engines are asked in a thread worker, all at once with a bounded wait
(:meth:`Vmuser.engine_statuses`), so a dead host shows as ``unreachable`` after its
timeout and never freezes the screen; ``r`` asks again. The line under the table says the
selected engine's address, version and, when it does not answer, why.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Header, Label, Static

from vmuser_tui.core.engines import EngineStatus
from vmuser_tui.core.errors import VmuserError
from vmuser_tui.tui.screens.base import VmuserScreen
from vmuser_tui.tui.styles import css
from vmuser_tui.tui.widgets.cells import clip_middle, lines
from vmuser_tui.tui.widgets.status import StatusLine
from vmuser_tui.tui.widgets.tables import Fit, refill, set_columns
from vmuser_tui.tui.widgets.taskbar import TaskBar

COLUMNS = (("Engine", "name"), ("URL", "url"), ("Reachable", "reachable"), ("Version", "version"),
           ("Sessions", "sessions"), ("RTT ms", "rtt"))


def reachable_cell(status: EngineStatus | None) -> Text:
    """``✓ yes`` (green), ``◌ no`` (the unreachable session's look), or ``checking…``."""
    if status is None:
        return Text("checking…", style="dim")
    if status.reachable:
        return Text("✓ yes", style="bold green")
    return Text("◌ no", style="bold magenta")


def short_version(version: str) -> str:
    """``20.10.24+dfsg1 (API 1.41, linux/amd64)`` -> ``20.10.24+dfsg1`` (the line under the
    table says it whole)."""
    return version.split(" ", 1)[0] if version else "-"


class EnginesScreen(VmuserScreen):
    """The engines table; ``statuses`` is what it shows (config order, ``local`` first)."""

    HELP_NAME = "engines"
    CSS_PATH = css("engines")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", show=False, id="engines.back"),
        Binding("r", "refresh", "Refresh", tooltip="Ask every engine again", id="engines.refresh"),
        Binding("ctrl+r", "refresh", "Refresh", show=False, id="engines.refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []
        self.statuses: dict[str, EngineStatus] = {}
        self.checking = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Label("Engines", id="engines-title", classes="pane-title")
        yield DataTable(id="engines-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="engine-detail", classes="nowrap")
        yield TaskBar()
        yield StatusLine()
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.sub_title = "engines"
        table = self.query_one("#engines-table", DataTable)
        set_columns(table, COLUMNS)
        table.focus()
        self.names = self.vm.engine_names()  # config only: drawn at once, "checking…" until they answer
        self._show()

    # -- data -------------------------------------------------------------------------
    def reload(self) -> None:
        """Ask every engine (in parallel, in a thread worker); rows say ``checking…`` meanwhile."""
        self.checking = True
        self._title()
        self.run_blocking(self.vm.engine_statuses, self._loaded, group="engines", failed=self._failed)

    def _loaded(self, statuses: list[EngineStatus]) -> None:
        self.checking = False
        self.names = [s.name for s in statuses]
        self.statuses = {s.name: s for s in statuses}
        self._show()

    def _failed(self, err: VmuserError) -> None:
        self.checking = False
        self._title()
        self.show_error(err)

    def action_refresh(self) -> None:
        if self.checking:
            self.notify("still asking the engines…")
            return
        self.reload()

    def action_back(self) -> None:
        self.app.pop_screen()

    # -- drawing ------------------------------------------------------------------------
    def selected(self) -> str | None:
        """The engine name under the cursor."""
        table = self.query_one("#engines-table", DataTable)
        row = table.cursor_row
        return self.names[row] if self.names and row is not None and 0 <= row < len(self.names) else None

    def _show(self) -> None:
        table = self.query_one("#engines-table", DataTable)
        keep = self.selected()

        def row(name: str) -> list:
            s = self.statuses.get(name)
            if s is None:
                return [Text(name, style="bold"), Fit.text("…", cut=clip_middle), reachable_cell(None), "", "", ""]
            rtt = f"{s.rtt_ms:.0f}" if s.rtt_ms is not None else "-"
            return [Text(name, style="bold"), Fit.text(s.url, cut=clip_middle), reachable_cell(s),
                    short_version(s.version), str(s.sessions), rtt]

        refill(table, ((row(n), n) for n in self.names), width=self.size.width or self.app.size.width)
        if keep in self.names:
            table.move_cursor(row=self.names.index(keep), animate=False)
        self._title()
        self._detail()

    def _title(self) -> None:
        known = [s for n in self.names if (s := self.statuses.get(n)) is not None]
        title = Text(f"Engines ({len(self.names)}", no_wrap=True, overflow="ellipsis")
        if known:
            up = sum(1 for s in known if s.reachable)
            title.append(f", {up} reachable")
            if up < len(known):
                title.append(f", {len(known) - up} not", style="bold magenta")
        title.append(")")
        if self.checking:
            title.append(" · checking…", style="dim")
        title.append(f" · {self.key('engines.refresh', 'r')}: ask again", style="dim")
        self.query_one("#engines-title", Label).update(title)

    def _detail(self) -> None:
        name = self.selected()
        s = self.statuses.get(name) if name else None
        detail = self.query_one("#engine-detail", Static)
        if s is None:
            detail.update(Text(f"{name}: checking…" if name else "", style="dim"))
            self.query_one(StatusLine).message = ""
            return
        first = Text(f"{s.name} · {s.url}")
        second = Text(f"Docker {s.version}", style="dim") if s.reachable else Text(s.error or "no answer",
                                                                                   style="magenta")
        detail.update(lines(first, second))
        sessions = f"{s.sessions} active session{'s' if s.sessions != 1 else ''}"
        state = "reachable" if s.reachable else "unreachable"
        self.query_one(StatusLine).message = f"engine {s.name}: {state} · {sessions}"

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._detail()

    def on_resize(self) -> None:
        if self.names:
            self._show()
