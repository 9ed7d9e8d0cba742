"""Pick a Docker engine (issue 14): a dialog listing ``local`` and the ``[engines.*]`` of
config, each with whether it answers, asked in a thread worker (``checking…`` meanwhile:
one dead host must not freeze the screen). Starting a session and moving one use it
(:mod:`vmuser_tui.tui.flows.engines`).

Keyboard only: ↑/↓ (or j/k) move, Enter picks, Escape cancels. An engine known not to
answer is listed (so the user sees it is down) but not picked: Enter on it says why.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from vmuser_tui.core.engines import EngineStatus
from vmuser_tui.core.errors import VmuserError
from vmuser_tui.tui.screens.base import VmuserModal
from vmuser_tui.tui.styles import css
from vmuser_tui.tui.widgets.cells import clip, safe


def engine_line(name: str, status: EngineStatus | None, *, here: bool, width: int = 64, asking: bool = True) -> Text:
    """One option: ``● twin      reachable · 3 ms · 1 session`` (``●``: where the project
    lives; ``status`` None: still ``asking``, or the asking failed). ``width``: cells the line may take."""
    line = Text(no_wrap=True, overflow="ellipsis")
    line.append("● " if here else "  ", style="bold green")
    line.append(f"{clip(name, 14):<15}", style="bold")
    if status is None:
        line.append("checking…" if asking else "not known", style="dim")
        return line
    if status.reachable:
        line.append("reachable", style="green")
        if status.rtt_ms is not None:
            line.append(f" · {status.rtt_ms:.0f} ms")
    else:
        line.append("unreachable", style="bold magenta")
    if status.sessions:
        line.append(f" · {status.sessions} session{'s' if status.sessions != 1 else ''}")
    if not status.reachable and status.error:  # cut to the line: the engines screen says it whole
        line.append(f" · {clip(status.error, max(10, width - line.cell_len - 3))}", style="dim")
    return line


class EnginePicker(VmuserModal["str | None"]):
    """Dismisses with the engine picked (its name), or None when cancelled. ``current``:
    where the project lives (marked ``●``); ``default``: the engine the cursor starts on
    (default: ``current``); ``note``: a line under the title (what picking does); ``marked``:
    what the ``●`` of ``current`` means, in the hint."""

    CSS_PATH = css("engines")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="engine.cancel"),
    ]

    def __init__(self, title: str, current: str, *, default: str | None = None, note: str = "",
                 marked: str = "where the project lives") -> None:
        super().__init__()
        self.title_text = title
        self.current = current
        self.default = default or current
        self.note = note
        self.marked = marked
        self.names: list[str] = []
        #: name -> its status, once the engines answered (or were given up on)
        self.statuses: dict[str, EngineStatus] = {}
        self.asking = True

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Label(safe(self.title_text), id="dialog-title")
            if self.note:
                yield Static(safe(self.note), id="engine-note")
            yield OptionList(id="engine-list", compact=True)
            yield Static(Text(f"Enter: pick   Esc: cancel   (● {self.marked})"), classes="dialog-hint")

    def on_mount(self) -> None:
        self.names = self.vm.engine_names()  # config only: no engine is asked here
        options = self.query_one("#engine-list", OptionList)
        self._fill(options)
        options.focus()
        self.run_blocking(self.vm.engine_statuses, self._loaded, group="engines", failed=self._failed)

    def _fill(self, options: OptionList) -> None:
        highlighted = options.highlighted
        keep = options.get_option_at_index(highlighted).id if highlighted is not None else self.default
        width = max(40, options.scrollable_content_region.width or 66)
        options.clear_options()
        options.add_options(Option(engine_line(n, self.statuses.get(n), here=n == self.current, width=width,
                                               asking=self.asking), id=n) for n in self.names)
        if keep in self.names:
            options.highlighted = self.names.index(keep)

    def _loaded(self, statuses: list[EngineStatus]) -> None:
        self.asking = False
        self.statuses = {s.name: s for s in statuses}
        options = self.query_one("#engine-list", OptionList)
        self._fill(options)
        # the cursor on an engine that turned out dead: to the first one that answers (not
        # ``current`` when another does: moving away from it is why the cursor was elsewhere)
        at = options.highlighted
        if at is not None and not self._up(self.names[at]):
            up = [n for n in self.names if self._up(n)]
            better = [n for n in up if n != self.current] or up
            if better:
                options.highlighted = self.names.index(better[0])

    def _up(self, name: str) -> bool:
        status = self.statuses.get(name)
        return status is not None and status.reachable

    def _failed(self, err: VmuserError) -> None:
        # e.g. the database is busy: the list stays usable, without reachability
        self.asking = False
        self._fill(self.query_one("#engine-list", OptionList))
        self.show_error(err)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        name = event.option.id or ""
        status = self.statuses.get(name)
        if status is not None and not status.reachable:
            self.vapp.notify(f"engine {name} does not answer: pick another", severity="warning",
                             details=status.error or None)
            return
        self.dismiss(name)

    def action_cancel(self) -> None:
        self.dismiss(None)
