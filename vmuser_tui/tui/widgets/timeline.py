"""The checkpoint timeline of a project: checkpoints newest first (head, marked and branch
marks; description, tags and annotation label in one cell) and, on demand, the session
events of the operation log between them; or, while a full-text search is on, the
checkpoints it found, best match first, the matched words highlighted.

:class:`Timeline` is the table (a :class:`LazyTable`: rows are rendered only when drawn).
It owns what it shows -- the loaded checkpoints and events, the scope (whole project or one
session), the tag filter, the marked checkpoint -- and renders its rows, title line and
empty-table hint; the screen gives it data (:meth:`Timeline.load`) and reads the selection.
Moving the cursor posts LazyTable's ``RowHighlighted`` (the selection message).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise
from typing import TYPE_CHECKING, cast

from rich.text import Text

from vmuser_tui.core.models import Checkpoint
from vmuser_tui.core.search_query import MARK_OPEN, SearchQuery, with_marks
from vmuser_tui.core.text import printable
from vmuser_tui.tui.widgets.cells import ago, clip, human_size, short_time
from vmuser_tui.tui.widgets.highlight import highlight, marked_text
from vmuser_tui.tui.widgets.lazytable import Column, LazyTable, text_width
from vmuser_tui.tui.widgets.tables import TIME_WIDTH

if TYPE_CHECKING:  # pragma: no cover
    from vmuser_tui.core.search import CheckpointMatch
    from vmuser_tui.core.service import Vmuser
    from vmuser_tui.tui.app import VmuserApp

KIND_STYLE = {"manual": "bold", "auto": "dim", "pre-restore": "yellow"}
HEAD = "●"
MARK = "✓"
BRANCH = "↱"  # a checkpoint that starts a new line of work (its parent is not the one before it)
NOTE = "✎"  # an annotation's label
DESC_MIN = 16  # characters of a description kept before its tags are cut
#: Newest operation-log entries read for the session events of the timeline (``v``).
EVENTS_LIMIT = 1000
#: Operations shown as session events between checkpoints, with their short kind.
EVENT_KINDS = {
    "session.exec": "exec", "checkpoint.restore": "restore", "checkpoint.tag": "tag",
    "checkpoint.annotate": "annotate", "session.attach": "attach", "session.detach": "detach",
    "lease.takeover": "take-over", "session.start": "start", "session.stop": "stop",
    "checkpoint.rm": "remove",
}

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
        shown = [(f, style) for f, (_, _, style) in zip(full, extras, strict=True)]
    else:
        room = width - min(len(desc), DESC_MIN)  # what the extras may have, a space before each
        shown = []
        for (kind, value, style), whole in zip(extras, full, strict=True):
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
    elif op == "checkpoint.annotate" and d.get("action") == "remove":
        text = f"removed the annotation {NOTE}{d.get('label', '')} of {d.get('checkpoint')} · {who}"
    elif op == "checkpoint.annotate":
        text = f"annotated {d.get('checkpoint')}: {NOTE}{d.get('label', '')} · {who}"
    elif op == "checkpoint.rm":
        gone = d.get("checkpoints") or []
        text = f"removed {', '.join(str(c) for c in gone[:3])}"
        if len(gone) > 3:
            text += f" and {len(gone) - 3} more"
        if d.get("head"):
            text += f" (head moved to {d['head'].get('to') or 'none'})"
        text += f" · {who}"
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


def _key(item: Event | Checkpoint) -> str:
    return item.key if isinstance(item, Event) else item.id


def _when(item: Event | Checkpoint) -> str:
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


def fetch_events(vm: Vmuser, project_id: str, session_ids: list[str]) -> list[Event]:
    """The project's session events, newest first (blocking: a worker's job). A take-over
    is logged under the lease's name only, so those are read apart and matched by session."""
    rows = [e for e in vm.log(project=project_id, limit=EVENTS_LIMIT) if e["operation"] in EVENT_KINDS]
    rows += vm.access.takeovers(session_ids, limit=200)
    rows.sort(key=lambda e: (e["at"], e["id"]), reverse=True)
    return [Event.from_entry(e) for e in rows]


class Timeline(LazyTable):
    """The timeline table (newest first). State it owns: ``all_checkpoints`` (loaded),
    ``checkpoints`` (shown: scope and tag filter applied), ``rows`` (checkpoints and, with
    ``show_events``, events), ``branches``, ``marked``, ``scope`` (``project`` or
    ``session``) with ``scope_session``, ``tag_filter``; ``head`` (the project's head
    checkpoint id), ``total`` (the project's checkpoint count), ``partial`` (only a first
    page is loaded yet) and ``more`` (more checkpoints than were loaded)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(timeline_columns([]), self._cells, _key, id=id)
        self.all_checkpoints: list[Checkpoint] = []
        self.checkpoints: list[Checkpoint] = []
        self.rows: list[Checkpoint | Event] = []
        self.events: list[Event] = []
        self.branches: set[str] = set()
        self.marked: str | None = None
        self.scope = "project"  # or "session"
        self.scope_session: str | None = None
        self.tag_filter: str | None = None
        #: the full-text search on (None: off) and what it found, best first (by checkpoint id)
        self.search: SearchQuery | None = None
        self.matches: dict[str, CheckpointMatch] = {}
        self.show_events = False
        self.head: str | None = None
        self.total = 0
        self.partial = False
        self.more = False

    def _key_of(self, binding_id: str, default: str) -> str:
        return cast("VmuserApp", self.app).key(binding_id, default)

    # -- data ---------------------------------------------------------------------------
    def load(self, checkpoints: list[Checkpoint], events: list[Event] | None, *, head: str | None, total: int,
             partial: bool, more: bool) -> None:
        """Take a new load (``events`` None: not read, keep those loaded); :meth:`show` draws it."""
        self.partial, self.more, self.head, self.total = partial, more, head, total
        self.all_checkpoints = checkpoints
        self.branches = branch_points(checkpoints)
        if events is not None:
            self.events = events
        if self.marked and not any(cp.id == self.marked for cp in checkpoints) and not partial:
            self.marked = None  # forgotten meanwhile

    def cursor_key(self) -> str | None:
        """The row key under the cursor (None when empty)."""
        return self.row_key(self.cursor_row) if self.rows else None

    def _build_rows(self) -> None:
        """The rows from what is loaded: scope, tag filter, events."""
        cps = self.all_checkpoints
        if self.search is not None:  # best match first, from the whole project (not only what is loaded)
            cps = [m.checkpoint for m in self.matches.values()]
        if self.scope == "session" and self.scope_session:
            cps = [cp for cp in cps if cp.session_id == self.scope_session]
        if self.tag_filter:
            cps = [cp for cp in cps if self.tag_filter in cp.tags]
        self.checkpoints = cps
        if not self.show_events or self.tag_filter or self.search is not None:
            self.rows = cast("list[Checkpoint | Event]", cps)  # the same list: no copy of 20,000 rows
            return
        events = self.events
        if self.scope == "session" and self.scope_session:
            events = [e for e in events if e.session_id in (None, self.scope_session)]
        oldest = cps[-1].created_at if (self.more or self.partial) and cps else ""
        events = [e for e in events if e.at >= oldest]  # none below the oldest loaded checkpoint
        # newest first; the sort is stable, so equal times keep their loaded order
        self.rows = sorted([*cps, *events], key=_when, reverse=True)

    def show(self, keep: str | None) -> None:
        """Rebuild the rows and draw them; the cursor stays on ``keep`` (default: the row under it)."""
        if keep is None and self.rows:
            keep = self.row_key(self.cursor_row)
        self._build_rows()
        self.set_columns(timeline_columns(self.rows))
        self.set_rows(self.rows, cursor_key=keep)

    def toggle_scope(self, session_id: str | None) -> None:
        """Whole project -> the session ``session_id`` -> whole project (:meth:`show` draws it)."""
        if self.scope == "project" and session_id:
            self.scope, self.scope_session = "session", session_id
        else:
            self.scope, self.scope_session = "project", None

    def set_search(self, query: SearchQuery | None, matches: list[CheckpointMatch]) -> None:
        """Search on (``query`` and what it found, best first) or off (None); :meth:`show` draws it."""
        self.search = query
        self.matches = {m.checkpoint.id: m for m in matches} if query is not None else {}

    def toggle_mark(self, cp: Checkpoint) -> None:
        self.marked = None if self.marked == cp.id else cp.id
        self.refresh_rows()  # the marks column

    def diff_pair(self, cp: Checkpoint) -> tuple[str, str | None] | None:
        """What ``D`` on ``cp`` compares: ``(older, newer)`` with the marked checkpoint,
        ``(cp, None)`` (against the workspace) when none is marked; None when ``cp`` is the
        marked one."""
        marked = self.marked
        if not marked:
            return cp.id, None
        if marked == cp.id:
            return None
        ids = [c.id for c in self.all_checkpoints]
        if marked not in ids:
            return marked, cp.id
        # the list is newest first: the larger index is the older checkpoint
        older, newer = sorted([marked, cp.id], key=lambda i: -ids.index(i))
        return older, newer

    # -- selection ----------------------------------------------------------------------
    def selected_row(self) -> Checkpoint | Event | None:
        if not self.rows or self.cursor_row >= len(self.rows):
            return None
        return self.rows[self.cursor_row]

    def selected_checkpoint(self) -> Checkpoint | None:
        """The checkpoint under the cursor (None on an event row)."""
        item = self.selected_row()
        return item if isinstance(item, Checkpoint) else None

    def require_checkpoint(self) -> Checkpoint | None:
        """The selected checkpoint, or None and a warning that says what to do."""
        cp = self.selected_checkpoint()
        if cp is None:
            if isinstance(self.selected_row(), Event):
                self.notify(f"an event is selected: move to a checkpoint ({self._key_of('project.events', 'v')} "
                            "hides the events)", severity="warning")
            else:
                self.notify(f"no checkpoint selected; press {self._key_of('project.checkpoint', 'c')} to take one",
                            severity="warning")
        return cp

    # -- rendering ----------------------------------------------------------------------
    def _cells(self, item: Checkpoint | Event, widths: dict[str, int]) -> list:
        """One row, made only when it is drawn."""
        if isinstance(item, Event):
            return [Text(""), Text(""), Text(ago(item.at), style="dim"), Text(item.kind, style="italic dim"), "",
                    event_text(item)]
        cp = item
        return [self._marks(cp), Text(cp.id, style="bold" if cp.id == self.head else ""), ago(cp.created_at),
                Text(cp.kind, style=KIND_STYLE.get(cp.kind, "")), str(cp.file_count),
                self._description(cp, widths["description"])]

    def _description(self, cp: Checkpoint, width: int) -> Text:
        """The description cell; while searching, the matched words highlighted, and a match
        in an annotation (whose note the row does not show) as its snippet after ``✎``."""
        match = self.matches.get(cp.id) if self.search is not None else None
        if match is None or self.search is None:
            return describe(cp, width)
        if match.column != "annotations":
            return highlight(describe(cp, width), self.search.pattern())
        desc = " ".join(printable(cp.description or "-").split())
        head = clip(desc, min(len(desc), max(1, width // 3)))
        text = Text(head + " ")
        text.append(NOTE, style="magenta")
        snippet = " ".join(match.snippet.split())
        room = width - len(text)
        first = snippet.find(MARK_OPEN)
        if room > 8 and first > room // 2:  # start near the first match, so that it shows
            snippet = "…" + snippet[first - room // 4:]
        text.append_text(marked_text(snippet))
        text.truncate(width, overflow="ellipsis")
        return text

    def _marks(self, cp: Checkpoint) -> Text:
        text = Text()
        text.append(MARK if cp.id == self.marked else " ", style="bold magenta")
        text.append(HEAD if cp.id == self.head else " ", style="bold green")
        text.append(BRANCH if cp.id in self.branches else " ", style="bold yellow")
        return text

    def title(self) -> Text:
        """``Checkpoints · whole project (3) · ● head  ✓ marked  ↱ branch``."""
        where = "whole project" if self.scope == "project" else f"session {self.scope_session}"
        if self.partial and self.total:
            count = f"newest {len(self.checkpoints)} of {self.total}, loading the rest…"
        else:
            count = f"newest {len(self.checkpoints)}" if self.more else str(len(self.checkpoints))
        title = Text(f"Checkpoints · {where} ({count}) · ", no_wrap=True, overflow="ellipsis")
        if self.tag_filter:
            title.append(f"tag {self.tag_filter}", style="bold cyan")
            title.append(" · ")
        if self.search is not None:
            title.append(f"search {printable(self.search.text)!r}, best first", style="bold cyan")
            title.append(" · ")
        if self.show_events and not self.tag_filter:
            title.append("+events · ", style="italic")
        title.append(f"{HEAD} head", style="green")
        title.append("  ")
        title.append(f"{MARK} marked" + (f" {self.marked}" if self.marked else ""), style="magenta")
        if any(cp.id in self.branches for cp in self.checkpoints):
            title.append("  ")
            title.append(f"{BRANCH} branch", style="yellow")
        return title

    def empty_text(self) -> Text | str:
        """What shows instead of an empty table."""
        if self.search is not None:
            what = f"{self.search.text!r}" + (f" tagged {self.tag_filter}" if self.tag_filter else "")
            return Text(printable(f"No checkpoint here matches {what}. "  # typed: not markup
                                  f"{self._key_of('project.filter', '/')} and an empty box show all."))
        if self.tag_filter:
            return Text(printable(f"No checkpoint here is tagged {self.tag_filter}. "  # typed: not markup
                                  f"{self._key_of('project.filter', '/')} and an empty filter show all."))
        if self.scope == "project":
            return f"No checkpoints yet. Press {self._key_of('project.checkpoint', 'c')} to take one."
        return f"This session has no checkpoints. {self._key_of('project.scope', 'w')} shows the whole project."

    def status_text(self) -> str:
        """The status line about the selected checkpoint (or event), else how marking works."""
        item = self.selected_row()
        if isinstance(item, Event):
            return (f"{item.operation} · {short_time(item.at)} UTC · {item.actor}"
                    + (f" · session {item.session_id}" if item.session_id else ""))
        cp = item
        if cp is None:
            mark, diff = self._key_of("project.mark", "space"), self._key_of("project.diff", "D")
            return f"{mark}: mark · {diff}: diff marked → selected, or selected → workspace"
        msg = f"{cp.id} · {short_time(cp.created_at)} UTC · {cp.file_count} files, {human_size(cp.total_size)}"
        if cp.id in self.branches:
            msg += f" · {BRANCH} new line of work from {cp.parent_id}"
        elif cp.parent_id:
            msg += f" · parent {cp.parent_id}"
        if cp.annotations:
            note = cp.annotations[-1]
            msg += f" · {NOTE}{note.get('label', '')}" + (f": {note['note']}" if note.get("note") else "")
        if self.marked and self.marked != cp.id:
            msg += f" · {self._key_of('project.diff', 'D')}: diff with marked"
        match = self.matches.get(cp.id) if self.search is not None else None
        if match is not None:
            msg += f" · match in {match.column}: {' '.join(with_marks(match.snippet).split())}"
        return msg
