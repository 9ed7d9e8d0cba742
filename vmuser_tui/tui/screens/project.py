"""One project: its sessions (and who is attached to them), the live metrics of a running
session, and the checkpoint timeline; checkpoint, tag, annotate, diff, restore, undo,
browse files, container logs, run a command or open a shell in the container.

Opening the screen attaches this client to the project's running sessions (design.md
section 5): read-write when nobody else holds them, else read-only, with a banner that
says who holds them and until when. Read-only for a lease hides and refuses the changing
actions, as the app's read-only mode does; once the holder leaves, the screen becomes
read-write by itself, and once the holder's lease expired (it crashed, its SSH link
dropped) ``T`` takes the session over (the core logs it). The leases are renewed every
:data:`~vmuser_tui.core.access.HEARTBEAT` seconds and given back when the screen closes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Header, Label, Static

from vmuser_tui.core import clock
from vmuser_tui.core.access import HEARTBEAT, lease_name
from vmuser_tui.core.errors import NotFoundError, VmuserError
from vmuser_tui.core.models import Checkpoint, Project, Session
from vmuser_tui.core.redact import redact_argv
from vmuser_tui.core.text import printable
from vmuser_tui.tui.flows import restore as restore_flow
from vmuser_tui.tui.screens.base import VmuserScreen
from vmuser_tui.tui.styles import css
from vmuser_tui.tui.widgets.cells import (
    ago,
    clip,
    clip_middle,
    human_size,
    lines,
    short_time,
    status_cell,
)
from vmuser_tui.tui.widgets.lazytable import Column, LazyTable, text_width
from vmuser_tui.tui.widgets.metrics import MetricsPanel
from vmuser_tui.tui.widgets.status import StatusLine
from vmuser_tui.tui.widgets.tables import TIME_WIDTH, Fit, cell_width, refill, set_columns, table_width
from vmuser_tui.tui.widgets.taskbar import TaskBar

if TYPE_CHECKING:  # pragma: no cover
    from vmuser_tui.core.leases import Lease
    from vmuser_tui.core.metrics import SessionMetrics

KIND_STYLE = {"manual": "bold", "auto": "dim", "pre-restore": "yellow"}
HEAD = "●"
MARK = "✓"
BRANCH = "↱"  # a checkpoint that starts a new line of work (its parent is not the one before it)
NOTE = "✎"  # an annotation's label
#: Newest checkpoints loaded into the timeline (the CLI lists them all). The table draws
#: only the rows on screen; this bounds the memory the loaded rows take.
MAX_CHECKPOINTS = 20_000
#: Newest checkpoints loaded first when the screen opens (more than a screen shows); the
#: rest follow from a second load, so a 10,000-checkpoint timeline draws at once.
FIRST_PAGE = 200
DESC_MIN = 16  # characters of a description kept before its tags are cut
#: The sessions table's columns; Image only where it fits whole (else: the status line).
SESSION_COLUMNS = (("Id", "id"), ("Status", "status"), ("Runtime", "runtime"), ("Container", "container"),
                   ("Started", "started"), ("Uptime", "uptime"), ("Cps", "cps"))
IMAGE_COLUMN = ("Image", "image")
#: Sessions the screen attaches to (and shows metrics of).
WATCHED = ("running", "paused")
#: Seconds between looks at who holds the sessions (a lease that expired writes nothing,
#: so it would go unnoticed between two commits).
HOLDERS_INTERVAL = 3.0
#: From this terminal height on, the metrics panel has a line per graph (else two lines).
FULL_METRICS_HEIGHT = 32
#: Newest operation-log entries read for the session events of the timeline (``v``).
EVENTS_LIMIT = 1000
#: Operations shown as session events between checkpoints, with their short kind.
EVENT_KINDS = {
    "session.exec": "exec", "checkpoint.restore": "restore", "checkpoint.tag": "tag",
    "checkpoint.annotate": "annotate", "session.attach": "attach", "session.detach": "detach",
    "lease.takeover": "take-over", "session.start": "start", "session.stop": "stop",
}
#: Changing actions on the whole project: refused while another client holds any of its sessions.
PROJECT_WRITES = frozenset({"checkpoint", "restore", "undo", "tag", "annotate", "start"})
#: Changing actions on one session: refused while another client holds that session.
SESSION_WRITES = frozenset({"exec", "shell", "stop"})


@dataclass(frozen=True)
class Event:
    """A session event of the operation log, shown on the timeline between checkpoints."""

    id: int
    at: str
    operation: str
    actor: str
    session_id: str | None
    details: dict = field(default_factory=dict, hash=False, compare=False)

    @property
    def key(self) -> str:
        """The timeline row key (checkpoint rows use their id)."""
        return f"event:{self.id}"

    @property
    def kind(self) -> str:
        """What the Kind column says: ``exec``, ``restore``, ``attach``..."""
        return EVENT_KINDS.get(self.operation, self.operation.split(".")[-1])

    @classmethod
    def from_entry(cls, entry: dict) -> Event:
        """From an operation-log entry (``Vmuser.log``)."""
        return cls(entry["id"], entry["at"], entry["operation"], entry["actor"], entry.get("session_id"),
                   entry.get("details") or {})


@dataclass
class Loaded:
    """One load of the screen's data (made in a worker)."""

    project: Project
    sessions: list[Session]
    checkpoints: list[Checkpoint]
    metrics: dict[str, SessionMetrics]
    events: list[Event] | None  # None: not asked for (events hidden)


@dataclass
class Attachment:
    """What :func:`lease_pass` found and did: this client's mode per session, every
    session's lease holders, the sessions another client holds read-write (live or
    expired lease), and lines for the user."""

    attached: dict[str, str] = field(default_factory=dict)
    holders: dict[str, list[Lease]] = field(default_factory=dict)
    held: dict[str, Lease] = field(default_factory=dict)
    notes: list[tuple[str, str]] = field(default_factory=list)  # (severity, text)


def lease_pass(vm, wanted: list[str], mine: dict[str, str], *, read_only: bool = False,
               take_over: str | None = None) -> Attachment:
    """Bring this client's leases in line with ``wanted`` (session ids), in a worker.

    ``mine``: what the screen held so far (session id -> ``rw``/``ro``). Sessions no longer
    wanted are left (``close_session``). A wanted session is attached read-write when
    nobody else holds it (``take_over``: that session's expired holder is replaced), else
    read-only; ``read_only`` attaches read-only only. Nothing is written while nothing
    changes (an attached session costs two reads), so it can run every few seconds."""
    me = vm.access.client_id
    out = Attachment()
    for sid in mine:
        if sid not in wanted:
            try:
                note = vm.close_session(sid)
            except VmuserError:
                note = None  # deleted meanwhile: its leases went with it
            if note:
                out.notes.append(("information", note))
    for sid in wanted:
        had = mine.get(sid)
        own = next((r for r in vm.access.leases.holders(lease_name(sid), live_only=False) if r.holder == me), None)
        if read_only:
            if own is None:
                vm.open_session(sid, mode="ro")
            out.attached[sid] = "ro"
        elif own is not None and own.mode == "rw":
            out.attached[sid] = "rw"
        else:
            session, got = vm.open_session(sid, mode="rw", take_over=sid == take_over)
            if got.ok:
                out.attached[session.id] = "rw"
                if got.took_over is not None:
                    old = got.took_over
                    out.notes.append(("warning", f"took session {sid} over from {old.actor} pid {old.pid} (logged)"))
                elif session.id != sid:
                    again = f"session {sid} (stopped when its last client left) started again as {session.id}"
                    out.notes.append(("information", again))
                elif had == "ro":
                    out.notes.append(("information", f"session {sid}: read-write now (nobody else holds it)"))
            else:
                out.held[sid] = got.held_by
                if own is None:  # (a viewer's row already there: nothing to write)
                    vm.open_session(sid, mode="ro")
                if had == "rw":
                    lost = f"session {sid} was taken over by {got.held_by.actor} pid {got.held_by.pid}"
                    out.notes.append(("warning", lost + " while this TUI held it; read-only now"))
                out.attached[sid] = "ro"
    for sid in out.attached:
        rows = vm.access.leases.holders(lease_name(sid), live_only=False)
        # viewers that stopped heartbeating are gone; an expired writer still blocks (until taken over)
        out.holders[sid] = [r for r in rows if r.mode == "rw" or r.expires_in() > 0]
    return out


def holders_text(holders: list[Lease], me: str) -> str:
    """``you (rw), alice@host pid 4242 (ro)``: who is attached to a session."""
    parts = []
    for lease in holders:
        who = "you" if lease.holder == me else f"{lease.actor} pid {lease.pid}"
        mode = lease.mode + (", expired" if lease.expires_in() <= 0 else "")
        parts.append(f"{who} ({mode})")
    return ", ".join(parts) or "nobody"


def held_text(session_id: str, lease: Lease, key: str) -> str:
    """The read-only banner: who holds the session and what the user can do about it."""
    if lease.expires_in() > 0:
        return (f"read-only: session {session_id} is held read-write by {lease.describe()}; "
                f"{key} to take over when it expires")
    return f"read-only: session {session_id} was held read-write by {lease.describe()}; {key} takes it over"


def branch_points(checkpoints: list[Checkpoint]) -> set[str]:
    """Ids of the checkpoints (newest first) that start a new line of work: their parent
    is not the checkpoint just before them in time (a restore moved the head back)."""
    out = set()
    for newer, older in pairwise(checkpoints):
        if newer.parent_id and newer.parent_id != older.id:
            out.add(newer.id)
    return out


def annotation_label(cp: Checkpoint) -> str:
    """``✎label`` of the newest annotation (``✎label +2`` when there are more), or ''."""
    if not cp.annotations:
        return ""
    label = " ".join(printable(cp.annotations[-1].get("label", "")).split())
    more = len(cp.annotations) - 1
    return f"{NOTE}{label}" + (f" +{more}" if more else "")


def describe(cp: Checkpoint, width: int = 38) -> Text:
    """Description, tags and annotation label in one cell of at most ``width`` characters:
    ``Add notes [edit] ✎tests pass``.

    The description keeps ``DESC_MIN`` characters before the others are cut; tags keep
    both brackets (``[bu…]``) and are cut before the label; what does not fit goes."""
    desc = " ".join(printable(cp.description or "-").split())  # escapes shown, one line
    extras = []
    if cp.tags:
        extras.append(("tags", ",".join(cp.tags), "cyan"))
    note = annotation_label(cp)
    if note:
        extras.append(("note", note, "magenta"))
    full = [f"[{value}]" if kind == "tags" else value for kind, value, _ in extras]
    if len(desc) + sum(1 + len(f) for f in full) <= width:
        shown = [(f, style) for f, (_, _, style) in zip(full, extras)]
    else:
        room = width - min(len(desc), DESC_MIN)  # what the extras may have, a space before each
        shown = []
        for (kind, value, style), whole in zip(extras, full):
            avail = room - 1
            if avail >= len(whole):
                part = whole
            elif avail >= 4:  # "[b…]", "✎la…"
                part = f"[{clip(value, avail - 2)}]" if kind == "tags" else clip(value, avail)
            else:
                continue
            shown.append((part, style))
            room -= 1 + len(part)
    rest = width - sum(1 + len(part) for part, _ in shown)
    text = Text(clip(desc, max(1, rest)))
    for part, style in shown:
        text.append(" ")
        text.append(part, style=style)
    return text


def event_text(event: Event) -> Text:
    """One line about a session event: what happened, by whom."""
    d = event.details
    op = event.operation
    who = event.actor
    if op == "session.exec":
        command = d.get("command") or []
        if len(command) == 3 and command[:2] == ["sh", "-c"]:
            command = [command[2]]
        shown = " ".join(str(c) for c in command)
        text = f"$ {shown} → exit {d.get('exit_code', '?')}, {d.get('duration_ms', '?')} ms · {who}"
    elif op == "checkpoint.restore":
        paths = d.get("paths") or []
        text = f"restored {d.get('checkpoint')}" + (f" ({', '.join(paths[:3])})" if paths else "")
        text += f", saved first as {d.get('pre_restore')} · {who}"
    elif op == "checkpoint.tag":
        changes = [f"+{t}" for t in d.get("add") or []] + [f"-{t}" for t in d.get("remove") or []]
        text = f"tagged {d.get('checkpoint')} {' '.join(changes)} · {who}"
    elif op == "checkpoint.annotate":
        text = f"annotated {d.get('checkpoint')}: {NOTE}{d.get('label', '')} · {who}"
    elif op == "session.attach":
        text = f"{who} attached ({d.get('mode', '?')}) to {event.session_id}"
    elif op == "session.detach":
        text = f"{who} left ({d.get('mode', '?')}) {event.session_id}"
    elif op == "lease.takeover":
        why = ("its process had died" if d.get("reason") == "holder process is dead"
               else f"lease expired {d.get('expired_s', '?')} s before")
        text = f"{who} took {str(d.get('lease', '')).removeprefix('session:')} over from {d.get('previous')} ({why})"
    elif op == "session.start":
        text = f"session {event.session_id} started ({d.get('runtime', '?')}) · {who}"
    elif op == "session.stop":
        text = f"session {event.session_id} stopped: {d.get('reason', '')} · {who}"
    else:
        text = f"{op} · {who}"
    return Text(" ".join(printable(text).split()), style="dim")


def _key(item) -> str:
    return item.key if isinstance(item, Event) else item.id


def _when(item) -> str:
    return item.at if isinstance(item, Event) else item.created_at


def timeline_columns(rows: list) -> list[Column]:
    """The timeline's columns, sized from the data without rendering a row; the
    description (tags, label, or the event's line) gets what the others leave."""
    checkpoints = [r for r in rows if isinstance(r, Checkpoint)]
    oldest = min((_when(r) for r in rows), default=None)  # ISO times sort as text
    natural = max((len(printable(cp.description or "-")) + (len(",".join(cp.tags)) + 3 if cp.tags else 0)
                   + (len(annotation_label(cp)) + 1 if cp.annotations else 0) for cp in checkpoints), default=0)
    natural = max([natural, *(len(event_text(r).plain) for r in rows if isinstance(r, Event))])
    kinds = {cp.kind for cp in checkpoints} | {r.kind for r in rows if isinstance(r, Event)}
    return [
        Column("marks", "", 3),
        Column("id", "Id", text_width((cp.id for cp in checkpoints), floor=2)),
        Column("when", "When", max(TIME_WIDTH, len(ago(oldest)))),
        Column("kind", "Kind", text_width(kinds, floor=4)),
        Column("files", "Files", max(5, len(str(max((cp.file_count for cp in checkpoints), default=0))))),
        Column("description", Text("Description [tags] ✎label"), max(natural, len("Description [tags] ✎label")),
               flex=True, min_width=12),
    ]


def shell_banner(container: str) -> str:
    """What the terminal shows before ``e``'s shell starts: a cleared screen and one line."""
    return f"\x1b[H\x1b[2Jvmuser: shell in {container} — exit to return\n"


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


class ProjectScreen(VmuserScreen):
    """Sessions on top (who is attached, live metrics), the checkpoint timeline (newest
    first) below. The timeline shows the whole project by default; ``w`` limits it to the
    selected session, ``/`` to a tag, ``v`` adds the session events between checkpoints."""

    # The timeline is what the operator came for, whichever way the screen was opened.
    AUTO_FOCUS = "#checkpoints"

    HELP_NAME = "project"
    AUTO_RELOAD = True
    CSS_PATH = css("project")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", show=False, id="project.back"),
        Binding("c", "checkpoint", "Checkpoint", id="project.checkpoint"),
        Binding("space", "mark", "Mark", key_display="spc", id="project.mark"),
        Binding("D", "diff", "Diff", id="project.diff"),
        Binding("r", "restore", "Restore", id="project.restore"),
        Binding("u", "undo", "Undo", id="project.undo"),
        Binding("f", "files", "Files", id="project.files"),
        Binding("x", "exec", "Exec", tooltip="Run one command, show its output",
                id="project.exec"),
        Binding("e", "shell", "Shell", show=False, tooltip="Shell in the container",
                id="project.shell"),
        Binding("exclamation_mark", "shell", "Shell", key_display="!", show=False, id="project.shell"),
        Binding("t", "tag", "Tag", show=False, tooltip="Tag the checkpoint (-tag removes)",
                id="project.tag"),
        Binding("a", "annotate", "Annotate", show=False, tooltip="Annotate: a label and a note",
                id="project.annotate"),
        Binding("l", "container_logs", "Logs", show=False, tooltip="Container logs, followed",
                id="project.logs"),
        Binding("slash", "filter", "Filter by tag", key_display="/", show=False, id="project.filter"),
        Binding("v", "events", "Events", show=False, tooltip="Session events in the timeline",
                id="project.events"),
        Binding("w", "scope", "Scope", show=False, tooltip="Timeline: whole project / session",
                id="project.scope"),
        Binding("M", "metrics", "Metrics", show=False, tooltip="Metrics panel on/off", id="project.metrics"),
        Binding("T", "takeover", "Take over", show=False, tooltip="Take over a session (lease expired)",
                id="project.takeover"),
        Binding("s", "start", "Start session", show=False, id="project.start"),
        Binding("S", "stop", "Stop session", show=False, id="project.stop"),
        Binding("y", "copy", "Copy id", show=False, id="project.copy"),
        Binding("o", "log", "Operation log", show=False, id="project.log"),
        Binding("ctrl+r", "refresh", "Refresh", show=False, id="project.refresh"),
    ]
    WRITE_ACTIONS = frozenset({"checkpoint", "restore", "undo", "exec", "start", "stop", "shell", "tag", "annotate",
                               "takeover"})

    def __init__(self, project_id: str) -> None:
        super().__init__()
        self.project_id = project_id
        self.project: Project | None = None
        self.sessions: list[Session] = []
        self.all_checkpoints: list[Checkpoint] = []  # the loaded ones, newest first
        self.checkpoints: list[Checkpoint] = []  # those shown (scope and tag filter applied)
        self.rows: list[Checkpoint | Event] = []  # the timeline's rows: checkpoints, and events with ``v``
        self.events: list[Event] = []
        self.branches: set[str] = set()
        self.metrics: dict[str, SessionMetrics] = {}
        self.scope = "project"  # or "session"
        self.scope_session: str | None = None
        self.tag_filter: str | None = None
        self.show_events = False
        self.metrics_hidden = False
        self.marked: str | None = None
        self.more = False
        self.partial = False  # only the newest FIRST_PAGE are loaded yet (the rest are on their way)
        self._select: str | None = None
        # leases (see lease_pass): what this client holds, who holds what, what others hold read-write
        self.attached: dict[str, str] = {}
        self.holders: dict[str, list[Lease]] = {}
        self.held_by: dict[str, Lease] = {}
        self._expired_told: set[tuple[str, str]] = set()
        self._lease_running = False
        self._lease_again = False
        self._first_pass = True
        self._vm = None
        self._shown: dict[str, object] = {}  # what was drawn last, to skip redrawing the same

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="project-info", classes="nowrap")
        yield Static("", id="lease-banner")
        yield Label("Sessions", id="sessions-title", classes="pane-title")
        yield DataTable(id="sessions", cursor_type="row", zebra_stripes=True)
        yield MetricsPanel(id="metrics")
        yield Label("Checkpoints", id="timeline-title", classes="pane-title")
        yield LazyTable(timeline_columns([]), self._timeline_cells, _key, id="checkpoints")
        yield Static("", id="timeline-empty")
        yield TaskBar()
        yield StatusLine()
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self._vm = self.app.vm  # type: ignore[attr-defined]  (kept for leaving, when the app may be gone)
        self.sub_title = self.project_id
        set_columns(self.query_one("#sessions", DataTable), SESSION_COLUMNS)
        timeline = self.query_one("#checkpoints", LazyTable)
        self.query_one("#timeline-empty").display = False
        self.query_one("#lease-banner").display = False
        self.query_one("#metrics").display = False
        timeline.focus()
        self.set_interval(HEARTBEAT, self._heartbeat, name="lease heartbeat")
        self.set_interval(HOLDERS_INTERVAL, self._sync_leases, name="lease holders")

    def on_unmount(self) -> None:
        """Leave the sessions this screen attached to (the project list is not attached).
        When the whole app is closing, ``Vmuser.close()`` leaves them instead."""
        attached, self.attached = list(self.attached), {}
        app, vm = self.app, self._vm
        if not attached or vm is None or getattr(app, "_exit", False) or not app.is_running:
            return

        def leave() -> None:
            for sid in attached:
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

    # -- data -------------------------------------------------------------------------
    def reload(self, select: str | None = None) -> None:
        """Reload in a worker; ``select`` puts the cursor on that checkpoint afterwards."""
        if select:
            self._select = select
        events = self.show_events

        def fetch(limit: int) -> Loaded:
            vm = self.vm
            project = vm.projects.get(self.project_id)
            sessions = vm.sessions.list(project.id)
            checkpoints = vm.checkpoints.list(project.id, limit=limit + 1)
            watched = [s.id for s in sessions if s.status in WATCHED]
            metrics = {sid: vm.session_metrics(sid) for sid in watched}
            return Loaded(project, sessions, checkpoints, metrics, self._fetch_events(project, sessions) if events
                          else None)

        def everything() -> None:
            self.run_blocking(lambda: fetch(MAX_CHECKPOINTS), self._loaded, failed=self._load_failed)

        if self.project is not None:
            everything()
            return

        def first(data: Loaded) -> None:
            if len(data.checkpoints) <= FIRST_PAGE:  # that was all of them
                self._loaded(data)
                return
            self._loaded(data, partial=True)
            # after that page is drawn: the big load would otherwise take the GIL from the first frame
            self.call_after_refresh(everything)

        # opening: the newest page first, drawn while the rest loads
        self.run_blocking(lambda: fetch(FIRST_PAGE), first, failed=self._load_failed)

    def _fetch_events(self, project: Project, sessions: list[Session]) -> list[Event]:
        """The project's session events, newest first (in a worker). A take-over is logged
        under the lease's name only, so those are read apart and matched by session."""
        vm = self.vm
        rows = [e for e in vm.log(project=project.id, limit=EVENTS_LIMIT) if e["operation"] in EVENT_KINDS]
        names = {lease_name(s.id): s.id for s in sessions}
        for entry in vm.log(operation="lease.takeover", limit=200):
            sid = names.get(str(entry["details"].get("lease", "")))
            if sid:
                rows.append({**entry, "session_id": sid})
        rows.sort(key=lambda e: (e["at"], e["id"]), reverse=True)
        return [Event.from_entry(e) for e in rows]

    def _load_failed(self, err) -> None:
        if isinstance(err, NotFoundError):  # deleted meanwhile (e.g. by another process)
            self.notify(f"project {self.project_id} no longer exists", severity="warning")
            self.app.pop_screen()
            return
        self.show_error(err)

    def _loaded(self, data: Loaded, *, partial: bool = False) -> None:
        session = self.selected_session()
        keep_session = session.id if session else None
        table = self.query_one("#checkpoints", LazyTable)
        keep_row = self._select or (table.row_key(table.cursor_row) if self.rows else None)
        if not partial:  # a selection asked for may be in the rest
            self._select = None
        self.project, self.sessions = data.project, data.sessions
        limit = FIRST_PAGE if partial else MAX_CHECKPOINTS
        self.partial = partial
        self.more = not partial and len(data.checkpoints) > MAX_CHECKPOINTS
        self.all_checkpoints = data.checkpoints[:limit]
        self.branches = branch_points(self.all_checkpoints)
        self.metrics = data.metrics
        if data.events is not None:
            self.events = data.events
        if self.marked and not any(cp.id == self.marked for cp in self.all_checkpoints) and not partial:
            self.marked = None  # forgotten meanwhile
        self.sub_title = f"{self.project.name} · {self.project.id}"
        self._show_info()
        self._show_sessions(keep_session)
        self._show_timeline(keep_row)
        self._show_leases()
        watched = {s.id for s in self.sessions if s.status in WATCHED}
        if not partial and (self._first_pass or watched != set(self.attached)):
            self._sync_leases()  # (who holds what is looked at every HOLDERS_INTERVAL anyway)

    def _show_info(self) -> None:
        p = self.project
        assert p is not None
        line1 = Text(no_wrap=True, overflow="ellipsis")
        line1.append(p.name, style="bold")
        line1.append(f"  {p.id}  ")
        line1.append_text(status_cell(p.status))
        line1.append(f"  {p.checkpoints} checkpoint{'s' if p.checkpoints != 1 else ''}")
        if p.pinned:
            line1.append("  pinned", style="bold cyan")
        elif p.cleanup_due_at:
            line1.append(f"  cleanup {short_time(p.cleanup_due_at)}", style="dim")
        if p.tags:
            line1.append(f"  [{', '.join(p.tags)}]", style="cyan")
        line2 = Text(no_wrap=True, overflow="ellipsis", style="dim")
        line2.append(f"{'workspace' if p.managed else 'workspace (in place)'} {printable(p.workspace)}")
        self.query_one("#project-info", Static).update(lines(line1, line2))

    def _show_sessions(self, keep: str | None) -> None:
        table = self.query_one("#sessions", DataTable)
        if keep is None:
            session = self.selected_session()
            keep = session.id if session else None
        width = self.size.width or self.app.size.width

        def row(s: Session, image: bool) -> list:
            cells = [s.id, status_cell(s.status), s.runtime,
                     Fit.text(s.container_name or "-", cut=clip_middle),
                     short_time(s.started_at or s.created_at), uptime(s), str(s.checkpoints)]
            return cells + [Text(s.image or "-")] if image else cells

        # the Image column only when every column fits whole; else the status line shows it
        columns = (*SESSION_COLUMNS, IMAGE_COLUMN)
        full = [row(s, True) for s in self.sessions]
        natural = [max([cell_width(label), *(cell_width(r[i]) for r in full)])
                   for i, (label, key) in enumerate(columns)]
        needed = sum(natural) + 2 * table.cell_padding * len(natural)
        self.image_column = bool(full) and needed <= table_width(table, width, len(full))
        set_columns(table, (*SESSION_COLUMNS, IMAGE_COLUMN) if self.image_column else SESSION_COLUMNS)
        refill(table, ((row(s, self.image_column), s.id) for s in self.sessions), width=width,
               minimum={"uptime": 7})
        if keep and any(s.id == keep for s in self.sessions):
            table.move_cursor(row=[s.id for s in self.sessions].index(keep), animate=False)
        table.display = bool(self.sessions)
        self._sessions_title()

    def _sessions_title(self) -> None:
        """``Sessions (1 running, 1 total) · attached: you (rw), alice@host pid 42 (ro)``."""
        running = sum(1 for s in self.sessions if s.status == "running")
        if not self.sessions:
            title = Text(f"Sessions: none ({self.key('project.start', 's')} starts one)")
        else:
            title = Text(f"Sessions ({running} running, {len(self.sessions)} total)", no_wrap=True,
                         overflow="ellipsis")
        focus = self.focus_session()
        if focus is not None and focus.id in self.holders:
            title.append(" · attached" + (f" to {focus.id}" if len(self.holders) > 1 else "") + ": ")
            title.append(holders_text(self.holders[focus.id], self.vm.access.client_id), style="bold")
        if title != self._shown.get("sessions-title"):  # an update lays the screen out again
            self._shown["sessions-title"] = title
            self.query_one("#sessions-title", Label).update(title)

    def focus_session(self) -> Session | None:
        """The session the metrics and the attached line are about: the selected one when
        it is running (or paused), else the first such session, else None."""
        session = self.selected_session()
        if session is not None and session.status in WATCHED:
            return session
        return next((s for s in self.sessions if s.status in WATCHED), None)

    def _show_metrics(self) -> None:
        panel = self.query_one("#metrics", MetricsPanel)
        session = self.focus_session()
        if session is None or self.metrics_hidden or session.id not in self.metrics:
            panel.display = False
            return
        compact = (self.app.size.height or 24) < FULL_METRICS_HEIGHT
        many = sum(1 for s in self.sessions if s.status in WATCHED) > 1
        drawn = (session, self.metrics[session.id], compact, many)
        if drawn != self._shown.get("metrics") or not panel.display:  # (refresh_times redraws the ages)
            self._shown["metrics"] = drawn
            panel.show(session, self.metrics[session.id], compact=compact, many=many)
        panel.display = True

    def _timeline_cells(self, item: Checkpoint | Event, widths: dict[str, int]) -> list:
        """One timeline row, made only when it is drawn."""
        if isinstance(item, Event):
            return [Text(""), Text(""), Text(ago(item.at), style="dim"), Text(item.kind, style="italic dim"), "",
                    event_text(item)]
        cp = item
        head = self.project.head_checkpoint_id if self.project else None
        return [self._marks(cp, head), Text(cp.id, style="bold" if cp.id == head else ""), ago(cp.created_at),
                Text(cp.kind, style=KIND_STYLE.get(cp.kind, "")), str(cp.file_count),
                describe(cp, widths["description"])]

    def _build_rows(self) -> None:
        """The timeline's rows from what is loaded: scope, tag filter, events."""
        cps = self.all_checkpoints
        if self.scope == "session" and self.scope_session:
            cps = [cp for cp in cps if cp.session_id == self.scope_session]
        if self.tag_filter:
            cps = [cp for cp in cps if self.tag_filter in cp.tags]
        self.checkpoints = cps
        if not self.show_events or self.tag_filter:
            self.rows = cps
            return
        events = self.events
        if self.scope == "session" and self.scope_session:
            events = [e for e in events if e.session_id in (None, self.scope_session)]
        oldest = cps[-1].created_at if (self.more or self.partial) and cps else ""
        events = [e for e in events if e.at >= oldest]  # none below the oldest loaded checkpoint
        # newest first; the sort is stable, so equal times keep their loaded order
        self.rows = sorted([*cps, *events], key=_when, reverse=True)

    def _show_timeline(self, keep: str | None) -> None:
        table = self.query_one("#checkpoints", LazyTable)
        if keep is None and self.rows:
            keep = table.row_key(table.cursor_row)
        self._build_rows()
        table.set_columns(timeline_columns(self.rows))
        table.set_rows(self.rows, cursor_key=keep)
        self._timeline_title()
        empty = self.query_one("#timeline-empty", Static)
        if self.tag_filter:
            empty.update(Text(printable(f"No checkpoint here is tagged {self.tag_filter}. "  # typed: not markup
                                        f"{self.key('project.filter', '/')} and an empty filter show all.")))
        elif self.scope == "project":
            empty.update(f"No checkpoints yet. Press {self.key('project.checkpoint', 'c')} to take one.")
        else:
            empty.update(f"This session has no checkpoints. {self.key('project.scope', 'w')} shows the whole project.")
        empty.display = not self.rows
        table.display = bool(self.rows)

    def _marks(self, cp: Checkpoint, head: str | None) -> Text:
        text = Text()
        text.append(MARK if cp.id == self.marked else " ", style="bold magenta")
        text.append(HEAD if cp.id == head else " ", style="bold green")
        text.append(BRANCH if cp.id in self.branches else " ", style="bold yellow")
        return text

    def _timeline_title(self) -> None:
        where = "whole project" if self.scope == "project" else f"session {self.scope_session}"
        if self.partial and self.project is not None:
            count = f"newest {len(self.checkpoints)} of {self.project.checkpoints}, loading the rest…"
        else:
            count = f"newest {len(self.checkpoints)}" if self.more else str(len(self.checkpoints))
        title = Text(f"Checkpoints · {where} ({count}) · ", no_wrap=True, overflow="ellipsis")
        if self.tag_filter:
            title.append(f"tag {self.tag_filter}", style="bold cyan")
            title.append(" · ")
        if self.show_events and not self.tag_filter:
            title.append("+events · ", style="italic")
        title.append(f"{HEAD} head", style="green")
        title.append("  ")
        title.append(f"{MARK} marked" + (f" {self.marked}" if self.marked else ""), style="magenta")
        if any(cp.id in self.branches for cp in self.checkpoints):
            title.append("  ")
            title.append(f"{BRANCH} branch", style="yellow")
        self.query_one("#timeline-title", Label).update(title)
        self._status()

    def refresh_times(self) -> None:
        sessions = self.query_one("#sessions", DataTable)
        for s in self.sessions:
            sessions.update_cell(s.id, "uptime", uptime(s))
        self.query_one("#checkpoints", LazyTable).refresh_rows()  # rows on screen only: the cells call ago()
        panel = self.query_one("#metrics", MetricsPanel)
        if panel.display:
            panel.refresh_times()
        self._show_leases()  # "lease expires in 40 s"

    def on_resize(self) -> None:
        if self.project is not None:  # columns are fitted to the width: fit them again (the timeline fits itself)
            self._show_sessions(None)
            self._show_metrics()

    def on_descendant_focus(self) -> None:
        self._status()

    def _session_status(self, session: Session) -> str:
        msg = f"session {session.id} · {session.status} · {session.runtime}"
        if session.image:
            msg += f" · image {session.image}"
        if session.container_name:
            msg += f" · {session.container_name}"
        msg += f" · started {short_time(session.started_at or session.created_at)} UTC"
        if session.id in self.attached:
            msg += f" · you: {self.attached[session.id]}"
        return msg

    def _status(self) -> None:
        """The status line: the selected session's details while the sessions table has
        the focus (its image among them), else the selected checkpoint's (or event's),
        else how marking works."""
        sessions = self.query_one("#sessions", DataTable)
        session = self.selected_session()
        if sessions.has_focus and session is not None:
            self.query_one(StatusLine).message = self._session_status(session)
            return
        item = self._selected_row()
        if isinstance(item, Event):
            self.query_one(StatusLine).message = (f"{item.operation} · {short_time(item.at)} UTC · {item.actor}"
                                                  + (f" · session {item.session_id}" if item.session_id else ""))
            return
        cp = item
        if cp is None:
            mark, diff = self.key("project.mark", "space"), self.key("project.diff", "D")
            msg = f"{mark}: mark · {diff}: diff marked → selected, or selected → workspace"
        else:
            msg = f"{cp.id} · {short_time(cp.created_at)} UTC · {cp.file_count} files, {human_size(cp.total_size)}"
            if cp.id in self.branches:
                msg += f" · {BRANCH} new line of work from {cp.parent_id}"
            elif cp.parent_id:
                msg += f" · parent {cp.parent_id}"
            if cp.annotations:
                note = cp.annotations[-1]
                msg += f" · {NOTE}{note.get('label', '')}" + (f": {note['note']}" if note.get("note") else "")
            if self.marked and self.marked != cp.id:
                msg += f" · {self.key('project.diff', 'D')}: diff with marked"
        self.query_one(StatusLine).message = msg

    def selected_session(self) -> Session | None:
        table = self.query_one("#sessions", DataTable)
        if not self.sessions or table.cursor_row is None or table.cursor_row >= len(self.sessions):
            return None
        return self.sessions[table.cursor_row]

    def _selected_row(self) -> Checkpoint | Event | None:
        table = self.query_one("#checkpoints", LazyTable)
        if not self.rows or table.cursor_row >= len(self.rows):
            return None
        return self.rows[table.cursor_row]

    def selected_checkpoint(self) -> Checkpoint | None:
        """The checkpoint under the timeline's cursor (None on an event row)."""
        item = self._selected_row()
        return item if isinstance(item, Checkpoint) else None

    def require_checkpoint(self) -> Checkpoint | None:
        cp = self.selected_checkpoint()
        if cp is None:
            if isinstance(self._selected_row(), Event):
                self.notify(f"an event is selected: move to a checkpoint ({self.key('project.events', 'v')} "
                            "hides the events)", severity="warning")
            else:
                self.notify(f"no checkpoint selected; press {self.key('project.checkpoint', 'c')} to take one",
                            severity="warning")
        return cp

    def on_lazy_table_row_highlighted(self, event: LazyTable.RowHighlighted) -> None:
        self._status()  # the timeline's

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.has_focus:
            self._status()
        if event.data_table.id != "sessions":
            return
        self._sessions_title()
        self._show_metrics()
        self._refresh_bindings()  # exec, shell, stop follow the selected session
        if self.scope == "session":
            session = self.selected_session()
            if session and session.id != self.scope_session:
                self.scope_session = session.id
                self._show_timeline(None)

    # -- leases -----------------------------------------------------------------------
    def _heartbeat(self) -> None:
        """Renew this client's leases (every HEARTBEAT seconds, in a worker)."""
        if self.attached:
            self.run_blocking(self.vm.access.heartbeat, group="heartbeat")

    def _sync_leases(self, take_over: str | None = None) -> None:
        """Attach to the running sessions, leave stopped ones, see who holds what
        (:func:`lease_pass` in a worker; one pass at a time)."""
        if self.project is None:
            return
        if self._lease_running:
            self._lease_again = True
            return
        self._lease_running = True
        wanted = [s.id for s in self.sessions if s.status in WATCHED]
        if self._first_pass and not wanted and not self.vapp.read_only:
            # Stopped because its last client left ([runtime] container_stop_on_disconnect):
            # opening the project opens it again (open_session starts it).
            from vmuser_tui.core.service import DISCONNECT_REASON

            wanted = [s.id for s in self.sessions[:1] if s.status == "stopped" and s.runtime == "docker"
                      and s.status_reason == DISCONNECT_REASON]
        self._first_pass = False
        mine = dict(self.attached)
        read_only = bool(self.vapp.read_only)
        vm = self.vm

        def job() -> Attachment:
            try:
                return lease_pass(vm, wanted, mine, read_only=read_only, take_over=take_over)
            except VmuserError:
                raise
            except Exception as exc:  # a crash would leave the passes stopped: report it as an error
                raise VmuserError(f"attaching to the sessions failed: {type(exc).__name__}: {exc}") from exc

        self.run_blocking(job, self._leases_done, group="leases", failed=self._leases_failed,
                          task="starting the session again" if wanted and wanted[0] not in
                          {s.id for s in self.sessions if s.status in WATCHED} else None)

    def _leases_failed(self, err: VmuserError) -> None:
        self._lease_running = False
        self.show_error(err)

    def _leases_done(self, att: Attachment) -> None:
        self._lease_running = False
        before = dict(self.held_by)
        restarted = any(sid not in {s.id for s in self.sessions} for sid in att.attached)
        self.attached, self.holders, self.held_by = att.attached, att.holders, att.held
        for severity, text in att.notes:
            self.notify(text, title="Session", severity=severity)
        takeover = self.key("project.takeover", "T")
        for sid, lease in self.held_by.items():
            if sid not in before or before[sid].holder != lease.holder:
                self.notify(held_text(sid, lease, takeover), title="Read-only", severity="warning")
            if lease.expires_in() <= 0 and (sid, lease.holder) not in self._expired_told and sid in before:
                self._expired_told.add((sid, lease.holder))
                self.notify(f"the read-write lease of {lease.actor} on session {sid} expired: {takeover} takes it "
                            "over", title="Lease expired", severity="warning")
        self._show_leases()
        if restarted:
            self.reload()
        elif self._lease_again:
            self._lease_again = False
            self._sync_leases()

    def _show_leases(self) -> None:
        """The read-only banner, the attached line and which bindings show."""
        banner = self.query_one("#lease-banner", Static)
        if self.held_by:
            sid, lease = next(iter(self.held_by.items()))
            text = held_text(sid, lease, self.key("project.takeover", "T"))
            if len(self.held_by) > 1:
                text += f" (and {len(self.held_by) - 1} more session{'s' if len(self.held_by) > 2 else ''})"
            if text != self._shown.get("banner"):
                self._shown["banner"] = text
                banner.update(Text(text))
        banner.display = bool(self.held_by)
        banner.set_class(any(lease.expires_in() <= 0 for lease in self.held_by.values()), "-expired")
        if self.project is not None:
            self._sessions_title()
        self._refresh_bindings()

    def _refresh_bindings(self) -> None:
        """Refresh the footer's bindings when a lease changed what they allow: the footer
        is built again on every refresh (the screen reloads on every commit of any process)."""
        target = self._exec_session(quiet=True)
        selected = self.selected_session()
        state = (tuple(sorted(self.held_by)), target.id if target else None, selected.id if selected else None)
        if state != self._shown.get("bindings"):
            self._shown["bindings"] = state
            self.refresh_bindings()

    def _lease_refusal(self, action: str) -> str | None:
        """Why ``action`` is refused because another client holds a session read-write
        (the banner's text), or None."""
        if not self.held_by:
            return None
        if action in PROJECT_WRITES:
            sid, lease = next(iter(self.held_by.items()))
        elif action in SESSION_WRITES:
            session = self.selected_session() if action == "stop" else self._exec_session(quiet=True)
            if session is None or session.id not in self.held_by:
                return None
            sid, lease = session.id, self.held_by[session.id]
        else:
            return None
        return held_text(sid, lease, self.key("project.takeover", "T"))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Changing actions hide while a lease blocks them (as in the app's read-only mode).
        # Take over stays allowed: pressed with nothing to take over, it says so.
        if not super().check_action(action, parameters):
            return False
        return self._lease_refusal(action) is None

    def on_key(self, event: events.Key) -> None:
        """A key of a changing action refused for a lease says why (check_action hides
        such bindings, so they would otherwise do nothing silently). The app's read-only
        mode is the base class's to explain."""
        if self.vapp.read_only or not self.held_by:
            return
        for namespace, bindings in self.screen._modal_binding_chain:  # type: ignore[attr-defined]
            if namespace is not self:
                continue
            for binding in bindings.key_to_bindings.get(event.key, ()):
                reason = self._lease_refusal(binding.action)
                if reason:
                    event.stop()
                    event.prevent_default()
                    self.notify(reason, title="Refused", severity="warning")
                    return

    def _may(self, action: str, what: str) -> bool:
        """Guard of a changing action: not read-only (app or lease), nothing else running."""
        if not self.guard_write(what):
            return False
        reason = self._lease_refusal(action)
        if reason:
            self.notify(reason, title="Refused", severity="warning")
            return False
        return True

    def action_takeover(self) -> None:
        """Take over a session whose read-write holder's lease expired (after a confirmation)."""
        if self.refuse_read_only("take over"):
            return
        if not self.held_by:
            self.notify("nobody else holds this project's sessions: nothing to take over", severity="warning")
            return
        session = self.focus_session()
        sid = session.id if session is not None and session.id in self.held_by else next(iter(self.held_by))
        lease = self.held_by[sid]
        if lease.expires_in() > 0:
            self.notify(f"session {sid} is held read-write by {lease.describe()}: it can be taken over once the "
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
                self._sync_leases(take_over=sid)

        self.app.push_screen(ConfirmScreen(f"Take over session {sid}?", body, confirm_label="Take over"), answer)

    # -- navigation -------------------------------------------------------------------
    def action_back(self) -> None:
        self.app.pop_screen()

    def action_refresh(self) -> None:
        self.reload()

    def action_scope(self) -> None:
        if self.scope == "project":
            session = self.selected_session()
            if session is None:
                self.notify("no session to show: this project has none", severity="warning")
                return
            self.scope, self.scope_session = "session", session.id
        else:
            self.scope, self.scope_session = "project", None
        self._show_timeline(None)

    def action_filter(self) -> None:
        """``/``: show only the checkpoints with a tag (an empty answer shows all)."""
        from vmuser_tui.tui.screens.prompt import PromptScreen

        tags = sorted({t for cp in self.all_checkpoints for t in cp.tags})

        def answer(text: str | None) -> None:
            if text is None:
                return
            self.tag_filter = text.strip() or None
            self._show_timeline(None)

        hint = ("tags: " + clip(", ".join(tags), 50) if tags else "no checkpoint has a tag yet") + \
            "   empty: all   Esc: cancel"
        self.app.push_screen(PromptScreen("Show the checkpoints tagged", value=self.tag_filter or "",
                                          placeholder="a tag, e.g. " + (tags[0] if tags else "release"),
                                          hint=hint), answer)

    def action_events(self) -> None:
        """``v``: session events (exec, restore, tag, attach...) between the checkpoints, on/off."""
        self.show_events = not self.show_events
        if self.show_events:
            self.reload()  # the events are read with the rest
        else:
            self._show_timeline(None)

    def action_metrics(self) -> None:
        """``M``: the metrics panel off (more room for the timeline) and on again."""
        self.metrics_hidden = not self.metrics_hidden
        self._show_metrics()
        if self.metrics_hidden:
            self.notify(f"metrics hidden; {self.key('project.metrics', 'M')} shows them")
        elif self.focus_session() is None:
            self.notify("no running session: no metrics to show", severity="warning")

    def action_mark(self) -> None:
        cp = self.require_checkpoint()
        if cp is None:
            return
        self.marked = None if self.marked == cp.id else cp.id
        self.query_one("#checkpoints", LazyTable).refresh_rows()  # the marks column
        self._timeline_title()

    def action_diff(self) -> None:
        cp = self.require_checkpoint()
        if cp is None:
            return
        from vmuser_tui.tui.screens.diff import DiffScreen

        if self.marked and self.marked != cp.id:
            ids = [c.id for c in self.all_checkpoints]
            if self.marked in ids:
                # the list is newest first: the larger index is the older checkpoint
                older, newer = sorted([self.marked, cp.id], key=lambda i: -ids.index(i))
            else:
                older, newer = self.marked, cp.id
            self.app.push_screen(DiffScreen(self.project_id, older, newer))
        elif self.marked == cp.id:
            self.notify("this checkpoint is the marked one: select another to compare, or space to unmark",
                        severity="warning")
        else:
            self.app.push_screen(DiffScreen(self.project_id, cp.id, None))

    def action_files(self) -> None:
        from vmuser_tui.tui.screens.files import FilesScreen

        cp = self.selected_checkpoint()
        self.app.push_screen(FilesScreen(self.project_id, cp.id if cp else None))

    def action_log(self) -> None:
        from vmuser_tui.tui.screens.log import LogScreen

        self.app.push_screen(LogScreen(self.project_id))

    def action_container_logs(self) -> None:
        """``l``: the container output of the selected (or the running) session, followed."""
        session = self.selected_session()
        if session is None or not session.container_id:
            with_container = [s for s in self.sessions if s.container_id and s.status in WATCHED]
            if with_container:
                session = with_container[0]
        if session is None:
            self.notify(f"this project has no session: {self.key('project.start', 's')} starts one",
                        severity="warning")
            return
        if not session.container_id:
            self.notify(f"no container logs: session {session.id} has no container (runtime '{session.runtime}'); "
                        f"{self.key('project.start', 's')} starts a Docker session", severity="warning")
            return
        from vmuser_tui.tui.screens.container_logs import ContainerLogsScreen

        self.app.push_screen(ContainerLogsScreen(session))

    def action_copy(self) -> None:
        cp = self.selected_checkpoint()
        text = cp.id if cp else self.project_id
        self.app.copy_to_clipboard(text)
        self.notify(f"copied {text} (OSC 52)")

    # -- changes ----------------------------------------------------------------------
    def _checkpoint_target(self) -> str:
        session = self.selected_session()
        if session and session.status == "running":
            return session.id
        return self.project_id

    def action_checkpoint(self) -> None:
        if not self._may("checkpoint", "checkpoint"):
            return
        from vmuser_tui.tui.screens.prompt import PromptScreen

        def answer(description: str | None) -> None:
            if description is None:
                return
            target = self._checkpoint_target()
            progress = self.progress_callback()
            self.run_blocking(
                lambda: self.vm.checkpoints.create(target, description=description, progress=progress),
                self._checkpointed, group="write", task="checkpoint",
            )

        self.app.push_screen(PromptScreen("Checkpoint now", placeholder="description (optional)",
                                          hint="Enter: take the checkpoint   Esc: cancel"), answer)

    def _checkpointed(self, outcome) -> None:
        cp = outcome.checkpoint
        if outcome.created:
            self.notify(f"checkpoint {cp.id}: {cp.file_count} files, {human_size(outcome.new_bytes)} new"
                        + (f"; {len(outcome.skipped)} unreadable skipped" if outcome.skipped else "")
                        + "".join(f"; {note}" for note in outcome.notes))
        else:
            self.notify(f"nothing changed since {cp.id}; no checkpoint taken", title="Checkpoint")
        self.reload(select=cp.id)

    def action_tag(self) -> None:
        """``t``: add tags to the checkpoint (``-name`` removes one)."""
        if not self._may("tag", "tag"):
            return
        cp = self.require_checkpoint()
        if cp is None:
            return
        from vmuser_tui.tui.screens.prompt import PromptScreen

        def answer(text: str | None) -> None:
            if not text:
                return
            words = text.replace(",", " ").split()
            add = [w.lstrip("+") for w in words if not w.startswith("-") and w.lstrip("+")]
            remove = [w[1:] for w in words if w.startswith("-") and w[1:]]
            self.run_blocking(lambda: self.vm.checkpoints.tag(cp.id, add, remove), self._tagged, group="write")

        now = ", ".join(cp.tags) if cp.tags else "no tags"
        self.app.push_screen(PromptScreen(f"Tag checkpoint {cp.id} (now: {now})",
                                          placeholder="a tag to add, -tag to remove; several: space between",
                                          hint="Enter: apply   Esc: cancel", allow_empty=False), answer)

    def _tagged(self, cp: Checkpoint) -> None:
        self.notify(f"{cp.id}: " + (f"tags {', '.join(cp.tags)}" if cp.tags else "no tags now"), title="Tags")
        self.reload(select=cp.id)

    def action_annotate(self) -> None:
        """``a``: attach a label (shown on the timeline) and a note to the checkpoint."""
        if not self._may("annotate", "annotate"):
            return
        cp = self.require_checkpoint()
        if cp is None:
            return
        from vmuser_tui.tui.screens.annotate import AnnotateScreen

        def answer(result: tuple[str, str] | None) -> None:
            if not result:
                return
            label, note = result
            self.run_blocking(lambda: self.vm.checkpoints.annotate(cp.id, label, note),
                              lambda new: (self.notify(f"{new.id}: {NOTE}{label}", title="Annotated"),
                                           self.reload(select=new.id)), group="write")

        self.app.push_screen(AnnotateScreen(cp), answer)

    def action_restore(self) -> None:
        if not self._may("restore", "restore"):
            return
        cp = self.require_checkpoint()
        if cp is None:
            return
        restore_flow.restore(self, cp, head_id=self.project.head_checkpoint_id if self.project else None,
                             then=lambda _outcome: self.reload())

    def action_undo(self) -> None:
        if not self._may("undo", "undo"):
            return
        restore_flow.undo(self, self.project_id, then=lambda _outcome: self.reload())

    def _exec_session(self, *, quiet: bool = False) -> Session | None:
        """The session ``x`` and ``e`` work in: the selected one when it is a running
        container, else the first such; None (and, unless ``quiet``, a message) when none runs."""
        session = self.selected_session()
        if session and session.runtime == "docker" and session.status == "running":
            return session
        running = [s for s in self.sessions if s.runtime == "docker" and s.status == "running"]
        if running:
            return running[0]
        if not quiet:
            self.notify(f"no running container session: press {self.key('project.start', 's')} to start one",
                        severity="error")
        return None

    def action_exec(self) -> None:
        if not self._may("exec", "exec"):
            return
        session = self._exec_session()
        if session is None:
            return
        from vmuser_tui.tui.screens.output import OutputScreen
        from vmuser_tui.tui.screens.prompt import PromptScreen

        def answer(command: str | None) -> None:
            if not command:
                return
            argv = ["sh", "-c", command]

            def done(result) -> None:
                output = result.output.decode("utf-8", errors="replace")
                shown = redact_argv(argv)[2]  # the title may be on a shared screen: no secrets (core.redact)
                self.app.push_screen(OutputScreen(f"$ {clip(shown, 60)}  [{session.container_name}]", output,
                                                  exit_code=result.exit_code, duration=result.duration))
                self.reload()

            self.run_blocking(lambda: self.vm.sessions.exec(session.id, argv), done,
                              group="write", task=f"running in {session.id}")

        self.app.push_screen(PromptScreen(f"Run in {session.container_name}", placeholder="command, e.g. ls -la",
                                          hint="runs with sh -c in /workspace   Enter: run   Esc: cancel",
                                          allow_empty=False), answer)

    def action_start(self) -> None:
        if not self._may("start", "start session"):
            return
        from vmuser_tui.tui.screens.projects import start_session

        name = self.project.name if self.project else self.project_id
        start_session(self, self.project_id, name, after=self.reload)

    def action_stop(self) -> None:
        if not self._may("stop", "stop session"):
            return
        session = self.selected_session()
        if session is None or session.status not in ("created", "running", "paused"):
            self.notify("select a running session to stop (Tab moves to the sessions)", severity="warning")
            return
        from vmuser_tui.tui.screens.confirm import ConfirmScreen

        body = Text(f"Session {session.id} ({session.runtime}) stops.")
        if session.runtime == "docker":
            body.append(f"\nIts container {session.container_name} is stopped and removed: anything outside "
                        "/workspace inside it is lost. The workspace and checkpoints stay.")

        def answer(yes: bool | None) -> None:
            if yes:
                self.run_blocking(lambda: self.vm.sessions.stop(session.id),
                                  lambda s: (self.notify(f"session {s.id} stopped"), self.reload()),
                                  group="write", task=f"stopping {session.id}")

        self.app.push_screen(ConfirmScreen(f"Stop session {session.id}?", body, confirm_label="Stop"), answer)

    def action_shell(self) -> None:
        if not self._may("shell", "shell"):
            return
        session = self._exec_session()
        if session is None:
            return
        self.run_blocking(lambda: self.vm.sessions.shell_argv(session.id),
                          lambda argv: self._run_shell(argv, session), group="write")

    def _run_shell(self, argv: list[str], session: Session) -> None:
        import subprocess
        import sys
        import threading

        # The event loop waits for the shell, so its timers do too: renew the leases from
        # a thread meanwhile, or a long shell would lose the session to another client.
        stop = threading.Event()
        vm = self.vm

        def beat() -> None:
            while not stop.wait(HEARTBEAT):
                try:
                    vm.access.heartbeat()
                except Exception:  # noqa: BLE001, S110 - a busy database: the next beat tries again
                    pass

        beater = threading.Thread(target=beat, name="vmuser shell heartbeat", daemon=True)
        beater.start()
        try:
            with self.app.suspend():
                # the real terminal now: start the shell on a clean screen that says where it is
                sys.stdout.write(shell_banner(session.container_name or session.id))
                sys.stdout.flush()
                subprocess.call(argv)
        except Exception as exc:  # noqa: BLE001 - SuspendNotSupported (served over the web), no docker CLI
            self.notify(f"cannot open a shell here: {exc}", severity="error")
        finally:
            stop.set()
        self.reload()
