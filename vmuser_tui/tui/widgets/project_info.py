"""The two lines about a project at the top of its screen: name, id, status, checkpoint
count, pinned or cleanup date, tags; then where its workspace is (on another Docker engine:
that engine and its volume)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from vmuser_tui.core.models import Project
from vmuser_tui.core.text import printable
from vmuser_tui.tui.widgets.cells import lines, short_time, status_cell

NAME_MIN = 12  # cells of a long name that stay on the first line, "…" included


class ProjectInfo(Static):
    """``demo  demo-1a2b3c4d  active  3 checkpoints  [client]`` / ``workspace /path``."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("", id=id, classes=classes)

    _project: Project | None = None

    def show(self, p: Project) -> None:
        """Draw ``p``'s two lines."""
        self._project = p
        width = self.content_size.width or max(self.app.size.width - 2, 20)
        line1 = self._line1(p, width)
        line2 = Text(no_wrap=True, overflow="ellipsis", style="dim")
        if p.engine != "local":  # issue 14: the workspace is a volume on that engine, not the folder here
            line2.append(f"engine {printable(p.engine)}", style="bold")
            line2.append(f" · workspace: the volume vmuser-ws-{p.id} there")
        else:
            line2.append(f"{'workspace' if p.managed else 'workspace (in place)'} {printable(p.workspace)}")
        self.update(lines(line1, line2))

    def on_resize(self) -> None:
        if self._project is not None:  # the name is cut to the width: cut it again
            self.show(self._project)

    @staticmethod
    def _line1(p: Project, width: int) -> Text:
        """Name, id, status, count, pinned or cleanup, tags; when that is wider than ``width``
        cells the name is cut (never below NAME_MIN cells) and the id moves after the count, so
        the status and the count stay in view (the window title shows the whole name)."""
        state = Text()
        state.append_text(status_cell(p.status))
        state.append(f"  {p.checkpoints} checkpoint{'s' if p.checkpoints != 1 else ''}")
        if p.pinned:
            state.append("  pinned", style="bold cyan")
        elif p.cleanup_due_at:
            state.append(f"  cleanup {short_time(p.cleanup_due_at)}", style="dim")
        tags = Text(f"  [{', '.join(p.tags)}]", style="cyan") if p.tags else Text()
        name = Text(printable(p.name), style="bold")
        ident = Text(f"  {p.id}  ")
        line1 = Text(no_wrap=True, overflow="ellipsis")
        if name.cell_len + ident.cell_len + state.cell_len + tags.cell_len <= width:
            line1.append_text(name)
            line1.append_text(ident)
            line1.append_text(state)
        else:
            room = max(NAME_MIN, width - state.cell_len - ident.cell_len)
            if name.cell_len > room:
                name.truncate(room - 1)
                name.append("…")
            line1.append_text(name)
            line1.append("  ")
            line1.append_text(state)
            line1.append(f"  {p.id}")
        line1.append_text(tags)
        return line1
