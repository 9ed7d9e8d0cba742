"""One project: its sessions (and who is attached to them), the live metrics of a running
session, and the checkpoint timeline; checkpoint, tag, annotate, diff, restore, undo,
browse files, container logs, run a command or open a shell in the container.

The screen composes widgets and routes their messages: :class:`SessionsPanel` (the
sessions table), :class:`MetricsPanel`, :class:`Timeline` (the checkpoints and events),
:class:`LeaseBanner` (who holds what); shared actions live in ``tui/flows``. The bindings
stay here, on the screen: they work whichever table has the focus, and the help screen and
``[keymap]`` list them under ``project.*``. That is why the module is over 600 lines: some 30
bindings, each action a few lines that check the write guard and hand off to a flow; moving
them into mixins would split one keymap across files without making any action simpler.

Opening the screen attaches this client to the project's running sessions (design.md
section 5; the policy is core's ``Access.reconcile``): read-write when nobody else holds
them, else read-only, with a banner that says who holds them and until when. Read-only for
a lease hides and refuses the changing actions, as the app's read-only mode does; once the
holder leaves, the screen becomes read-write by itself, and once the holder's lease expired
(it crashed, its SSH link dropped) ``T`` takes the session over (the core logs it). The
leases are renewed every ``vm.access.heartbeat_interval`` seconds and given back
when the screen closes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Header, Label, Static

from vmuser_tui.core.access import Attachment
from vmuser_tui.core.errors import NotFoundError, VmuserError
from vmuser_tui.core.models import Checkpoint, Project, Session
from vmuser_tui.core.search_query import SearchQuery
from vmuser_tui.tui.flows import checkpoint_edits
from vmuser_tui.tui.flows import checkpoints as checkpoint_flows
from vmuser_tui.tui.flows import engines as engine_flows
from vmuser_tui.tui.flows import leases as lease_flows
from vmuser_tui.tui.flows import lifecycle as lifecycle_flows
from vmuser_tui.tui.flows import restore as restore_flow
from vmuser_tui.tui.flows import sessions as session_flows
from vmuser_tui.tui.flows.custom_commands import CustomCommandsMixin
from vmuser_tui.tui.flows.project_view import Loaded, load_project
from vmuser_tui.tui.screens.base import VmuserScreen
from vmuser_tui.tui.styles import css
from vmuser_tui.tui.widgets.lazytable import LazyTable
from vmuser_tui.tui.widgets.lease_banner import LeaseBanner
from vmuser_tui.tui.widgets.metrics import MetricsPanel
from vmuser_tui.tui.widgets.project_info import ProjectInfo
from vmuser_tui.tui.widgets.sessions_panel import SessionsPanel
from vmuser_tui.tui.widgets.status import StatusLine
from vmuser_tui.tui.widgets.taskbar import TaskBar
from vmuser_tui.tui.widgets.timeline import Event, Timeline

if TYPE_CHECKING:  # pragma: no cover
    from vmuser_tui.core.leases import Lease
    from vmuser_tui.core.metrics import SessionMetrics
    from vmuser_tui.core.search import CheckpointMatch
    from vmuser_tui.core.service import Vmuser
    from vmuser_tui.tui.flows.custom_commands import Targets

#: Newest checkpoints loaded into the timeline (the CLI lists them all). The table draws
#: only the rows on screen; this bounds the memory the loaded rows take.
MAX_CHECKPOINTS = 20_000
#: Newest checkpoints loaded first when the screen opens (more than a screen shows); the
#: rest follow from a second load, so a 10,000-checkpoint timeline draws at once.
FIRST_PAGE = 200
#: Seconds between looks at who holds the sessions (a lease that expired writes nothing,
#: so it would go unnoticed between two commits).
HOLDERS_INTERVAL = 3.0
#: From this terminal height on, the metrics panel has a line per graph (else two lines).
FULL_METRICS_HEIGHT = 32
#: Changing actions on the whole project: refused while another client holds any of its sessions.
PROJECT_WRITES = frozenset({"checkpoint", "restore", "undo", "tag", "annotate", "start", "remove", "edit_project"})
#: Changing actions on one session: refused while another client holds that session.
SESSION_WRITES = frozenset({"exec", "shell", "stop", "pause", "move"})
#: guard_write labels that are not the action's name.
ACTION_OF_LABEL = {"start session": "start", "stop session": "stop", "pause session": "pause",
                   "edit project": "edit_project", "move session": "move"}
#: Session statuses a stop or a move applies to (``unreachable``: its engine did not answer).
ACTIVE = ("created", "running", "paused", "unreachable")


class ProjectScreen(CustomCommandsMixin, VmuserScreen):
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
        Binding("x", "exec", "Exec", tooltip="Run a command, its output live",
                id="project.exec"),
        Binding("e", "shell", "Shell", show=False, tooltip="Shell in the container",
                id="project.shell"),
        Binding("exclamation_mark", "shell", "Shell", key_display="!", show=False, id="project.shell"),
        Binding("t", "tag", "Tag", show=False, tooltip="Tag the checkpoint (-tag removes)",
                id="project.tag"),
        Binding("a", "annotate", "Annotate", show=False, tooltip="Annotate: a label, a note, tags",
                id="project.annotate"),
        Binding("d", "remove", "Remove", show=False, tooltip="Remove the checkpoint(s); asks first",
                id="project.remove"),
        Binding("E", "edit_project", "Edit project", show=False,
                tooltip="Edit name, description, image, tags", id="project.edit"),
        Binding("l", "container_logs", "Logs", show=False, tooltip="Container logs, followed",
                id="project.logs"),
        Binding("slash", "filter", "Search", key_display="/", show=False,
                tooltip="Search the timeline (words, \"phrase\", prefix*); tag:NAME or #NAME filters by tag",
                id="project.filter"),
        Binding("v", "events", "Events", show=False, tooltip="Session events in the timeline",
                id="project.events"),
        Binding("w", "scope", "Scope", show=False, tooltip="Timeline: whole project / session",
                id="project.scope"),
        Binding("M", "metrics", "Metrics", show=False, tooltip="Metrics panel on/off", id="project.metrics"),
        Binding("T", "takeover", "Take over", show=False, tooltip="Take over a session (lease expired)",
                id="project.takeover"),
        Binding("s", "start", "Start session", show=False, id="project.start"),
        Binding("S", "stop", "Stop session", show=False, id="project.stop"),
        Binding("p", "pause", "Pause/resume", show=False, tooltip="Pause or resume the session (docker pause)",
                id="project.pause"),
        Binding("o", "move", "Move to engine", show=False,
                tooltip="Move the session to another engine", id="project.move"),
        Binding("y", "copy", "Copy id", show=False, id="project.copy"),
        Binding("L", "log", "Operation log", show=False, id="project.log"),  # L on every screen (issue 12)
        Binding("ctrl+r", "refresh", "Refresh", show=False, id="project.refresh"),
    ]
    WRITE_ACTIONS = frozenset({"checkpoint", "restore", "undo", "exec", "start", "stop", "shell", "tag", "annotate",
                               "takeover", "pause", "remove", "edit_project", "move"})

    COMMAND_SCOPES = ("project", "session", "checkpoint")  # [[commands]] bound here

    def __init__(self, project_id: str) -> None:
        super().__init__()
        self.project_id = project_id
        self.project: Project | None = None
        self.metrics: dict[str, SessionMetrics] = {}
        self.env: dict[str, dict[str, str | None]] = {}  # by session: its variables, masked (Loaded.env)
        self.metrics_hidden = False
        self._select: str | None = None
        self._vm: Vmuser | None = None
        self._shown: dict[str, object] = {}  # what was drawn last, to skip redrawing the same
        self._timeline_had_focus = False  # it had the focus when an empty list hid it
        # the widgets, made here so that they (and what they hold) outlive the DOM: on_unmount reads them
        self.info = ProjectInfo(id="project-info", classes="nowrap")
        self.panel = SessionsPanel(id="sessions")
        self.timeline = Timeline(id="checkpoints")
        self.banner = LeaseBanner(id="lease-banner")
        self.leases = lease_flows.LeaseSync(self, self.banner, lambda: self.sessions, self._leases_passed)

    def compose(self) -> ComposeResult:
        yield Header()
        yield self.info
        yield self.banner
        yield Label("Sessions", id="sessions-title", classes="pane-title")
        yield self.panel
        yield MetricsPanel(id="metrics")
        yield Label("Checkpoints", id="timeline-title", classes="pane-title")
        yield self.timeline
        yield Static("", id="timeline-empty")
        yield TaskBar()
        yield StatusLine()
        yield Footer(compact=True)

    # -- what the widgets hold -----------------------------------------------------------
    @property
    def sessions(self) -> list[Session]:
        return self.panel.sessions

    @sessions.setter
    def sessions(self, sessions: list[Session]) -> None:
        self.panel.sessions = sessions

    @property
    def checkpoints(self) -> list[Checkpoint]:
        """The checkpoints the timeline shows (scope and tag filter applied), newest first."""
        return self.timeline.checkpoints

    @property
    def rows(self) -> list[Checkpoint | Event]:
        return self.timeline.rows

    @property
    def marked(self) -> str | None:
        return self.timeline.marked

    @property
    def branches(self) -> set[str]:
        return self.timeline.branches

    @property
    def scope(self) -> str:
        return self.timeline.scope

    @property
    def partial(self) -> bool:
        return self.timeline.partial

    @property
    def attached(self) -> dict[str, str]:
        """This client's mode per attached session (``rw``/``ro``)."""
        return self.banner.attachment.attached

    @property
    def held_by(self) -> dict[str, Lease]:
        """The sessions another client holds read-write."""
        return self.banner.attachment.held

    def on_mount(self) -> None:
        self._vm = self.vm  # kept for leaving, when the app may be gone
        self.sub_title = self.project_id
        self.query_one("#timeline-empty").display = False
        self.query_one("#metrics").display = False
        self.timeline.focus()
        self.panel.engines = len(self.vm.engine_names()) > 1  # config only: the Engine column
        self.set_interval(self.vm.access.heartbeat_interval, self.leases.heartbeat, name="lease heartbeat")
        self.set_interval(HOLDERS_INTERVAL, self._sync_leases, name="lease holders")

    def on_unmount(self) -> None:
        """Leave the sessions this screen attached to (the project list is not attached)."""
        attached = list(self.attached)
        self.banner.attachment = Attachment()
        lease_flows.leave_sessions(self.app, self._vm, attached)

    # -- data -------------------------------------------------------------------------
    def reload(self, select: str | None = None) -> None:
        """Reload in a worker; ``select`` puts the cursor on that checkpoint afterwards."""
        if select:
            self._select = select
        events = self.timeline.show_events
        searched = self._searched()

        def fetch(limit: int) -> Loaded:
            return load_project(self.vm, self.project_id, limit=limit, events=events, search=searched)

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

    def _searched(self) -> tuple[str, list[str]] | None:
        """The timeline's search as a reload does it again: ``(words, tags)``, None when off."""
        search, tag = self.timeline.search, self.timeline.tag_filter
        return (search.text, [tag] if tag else []) if search else None

    def _load_failed(self, err: VmuserError) -> None:
        if isinstance(err, NotFoundError):  # deleted meanwhile (e.g. by another process)
            self.notify(f"project {self.project_id} no longer exists", severity="warning")
            self.app.pop_screen()
            return
        self.show_error(err)

    def _loaded(self, data: Loaded, *, partial: bool = False) -> None:
        session = self.panel.selected()
        keep_session = session.id if session else None
        timeline = self.timeline
        keep_row = self._select or timeline.cursor_key()
        if not partial:  # a selection asked for may be in the rest
            self._select = None
        self.project, self.sessions = data.project, data.sessions
        limit = FIRST_PAGE if partial else MAX_CHECKPOINTS
        timeline.load(data.checkpoints[:limit], data.events, head=data.project.head_checkpoint_id,
                      total=data.project.checkpoints, partial=partial,
                      more=not partial and len(data.checkpoints) > MAX_CHECKPOINTS)
        if data.matches is not None and timeline.search is not None and data.search == self._searched():
            timeline.set_search(timeline.search, data.matches)  # (not when a search typed meanwhile is newer)
        self.metrics, self.env = data.metrics, data.env
        self.sub_title = f"{self.project.name} · {self.project.id}"
        self.info.show(self.project)
        self._show_sessions(keep_session)
        self._show_timeline(keep_row)
        self._show_leases()
        if not partial and (self.leases.first_pass or set(self.panel.watched()) != set(self.attached)):
            self._sync_leases()  # (who holds what is looked at every HOLDERS_INTERVAL anyway)

    # -- drawing ------------------------------------------------------------------------
    def _show_sessions(self, keep: str | None) -> None:
        self.panel.show(keep, self.size.width or self.app.size.width)
        self._sessions_title()

    def _sessions_title(self) -> None:
        title = self.panel.title(self.banner.attachment.holders, self.vm.access.client_id)
        if title != self._shown.get("sessions-title"):  # an update lays the screen out again
            self._shown["sessions-title"] = title
            self.query_one("#sessions-title", Label).update(title)

    def focus_session(self) -> Session | None:
        """The session the metrics and the attached line are about (see SessionsPanel)."""
        return self.panel.focus_session()

    def _show_metrics(self) -> None:
        panel = self.query_one("#metrics", MetricsPanel)
        session = self.focus_session()
        if session is None or self.metrics_hidden or session.id not in self.metrics:
            panel.display = False
            return
        compact = (self.app.size.height or 24) < FULL_METRICS_HEIGHT
        many = len(self.panel.watched()) > 1
        drawn = (session, self.metrics[session.id], compact, many)
        if drawn != self._shown.get("metrics") or not panel.display:  # (refresh_times redraws the ages)
            self._shown["metrics"] = drawn
            panel.show(session, self.metrics[session.id], compact=compact, many=many)
        panel.display = True

    def _show_timeline(self, keep: str | None) -> None:
        timeline = self.timeline
        timeline.show(keep)
        self._timeline_title()
        empty = self.query_one("#timeline-empty", Static)
        empty.update(timeline.empty_text())
        empty.display = not timeline.rows
        if not timeline.rows and self.focused is timeline:
            self._timeline_had_focus = True  # hiding it moves the focus on (to the sessions)
        timeline.display = bool(timeline.rows)
        if timeline.rows and self._timeline_had_focus:
            self._timeline_had_focus = False  # shown again: the keys act on it again
            timeline.focus()

    def _timeline_title(self) -> None:
        self.query_one("#timeline-title", Label).update(self.timeline.title())
        self._status()

    def refresh_times(self) -> None:
        self.panel.refresh_times()
        self.timeline.refresh_rows()  # rows on screen only: the cells call ago()
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

    def _status(self) -> None:
        """The status line: the selected session's details while the sessions table has
        the focus (its image among them), else the selected checkpoint's (or event's)."""
        session = self.panel.selected()
        if self.panel.has_focus and session is not None:
            message = self.panel.status_text(session, self.attached.get(session.id), self.env.get(session.id))
            if session.status == "paused":
                message += f" · {self.key('project.pause', 'p')}: resume"
        else:
            message = self.timeline.status_text()
        self.query_one(StatusLine).message = message

    # -- selection ----------------------------------------------------------------------
    def selected_session(self) -> Session | None:
        return self.panel.selected()

    def selected_checkpoint(self) -> Checkpoint | None:
        """The checkpoint under the timeline's cursor (None on an event row)."""
        return self.timeline.selected_checkpoint()

    def require_checkpoint(self) -> Checkpoint | None:
        return self.timeline.require_checkpoint()

    def command_targets(self) -> Targets:
        """For ``[[commands]]``: the selected session (a container command runs in the exec
        session: the selected one when it runs, else the running one) and checkpoint."""
        from vmuser_tui.tui.flows.custom_commands import Targets

        selected, running, cp = self.selected_session(), self.panel.exec_session(), self.selected_checkpoint()
        shown = selected or running
        return Targets(self.project_id, session_id=shown.id if shown else None,
                       exec_session_id=running.id if running else None, checkpoint_id=cp.id if cp else None)

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
        timeline = self.timeline
        if timeline.scope == "session":
            session = self.selected_session()
            if session and session.id != timeline.scope_session:
                timeline.scope_session = session.id
                self._show_timeline(None)

    # -- leases (the policy is core's Access.reconcile; the passes: flows/leases.py) ----
    def _sync_leases(self, take_over: str | None = None) -> None:
        if self.project is not None:
            self.leases.sync(take_over)

    def _leases_passed(self, restarted: bool) -> None:
        self._show_leases()
        if restarted:
            self.reload()

    def _show_leases(self) -> None:
        """The read-only banner, the attached line and which bindings show."""
        self.banner.show()
        if self.project is not None:
            self._sessions_title()
        self._refresh_bindings()

    def _refresh_bindings(self) -> None:
        """Refresh the footer's bindings when a lease changed what they allow: the footer
        is built again on every refresh (the screen reloads on every commit of any process)."""
        target = self.panel.exec_session()
        selected = self.selected_session()
        state = (tuple(sorted(self.held_by)), target.id if target else None, selected.id if selected else None)
        if state != self._shown.get("bindings"):
            self._shown["bindings"] = state
            self.refresh_bindings()

    # -- the write guard ----------------------------------------------------------------
    def standing_refusal(self, action: str) -> str | None:
        """Why ``action`` is refused because another client holds a session read-write
        (the banner's text), or None. Take over stays allowed: pressed with nothing to
        take over, it says so."""
        if action in PROJECT_WRITES:
            return self.banner.refusal(None)
        if action in SESSION_WRITES:
            session = self.selected_session() if action in ("stop", "pause", "move") else self.panel.exec_session()
            return self.banner.refusal(session.id) if session is not None else None
        return None

    def write_refusal(self, action: str) -> str | None:
        return super().write_refusal(action) or self.standing_refusal(ACTION_OF_LABEL.get(action, action))

    def action_takeover(self) -> None:
        """Take over a session whose read-write holder's lease expired (after a confirmation)."""
        if not self.refuse_read_only("take over"):
            focus = self.focus_session()
            lease_flows.confirm_takeover(self, self.held_by, focus.id if focus else None, self._sync_leases)

    # -- navigation -------------------------------------------------------------------
    def action_back(self) -> None:
        self.app.pop_screen()

    def action_refresh(self) -> None:
        self.reload()

    def action_scope(self) -> None:
        """``w``: the timeline of the whole project / of the selected session."""
        if self.timeline.scope == "project" and self.selected_session() is None:
            self.notify("no session to show: this project has none", severity="warning")
            return
        session = self.selected_session()
        self.timeline.toggle_scope(session.id if session else None)
        self._show_timeline(None)

    def action_filter(self) -> None:
        """``/``: search the timeline (words, "phrases", prefix*: full-text, best match first)
        and/or show only the checkpoints with a tag (``tag:NAME`` or ``#NAME``); an empty
        answer shows all."""
        timeline = self.timeline

        def apply(tag: str | None, query: SearchQuery | None) -> None:
            if query is None:
                timeline.tag_filter = tag
                timeline.set_search(None, [])
                self._show_timeline(None)
                return
            vm, project_id = self.vm, self.project_id

            def found(matches: list[CheckpointMatch]) -> None:
                timeline.tag_filter = tag
                timeline.set_search(query, matches)
                self._show_timeline(None)

            self.run_blocking(lambda: vm.checkpoints.search(project_id, query.text, tags=[tag] if tag else [],
                                                            limit=MAX_CHECKPOINTS), found, group="search")

        tags = sorted({t for cp in timeline.all_checkpoints for t in cp.tags})
        current = " ".join([*([f"tag:{timeline.tag_filter}"] if timeline.tag_filter else []),
                            *([timeline.search.text] if timeline.search else [])])
        checkpoint_flows.ask_timeline_filter(self, tags, current, apply)

    def action_events(self) -> None:
        """``v``: session events (exec, restore, tag, attach...) between the checkpoints, on/off."""
        timeline = self.timeline
        timeline.show_events = not timeline.show_events
        if timeline.show_events:
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
        self.timeline.toggle_mark(cp)
        self._timeline_title()

    def action_diff(self) -> None:
        cp = self.require_checkpoint()
        if cp is None:
            return
        from vmuser_tui.tui.screens.diff import DiffScreen

        pair = self.timeline.diff_pair(cp)
        if pair is None:
            self.notify("this checkpoint is the marked one: select another to compare, or space to unmark",
                        severity="warning")
        else:
            self.app.push_screen(DiffScreen(self.project_id, *pair))

    def action_files(self) -> None:
        from vmuser_tui.tui.screens.files import FilesScreen

        cp = self.selected_checkpoint()
        self.app.push_screen(FilesScreen(self.project_id, cp.id if cp else None))

    def action_log(self) -> None:
        from vmuser_tui.tui.screens.log import LogScreen

        self.app.push_screen(LogScreen(self.project_id))

    def action_container_logs(self) -> None:
        """``l``: the container output of the selected (or the running) session, followed."""
        session_flows.show_container_logs(self, self.selected_session(), self.sessions)

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

    def _select_after(self, checkpoint_id: str) -> None:
        self.reload(select=checkpoint_id)

    def action_checkpoint(self) -> None:
        if self.guard_write("checkpoint"):
            checkpoint_flows.take_checkpoint(self, self._checkpoint_target(), self._select_after)

    def action_tag(self) -> None:
        """``t``: add tags to the checkpoint (``-name`` removes one)."""
        if not self.guard_write("tag"):
            return
        cp = self.require_checkpoint()
        if cp is not None:
            checkpoint_flows.tag_checkpoint(self, cp, self._select_after)

    def action_annotate(self) -> None:
        """``a``: attach a label (shown on the timeline) and a note to the checkpoint."""
        if not self.guard_write("annotate"):
            return
        cp = self.require_checkpoint()
        if cp is not None:
            checkpoint_flows.annotate_checkpoint(self, cp, self._select_after)

    def action_remove(self) -> None:
        """``d``: remove the selected checkpoint, and the marked one with it (asks first)."""
        if not self.guard_write("remove"):
            return
        cp = self.require_checkpoint()
        if cp is None:
            return
        marked = [c for c in self.timeline.all_checkpoints if c.id == self.marked and c.id != cp.id]
        checkpoint_edits.remove_checkpoints(self, [*marked, cp], self.project.head_checkpoint_id if self.project
                                            else None, lambda _result: self.reload(select=cp.parent_id))

    def action_edit_project(self) -> None:
        """``E``: edit the project's name, description, image and tags."""
        if self.guard_write("edit project") and self.project is not None:
            checkpoint_edits.edit_project(self, self.project, lambda _project: self.reload())

    def action_restore(self) -> None:
        if not self.guard_write("restore"):
            return
        cp = self.require_checkpoint()
        if cp is None:
            return
        restore_flow.restore(self, cp, head_id=self.project.head_checkpoint_id if self.project else None,
                             then=lambda _outcome: self.reload())

    def action_undo(self) -> None:
        if not self.guard_write("undo"):
            return
        restore_flow.undo(self, self.project_id, then=lambda _outcome: self.reload())

    def _exec_session(self) -> Session | None:
        """The running container session exec and shell work in, or None (and a message)."""
        session = self.panel.exec_session()
        selected = self.selected_session()
        if session is None and selected is not None and selected.status == "paused":
            self.notify(f"session {selected.id} is paused: press {self.key('project.pause', 'p')} to resume it",
                        severity="error")
        elif session is None:
            self.notify(f"no running container session: press {self.key('project.start', 's')} to start one",
                        severity="error")
        return session

    def action_exec(self) -> None:
        session = self._exec_session() if self.guard_write("exec") else None
        if session is not None:
            session_flows.exec_command(self, session, after=self.reload)

    def action_shell(self) -> None:
        session = self._exec_session() if self.guard_write("shell") else None
        if session is not None:
            session_flows.open_shell(self, session, after=self.reload)

    def _run_shell(self, argv: list[str], session: Session) -> None:
        session_flows.run_shell(self, argv, session, after=self.reload)

    def action_start(self) -> None:
        if self.guard_write("start session"):
            name = self.project.name if self.project else self.project_id
            session_flows.start_session(self, self.project_id, name, after=self.reload,
                                        engine=self.project.engine if self.project else "local")

    def action_pause(self) -> None:
        """``p``: pause the selected session (docker pause), or resume it when it is paused."""
        if not self.guard_write("pause session"):
            return
        session = self.selected_session()
        if session is None or session.runtime != "docker" or session.status not in lifecycle_flows.PAUSABLE:
            self.notify("select a running or paused container session to pause or resume (Tab moves to the "
                        "sessions)", severity="warning")
            return
        lifecycle_flows.toggle_pause(self, session, after=self.reload)

    def action_stop(self) -> None:
        if not self.guard_write("stop session"):
            return
        session = self.selected_session()
        if session is None or session.status not in ACTIVE:
            self.notify("select a running session to stop (Tab moves to the sessions)", severity="warning")
            return
        session_flows.stop_session(self, session, after=self.reload)

    def action_move(self) -> None:
        """``o``: move the selected session to another Docker engine (pick, confirm, move)."""
        if not self.guard_write("move session"):
            return
        session = self.selected_session()
        if session is None:
            self.notify(f"no session to move: {self.key('project.start', 's')} starts one", severity="warning")
            return
        name = self.project.name if self.project else self.project_id
        engine_flows.move_session(self, session, name, after=self.reload)
