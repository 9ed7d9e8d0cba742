"""A project's sessions as a table: id, status, runtime, engine (when more than ``local`` is
configured, or a session runs elsewhere), published ports (when a session has any),
container, start time, uptime, checkpoints (and the image, when every column fits whole;
else the status line says it, as it says every port, the metadata and the variables).

:class:`SessionsPanel` is a DataTable that owns the session list it shows and knows which
session the screen's actions are about: the selected one, the one the metrics and the
attached line follow (:meth:`~SessionsPanel.focus_session`), the running container that
exec and shell use (:meth:`~SessionsPanel.exec_session`). Moving the cursor posts
DataTable's ``RowHighlighted`` (the selection message).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual.widgets import DataTable

from vmuser_tui.core import clock
from vmuser_tui.core.access import holders_text
from vmuser_tui.core.models import Session
from vmuser_tui.core.ports import port_text, ports_text
from vmuser_tui.core.session_env import env_text
from vmuser_tui.tui.widgets.cells import clip, clip_middle, short_time, status_cell
from vmuser_tui.tui.widgets.tables import Fit, cell_width, refill, set_columns, table_width

if TYPE_CHECKING:  # pragma: no cover
    from vmuser_tui.core.leases import Lease
    from vmuser_tui.tui.app import VmuserApp

#: The table's columns; Image only where it fits whole (else: the status line).
SESSION_COLUMNS = (("Id", "id"), ("Status", "status"), ("Runtime", "runtime"), ("Container", "container"),
                   ("Started", "started"), ("Uptime", "uptime"), ("Cps", "cps"))
IMAGE_COLUMN = ("Image", "image")
#: Published ports, after Runtime, only while a session of the project has any (an 80-column
#: screen has no cells to spare for a column of dashes).
PORTS_COLUMN = ("Ports", "ports")
#: The Docker engine a session runs on (issue 14), after Runtime, only while an engine other
#: than ``local`` is configured or a session runs on one; names cut to ENGINE_WIDTH cells.
ENGINE_COLUMN = ("Engine", "engine")
ENGINE_WIDTH = 10
#: Cells (padding included) the Container column needs to stay readable beside Ports or
#: Engine (the status line has the container's name when the column gives way).
CONTAINER_MIN = 14
#: Sessions a client attaches to (and shows metrics of).
WATCHED = ("running", "paused")


def uptime(session: Session) -> str:
    """How long a running session has been up (``2h 5m``); ``-`` when it is not running."""
    if session.status not in WATCHED or not session.started_at:
        return "-"
    seconds = max(0, int((clock.now() - clock.parse(session.started_at)).total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {seconds}s" if minutes else f"{seconds}s"


def ports_cell(session: Session) -> str:
    """The Ports cell: the first port in short form (``32771->8000``: loopback and tcp are
    the default) and how many more (``+2``); the status line lists them all."""
    if not session.ports:
        return "-"
    more = len(session.ports) - 1
    return port_text(session.ports[0], short=True) + (f" +{more}" if more else "")


class SessionsPanel(DataTable):
    """The sessions table; ``sessions`` is what it shows (newest first, as loaded)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.sessions: list[Session] = []
        self.image_column = False
        #: True: show the Engine column even when every session is on ``local`` (the screen
        #: sets it when ``[engines]`` names another engine).
        self.engines = False

    def on_mount(self) -> None:
        set_columns(self, SESSION_COLUMNS)

    def show(self, keep: str | None, width: int) -> None:
        """Fill the table from ``sessions`` for a screen ``width`` columns wide; the cursor
        stays on ``keep`` (default: the selected session)."""
        if keep is None:
            session = self.selected()
            keep = session.id if session else None

        ports = any(s.ports for s in self.sessions)
        engine = self.engines or any(s.engine != "local" for s in self.sessions)
        room = table_width(self, width, len(self.sessions))

        def row(s: Session, image: bool, container: bool = True) -> list:
            cells: list = [s.id, status_cell(s.status), s.runtime]
            if engine:
                cells.append(Text(clip(s.engine, ENGINE_WIDTH)))
            if ports:
                cells.append(Text(ports_cell(s)))
            if container:
                cells.append(Fit.text(s.container_name or "-", cut=clip_middle))
            cells += [short_time(s.started_at or s.created_at), uptime(s), str(s.checkpoints)]
            return cells + [Text(s.image or "-")] if image else cells

        def columns(image: bool, container: bool = True) -> tuple[tuple[str, str], ...]:
            cols = [c for c in SESSION_COLUMNS if container or c[1] != "container"]
            if ports:
                cols.insert(3, PORTS_COLUMN)
            if engine:
                cols.insert(3, ENGINE_COLUMN)
            return (*cols, IMAGE_COLUMN) if image else tuple(cols)

        def needed(cols: tuple[tuple[str, str], ...], rows: list[list]) -> dict[str, int]:
            return {key: max([cell_width(label), *(cell_width(r[i]) for r in rows)]) + 2 * self.cell_padding
                    for i, (label, key) in enumerate(cols)}

        # the Image column only when every column fits whole; else the status line shows it
        full = needed(columns(True), [row(s, True) for s in self.sessions])
        self.image_column = bool(self.sessions) and sum(full.values()) <= room
        # with ports or engines, the Container column (vmuser-<project>-<session>: the status
        # line has it) gives way when it would be cut to less than CONTAINER_MIN cells
        widths = needed(columns(False), [row(s, False) for s in self.sessions])
        others = sum(w for k, w in widths.items() if k != "container")
        container = not (ports or engine) or others + CONTAINER_MIN <= room
        set_columns(self, columns(self.image_column, container))
        refill(self, ((row(s, self.image_column, container), s.id) for s in self.sessions), width=width,
               minimum={"uptime": 7})
        if keep and any(s.id == keep for s in self.sessions):
            self.move_cursor(row=[s.id for s in self.sessions].index(keep), animate=False)
        self.display = bool(self.sessions)

    def refresh_times(self) -> None:
        """Redraw the uptimes (no reload)."""
        for s in self.sessions:
            self.update_cell(s.id, "uptime", uptime(s))

    # -- which session ------------------------------------------------------------------
    def selected(self) -> Session | None:
        if not self.sessions or self.cursor_row is None or self.cursor_row >= len(self.sessions):
            return None
        return self.sessions[self.cursor_row]

    def focus_session(self) -> Session | None:
        """The session the metrics and the attached line are about: the selected one when
        it is running (or paused), else the first such session, else None."""
        session = self.selected()
        if session is not None and session.status in WATCHED:
            return session
        return next((s for s in self.sessions if s.status in WATCHED), None)

    def exec_session(self) -> Session | None:
        """The session exec and shell work in: the selected one when it is a running
        container, else the first such; None when none runs."""
        session = self.selected()
        if session and session.runtime == "docker" and session.status == "running":
            return session
        return next((s for s in self.sessions if s.runtime == "docker" and s.status == "running"), None)

    def watched(self) -> list[str]:
        """Ids of the sessions a client attaches to (running or paused)."""
        return [s.id for s in self.sessions if s.status in WATCHED]

    # -- text ---------------------------------------------------------------------------
    def title(self, holders: dict[str, list[Lease]], me: str) -> Text:
        """``Sessions (1 running, 1 total) · attached: you (rw), alice@host pid 42 (ro)``
        (``holders``: lease holders per attached session; ``me``: this client's holder id)."""
        running = sum(1 for s in self.sessions if s.status == "running")
        if not self.sessions:
            start = cast("VmuserApp", self.app).key("project.start", "s")
            title = Text(f"Sessions: none ({start} starts one)")
        else:
            title = Text(f"Sessions ({running} running, {len(self.sessions)} total)", no_wrap=True,
                         overflow="ellipsis")
        focus = self.focus_session()
        if focus is not None and focus.id in holders:
            title.append(" · attached" + (f" to {focus.id}" if len(holders) > 1 else "") + ": ")
            title.append(holders_text(holders[focus.id], me), style="bold")
        return title

    @staticmethod
    def status_text(session: Session, mode: str | None, env: dict[str, str | None] | None = None) -> str:
        """The status line about ``session`` (``mode``: this client's ``rw``/``ro``, if
        attached; ``env``: its variables as :meth:`Sessions.environment` shows them, values
        masked; None: the names only). Ports, metadata and variables come before the image
        and the container: at 80 columns the end of the line is cut."""
        msg = f"session {session.id} · {session.status} · {session.runtime}"
        if session.engine != "local":
            msg += f" · engine {session.engine}"
            if session.status == "unreachable":
                msg += " (not answering: its container may still run there)"
        if session.ports:
            msg += f" · ports {ports_text(session.ports)}"
        if session.metadata:
            msg += " · " + ", ".join(f"{k}={v}" for k, v in session.metadata.items())
        if session.env_keys:
            msg += f" · env {env_text(env or dict.fromkeys(session.env_keys))}"
        if session.image:
            msg += f" · image {session.image}"
        if session.container_name:
            msg += f" · {session.container_name}"
        msg += f" · started {short_time(session.started_at or session.created_at)} UTC"
        if mode is not None:
            msg += f" · you: {mode}"
        return msg
