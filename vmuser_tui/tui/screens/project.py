"""One project: its sessions and its checkpoint timeline; checkpoint, diff, restore, undo,
browse files, run a command in the container."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Header, Label, Static

from vmuser_tui.core.errors import NotFoundError
from vmuser_tui.core.models import Checkpoint, Project, Session
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
from vmuser_tui.tui.widgets.status import StatusLine
from vmuser_tui.tui.widgets.tables import TIME_WIDTH, Fit, cell_width, refill, set_columns, table_width
from vmuser_tui.tui.widgets.taskbar import TaskBar

KIND_STYLE = {"manual": "bold", "auto": "dim", "pre-restore": "yellow"}
HEAD = "●"
#: Newest checkpoints loaded into the timeline (the CLI lists them all). The table draws
#: only the rows on screen; this bounds the memory the loaded rows take.
MAX_CHECKPOINTS = 20_000
#: Newest checkpoints loaded first when the screen opens (more than a screen shows); the
#: rest follow from a second load, so a 10,000-checkpoint timeline draws at once.
FIRST_PAGE = 200
MARK = "✓"
DESC_MIN = 16  # characters of a description kept before its tags are cut
#: The sessions table's columns; Image only where it fits whole (else: the status line).
SESSION_COLUMNS = (("Id", "id"), ("Status", "status"), ("Runtime", "runtime"), ("Container", "container"),
                   ("Started", "started"), ("Cps", "cps"))
IMAGE_COLUMN = ("Image", "image")


def describe(cp: Checkpoint, width: int = 38) -> Text:
    """Description and tags in one cell of at most ``width`` characters: ``Add notes [edit]``.

    Tags keep both brackets (``[bu…]``), cut before the description is cut below
    ``DESC_MIN`` characters; when even that does not fit, the tags go."""
    desc = " ".join((cp.description or "-").split())
    if not cp.tags:
        return Text(clip(desc, width))
    inner = ",".join(cp.tags)
    tags = f"[{inner}]"
    if len(desc) + 1 + len(tags) <= width:
        return Text.assemble(desc, " ", (tags, "cyan"))
    room = width - 1 - min(len(desc), DESC_MIN)  # what the tags may have
    if room >= len(tags):
        shown = tags
    elif room >= 4:  # "[b…]"
        shown = f"[{clip(inner, room - 2)}]"
    else:
        return Text(clip(desc, width))
    return Text.assemble(clip(desc, width - 1 - len(shown)), " ", (shown, "cyan"))


def timeline_columns(checkpoints: list[Checkpoint]) -> list[Column]:
    """The timeline's columns, sized from the data without rendering a row; the
    description (and its tags) gets what the others leave."""
    oldest = min((cp.created_at for cp in checkpoints), default=None)  # ISO times sort as text
    natural = max((len(cp.description or "-") + (len(",".join(cp.tags)) + 3 if cp.tags else 0)
                   for cp in checkpoints), default=0)
    return [
        Column("marks", "", 2),
        Column("id", "Id", text_width((cp.id for cp in checkpoints), floor=2)),
        Column("when", "When", max(TIME_WIDTH, len(ago(oldest)))),
        Column("kind", "Kind", text_width({cp.kind for cp in checkpoints}, floor=4)),
        Column("files", "Files", max(5, len(str(max((cp.file_count for cp in checkpoints), default=0))))),
        Column("description", Text("Description [tags]"), max(natural, len("Description [tags]")), flex=True,
               min_width=12),
    ]


def shell_banner(container: str) -> str:
    """What the terminal shows before ``!``'s shell starts: a cleared screen and one line."""
    return f"\x1b[H\x1b[2Jvmuser: shell in {container} — exit to return\n"


class ProjectScreen(VmuserScreen):
    """Sessions on top, the checkpoint timeline (newest first) below. The timeline shows
    the whole project by default; ``t`` limits it to the selected session."""

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
        Binding("x", "exec", "Exec", id="project.exec"),
        Binding("t", "scope", "Scope", show=False, id="project.scope"),
        Binding("s", "start", "Start session", show=False, id="project.start"),
        Binding("S", "stop", "Stop session", show=False, id="project.stop"),
        Binding("exclamation_mark", "shell", "Shell in container", key_display="!", show=False, id="project.shell"),
        Binding("y", "copy", "Copy id", show=False, id="project.copy"),
        Binding("l", "log", "Operation log", show=False, id="project.log"),
        Binding("ctrl+r", "refresh", "Refresh", show=False, id="project.refresh"),
    ]
    WRITE_ACTIONS = frozenset({"checkpoint", "restore", "undo", "exec", "start", "stop", "shell"})

    def __init__(self, project_id: str) -> None:
        super().__init__()
        self.project_id = project_id
        self.project: Project | None = None
        self.sessions: list[Session] = []
        self.checkpoints: list[Checkpoint] = []
        self.scope = "project"  # or "session"
        self.scope_session: str | None = None
        self.marked: str | None = None
        self.more = False
        self.partial = False  # only the newest FIRST_PAGE are loaded yet (the rest are on their way)
        self._select: str | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="project-info", classes="nowrap")
        yield Label("Sessions", id="sessions-title", classes="pane-title")
        yield DataTable(id="sessions", cursor_type="row", zebra_stripes=True)
        yield Label("Checkpoints", id="timeline-title", classes="pane-title")
        yield LazyTable(timeline_columns([]), self._timeline_cells, lambda cp: cp.id, id="checkpoints")
        yield Static("", id="timeline-empty")
        yield TaskBar()
        yield StatusLine()
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.sub_title = self.project_id
        set_columns(self.query_one("#sessions", DataTable), SESSION_COLUMNS)
        timeline = self.query_one("#checkpoints", LazyTable)
        self.query_one("#timeline-empty").display = False
        timeline.focus()

    # -- data -------------------------------------------------------------------------
    def reload(self, select: str | None = None) -> None:
        """Reload in a worker; ``select`` puts the cursor on that checkpoint afterwards."""
        if select:
            self._select = select
        scope, session_id = self.scope, self.scope_session

        def fetch(limit: int):
            project = self.vm.projects.get(self.project_id)
            sessions = self.vm.sessions.list(project.id)
            ref = session_id if scope == "session" and session_id else project.id
            return project, sessions, self.vm.checkpoints.list(ref, limit=limit + 1)

        def everything() -> None:
            self.run_blocking(lambda: fetch(MAX_CHECKPOINTS), self._loaded, failed=self._load_failed)

        if self.project is not None:
            everything()
            return

        def first(data) -> None:
            if len(data[2]) <= FIRST_PAGE:  # that was all of them
                self._loaded(data)
                return
            self._loaded(data, partial=True)
            # after that page is drawn: the big load would otherwise take the GIL from the first frame
            self.call_after_refresh(everything)

        # opening: the newest page first, drawn while the rest loads
        self.run_blocking(lambda: fetch(FIRST_PAGE), first, failed=self._load_failed)

    def _load_failed(self, err) -> None:
        if isinstance(err, NotFoundError):  # deleted meanwhile (e.g. by another process)
            self.notify(f"project {self.project_id} no longer exists", severity="warning")
            self.app.pop_screen()
            return
        self.show_error(err)

    def _loaded(self, data, *, partial: bool = False) -> None:
        session, checkpoint = self.selected_session(), self.selected_checkpoint()
        keep_session = session.id if session else None
        keep_checkpoint = self._select or (checkpoint.id if checkpoint else None)
        if not partial:  # a selection asked for may be in the rest
            self._select = None
        self.project, self.sessions, self.checkpoints = data
        limit = FIRST_PAGE if partial else MAX_CHECKPOINTS
        self.partial = partial
        self.more = not partial and len(self.checkpoints) > MAX_CHECKPOINTS
        self.checkpoints = self.checkpoints[:limit]
        self.sub_title = f"{self.project.name} · {self.project.id}"
        self._show_info()
        self._show_sessions(keep_session)
        self._show_timeline(keep_checkpoint)

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
        line2.append(f"{'workspace' if p.managed else 'workspace (in place)'} {p.workspace}")
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
                     ago(s.started_at or s.created_at), str(s.checkpoints)]
            return cells + [Text(s.image or "-")] if image else cells

        # the Image column only when every column fits whole; else the status line shows it
        columns = (*SESSION_COLUMNS, IMAGE_COLUMN)
        full = [row(s, True) for s in self.sessions]
        natural = [max([cell_width(label), TIME_WIDTH if key == "started" else 0, *(cell_width(r[i]) for r in full)])
                   for i, (label, key) in enumerate(columns)]
        needed = sum(natural) + 2 * table.cell_padding * len(natural)
        self.image_column = bool(full) and needed <= table_width(table, width, len(full))
        set_columns(table, (*SESSION_COLUMNS, IMAGE_COLUMN) if self.image_column else SESSION_COLUMNS)
        refill(table, ((row(s, self.image_column), s.id) for s in self.sessions), width=width,
               minimum={"started": TIME_WIDTH})
        if keep and any(s.id == keep for s in self.sessions):
            table.move_cursor(row=[s.id for s in self.sessions].index(keep), animate=False)
        running = sum(1 for s in self.sessions if s.status == "running")
        title = f"Sessions ({running} running, {len(self.sessions)} total)" if self.sessions else "Sessions: none (s starts one)"
        self.query_one("#sessions-title", Label).update(Text(title))
        table.display = bool(self.sessions)

    def _timeline_cells(self, cp: Checkpoint, widths: dict[str, int]) -> list:
        """One timeline row, made only when it is drawn."""
        head = self.project.head_checkpoint_id if self.project else None
        return [self._marks(cp, head), Text(cp.id, style="bold" if cp.id == head else ""), ago(cp.created_at),
                Text(cp.kind, style=KIND_STYLE.get(cp.kind, "")), str(cp.file_count),
                describe(cp, widths["description"])]

    def _show_timeline(self, keep: str | None) -> None:
        table = self.query_one("#checkpoints", LazyTable)
        if keep is None:
            cp = self.selected_checkpoint()
            keep = cp.id if cp else None
        table.set_columns(timeline_columns(self.checkpoints))
        table.set_rows(self.checkpoints, cursor_key=keep)
        if self.marked and table.index_of(self.marked) is None:
            self.marked = None
        self._timeline_title()
        empty = self.query_one("#timeline-empty", Static)
        empty.update("No checkpoints yet. Press c to take one." if self.scope == "project"
                     else "This session has no checkpoints. t shows the whole project.")
        empty.display = not self.checkpoints
        table.display = bool(self.checkpoints)

    def _marks(self, cp: Checkpoint, head: str | None) -> Text:
        text = Text()
        text.append(MARK if cp.id == self.marked else " ", style="bold magenta")
        text.append(HEAD if cp.id == head else " ", style="bold green")
        return text

    def _timeline_title(self) -> None:
        where = "whole project" if self.scope == "project" else f"session {self.scope_session}"
        if self.partial and self.project is not None:
            count = f"newest {len(self.checkpoints)} of {self.project.checkpoints}, loading the rest…"
        else:
            count = f"newest {len(self.checkpoints)}" if self.more else str(len(self.checkpoints))
        title = Text(f"Checkpoints · {where} ({count}) · ")
        title.append(f"{HEAD} head", style="green")
        title.append("  ")
        title.append(f"{MARK} marked" + (f" {self.marked}" if self.marked else ""), style="magenta")
        self.query_one("#timeline-title", Label).update(title)
        self._status()

    def refresh_times(self) -> None:
        sessions = self.query_one("#sessions", DataTable)
        for s in self.sessions:
            sessions.update_cell(s.id, "started", ago(s.started_at or s.created_at))
        self.query_one("#checkpoints", LazyTable).refresh_rows()  # rows on screen only: the cells call ago()

    def on_resize(self) -> None:
        if self.project is not None:  # columns are fitted to the width: fit them again (the timeline fits itself)
            self._show_sessions(None)

    def on_descendant_focus(self) -> None:
        self._status()

    def _session_status(self, session: Session) -> str:
        msg = f"session {session.id} · {session.status} · {session.runtime}"
        if session.image:
            msg += f" · image {session.image}"
        if session.container_name:
            msg += f" · {session.container_name}"
        return msg + f" · started {short_time(session.started_at or session.created_at)} UTC"

    def _status(self) -> None:
        """The status line: the selected session's details while the sessions table has
        the focus (its image among them), else the selected checkpoint's, else how
        marking works."""
        sessions = self.query_one("#sessions", DataTable)
        session = self.selected_session()
        if sessions.has_focus and session is not None:
            self.query_one(StatusLine).message = self._session_status(session)
            return
        cp = self.selected_checkpoint()
        if cp is None:
            mark, diff = self.key("project.mark", "space"), self.key("project.diff", "D")
            msg = f"{mark}: mark · {diff}: diff marked → selected, or selected → workspace"
        else:
            msg = f"{cp.id} · {short_time(cp.created_at)} UTC · {cp.file_count} files, {human_size(cp.total_size)}"
            if cp.parent_id:
                msg += f" · parent {cp.parent_id}"
            if self.marked and self.marked != cp.id:
                msg += f" · {self.key('project.diff', 'D')}: diff with marked"
        self.query_one(StatusLine).message = msg

    def selected_session(self) -> Session | None:
        table = self.query_one("#sessions", DataTable)
        if not self.sessions or table.cursor_row is None or table.cursor_row >= len(self.sessions):
            return None
        return self.sessions[table.cursor_row]

    def selected_checkpoint(self) -> Checkpoint | None:
        table = self.query_one("#checkpoints", LazyTable)
        if not self.checkpoints or table.cursor_row >= len(self.checkpoints):
            return None
        return self.checkpoints[table.cursor_row]

    def require_checkpoint(self) -> Checkpoint | None:
        cp = self.selected_checkpoint()
        if cp is None:
            self.notify("no checkpoint selected; press c to take one", severity="warning")
        return cp

    def on_lazy_table_row_highlighted(self, event: LazyTable.RowHighlighted) -> None:
        self._status()  # the timeline's

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.has_focus:
            self._status()
        if event.data_table.id == "sessions" and self.scope == "session":
            session = self.selected_session()
            if session and session.id != self.scope_session:
                self.scope_session = session.id
                self.reload()

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
        self.reload()

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
            ids = [c.id for c in self.checkpoints]
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
        if not self.can_write("checkpoint"):
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
                        + (f"; {len(outcome.skipped)} unreadable skipped" if outcome.skipped else ""))
        else:
            self.notify(f"nothing changed since {cp.id}; no checkpoint taken", title="Checkpoint")
        self.reload(select=cp.id)

    def action_restore(self) -> None:
        if not self.can_write("restore"):
            return
        cp = self.require_checkpoint()
        if cp is None:
            return
        from vmuser_tui.tui.screens.restore_confirm import RestoreConfirmScreen

        def answer(yes: bool | None) -> None:
            if not yes:
                return
            progress = self.progress_callback()
            self.run_blocking(lambda: self.vm.checkpoints.restore(cp.id, progress=progress), self._restored,
                              group="write", task=f"restoring {cp.id}")

        self.app.push_screen(RestoreConfirmScreen(cp, self.project.head_checkpoint_id if self.project else None), answer)

    def _restored(self, outcome) -> None:
        r = outcome.result
        pre = outcome.pre_restore
        saved = (f"workspace saved first as {pre.id}" if pre.kind == "pre-restore"
                 else f"workspace was unchanged since {pre.id}")
        undo = self.key("project.undo", "u")
        short = f"restored {outcome.checkpoint.id}: {outcome.summary()}; {undo} undoes"
        notes = [f"{saved}; {undo} undoes"]
        if r.refused:
            short = f"restored {outcome.checkpoint.id}; {len(r.refused)} path(s) refused"
            notes.append(f"{len(r.refused)} path(s) refused: " + ", ".join(p for p, _ in r.refused[:20]))
        self.app.notify(short, title="Restore", severity="warning" if r.refused else "information",
                        details="\n".join(notes))
        self.reload()

    def action_undo(self) -> None:
        if not self.can_write("undo"):
            return
        self.run_blocking(lambda: self.vm.checkpoints.last_restore(self.project_id), self._confirm_undo, group="write")

    def _confirm_undo(self, last: dict | None) -> None:
        if last is None:
            self.notify("this project has no restore to undo", severity="warning")
            return
        from vmuser_tui.tui.screens.confirm import ConfirmScreen

        details = last.get("details", {})
        body = Text()
        body.append(f"The last restore ({ago(last.get('at'))}) restored {details.get('checkpoint')}.\n")
        body.append("Undo brings back the workspace as it was before, checkpoint ")
        body.append(str(details.get("pre_restore")), style="bold")
        if details.get("paths"):
            body.append(f" (only {', '.join(details['paths'][:3])})")
        body.append(".\n\nThe current workspace is saved first as well, so u again redoes it.")

        def answer(yes: bool | None) -> None:
            if yes:
                progress = self.progress_callback()
                self.run_blocking(lambda: self.vm.checkpoints.undo_restore(self.project_id, progress=progress),
                                  self._restored, group="write", task="undoing the restore")

        self.app.push_screen(ConfirmScreen("Undo the last restore?", body, confirm_label="Undo"), answer)

    def _exec_session(self) -> Session | None:
        session = self.selected_session()
        if session and session.runtime == "docker" and session.status == "running":
            return session
        running = [s for s in self.sessions if s.runtime == "docker" and s.status == "running"]
        if running:
            return running[0]
        self.notify("no running container session: press s to start one", severity="error")
        return None

    def action_exec(self) -> None:
        if not self.can_write("exec"):
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
                self.app.push_screen(OutputScreen(f"$ {clip(command, 60)}  [{session.container_name}]", output,
                                                  exit_code=result.exit_code, duration=result.duration))
                self.reload()

            self.run_blocking(lambda: self.vm.sessions.exec(session.id, argv), done,
                              group="write", task=f"running in {session.id}")

        self.app.push_screen(PromptScreen(f"Run in {session.container_name}", placeholder="command, e.g. ls -la",
                                          hint="runs with sh -c in /workspace   Enter: run   Esc: cancel",
                                          allow_empty=False), answer)

    def action_start(self) -> None:
        if not self.can_write("start session"):
            return
        from vmuser_tui.tui.screens.projects import start_session

        name = self.project.name if self.project else self.project_id
        start_session(self, self.project_id, name, after=self.reload)

    def action_stop(self) -> None:
        if not self.can_write("stop session"):
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
        if not self.can_write("shell"):
            return
        session = self._exec_session()
        if session is None:
            return
        self.run_blocking(lambda: self.vm.sessions.shell_argv(session.id),
                          lambda argv: self._run_shell(argv, session), group="write")

    def _run_shell(self, argv: list[str], session: Session) -> None:
        import subprocess
        import sys

        try:
            with self.app.suspend():
                # the real terminal now: start the shell on a clean screen that says where it is
                sys.stdout.write(shell_banner(session.container_name or session.id))
                sys.stdout.flush()
                subprocess.call(argv)
        except Exception as exc:  # noqa: BLE001 - SuspendNotSupported (served over the web), no docker CLI
            self.notify(f"cannot open a shell here: {exc}", severity="error")
        self.reload()
