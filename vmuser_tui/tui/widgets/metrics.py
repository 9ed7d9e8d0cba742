"""The live metrics of one session: CPU % and memory with sparklines, commands run, exec
times, workspace and storage sizes, last active.

The numbers come from :func:`vmuser_tui.core.metrics.get` (the ``stats`` job samples
Docker every 10 s; exec counts are written as commands run); the panel only draws what it
is given. Two layouts: ``compact`` (two lines, for 80x24) and full (a title, a line per
graph, a line of counts).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Grid, Vertical
from textual.widgets import Sparkline, Static

from vmuser_tui.core.units import human_size
from vmuser_tui.tui.widgets.cells import ago

if TYPE_CHECKING:  # pragma: no cover
    from vmuser_tui.core.metrics import SessionMetrics
    from vmuser_tui.core.models import Session

DASH = "–"


def percent(value: float | None) -> str:
    """``12.5%`` (one decimal), or a dash when never sampled."""
    return DASH if value is None else f"{value:.1f}%"


def size(value: int | None) -> str:
    """A byte count for people (``40.0 MiB``), or a dash."""
    return DASH if value is None else human_size(value)


def millis(value: int | None) -> str:
    """``120 ms`` / ``2.4 s``, or a dash."""
    if value is None:
        return DASH
    return f"{value} ms" if value < 10_000 else f"{value / 1000:.1f} s"


def series(history: list, column: int) -> list[float]:
    """One column of ``[[at, cpu, mem], ...]`` as floats, samples without it left out."""
    out = []
    for sample in history or ():
        if len(sample) > column and sample[column] is not None:
            out.append(float(sample[column]))
    return out


class MetricsPanel(Vertical):
    """The metrics of one session; :meth:`show` fills it, :attr:`compact` picks the layout."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.compact = True
        self.session: Session | None = None
        self.metrics: SessionMetrics | None = None
        self.many = False  # more than one running session: name the one shown

    def compose(self) -> ComposeResult:
        yield Static("", id="metrics-title", classes="pane-title")
        with Grid(id="metrics-graphs"):
            yield Static("", id="cpu-label", classes="metrics-label")
            yield Sparkline([], id="cpu-spark")
            yield Static("", id="mem-label", classes="metrics-label")
            yield Sparkline([], id="mem-spark")
            yield Static("", id="active-label", classes="metrics-label")
        yield Static("", id="metrics-note", classes="nowrap")
        yield Static("", id="metrics-counts", classes="nowrap")

    def show(self, session: Session, metrics: SessionMetrics, *, compact: bool, many: bool = False) -> None:
        """Draw ``metrics`` of ``session`` in the compact (two lines) or the full layout."""
        self.session, self.metrics, self.many = session, metrics, many
        self.compact = compact
        self.set_class(compact, "-compact")
        self.set_class(not compact, "-full")
        self._draw()

    def refresh_times(self) -> None:
        """Redraw the relative times ("last active 3m ago") from the data already shown."""
        if self.session is not None:
            self._draw()

    def _draw(self) -> None:
        s, m = self.session, self.metrics
        assert s is not None and m is not None
        cpu, mem = series(m.history, 1), series(m.history, 2)
        sampled = m.memory_bytes is not None or m.cpu_percent is not None or bool(cpu or mem)
        self.query_one("#metrics-graphs").display = sampled
        note = self.query_one("#metrics-note", Static)
        # at 80x24 a session without a container says so in the counts line: one line, not two
        note.display = not sampled and not (self.compact and s.runtime != "docker")
        if not sampled:
            why = ("no container (runtime none): CPU, memory and commands need a Docker session"
                   if s.runtime != "docker" else "CPU and memory: no sample yet (the stats job samples every 10 s)")
            note.update(Text(why, style="dim"))
        peak = m.peak_memory_bytes
        if self.compact:
            self.query_one("#cpu-label", Static).update(Text.assemble(("CPU ", "bold"), percent(m.cpu_percent), " "))
            self.query_one("#mem-label", Static).update(Text.assemble(
                (" mem ", "bold"), size(m.memory_bytes), ("", "") if peak is None else (f"/{size(peak)}", "dim"), " "))
        else:
            self.query_one("#cpu-label", Static).update(Text.assemble(("CPU     ", "bold"), percent(m.cpu_percent)))
            self.query_one("#mem-label", Static).update(Text.assemble(
                ("Memory  ", "bold"), size(m.memory_bytes), ("", "") if peak is None else (f", peak {size(peak)}", "")))
        active = self.query_one("#active-label", Static)
        active.display = self.compact
        active.update(Text(f" · active {ago(s.last_active_at)}", style="dim"))
        # one sample draws as a full bar; a flat line until there is a trend to show
        self.query_one("#cpu-spark", Sparkline).data = cpu if len(cpu) > 1 else []
        self.query_one("#mem-spark", Sparkline).data = mem if len(mem) > 1 else []
        title = Text(f"Metrics · session {s.id}")
        if m.sampled_at:
            title.append(f" · sampled {ago(m.sampled_at)}", style="dim")
        self.query_one("#metrics-title", Static).update(title)
        self.query_one("#metrics-counts", Static).update(self._counts(m, s))

    def _counts(self, m: SessionMetrics, s: Session) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        n = m.commands_run
        if self.compact:
            if self.many:
                text.append(f"{s.id} · ", style="bold")
            if s.runtime != "docker" and not n:
                text.append("no container (runtime none)", style="dim")
            else:
                text.append(f"{n} cmd{'s' if n != 1 else ''}")
            if n:
                text.append(f" avg {millis(m.avg_exec_ms)}, last {millis(m.last_exec_ms)}", style="dim")
            text.append(f" · workspace {size(m.workspace_bytes)} · storage {size(m.checkpoint_bytes)}")
            if not self.query_one("#metrics-graphs").display:  # (else line 1 says it)
                text.append(f" · active {ago(s.last_active_at)}", style="dim")
            return text
        text.append("Commands ", style="bold")
        text.append(f"{n} run")
        if n:
            text.append(f" · avg {millis(m.avg_exec_ms)} · last {millis(m.last_exec_ms)}")
        text.append("  │  ")
        text.append("Workspace ", style="bold")
        text.append(size(m.workspace_bytes))
        text.append(" · checkpoint storage ")
        text.append(size(m.checkpoint_bytes))
        text.append("  │  ")
        text.append("Last active ", style="bold")
        text.append(ago(s.last_active_at))
        return text
