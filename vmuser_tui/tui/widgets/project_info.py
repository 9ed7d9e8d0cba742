"""The two lines about a project at the top of its screen: name, id, status, checkpoint
count, pinned or cleanup date, tags; then where its workspace is (on another Docker engine:
that engine and its volume)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from vmuser_tui.core.models import Project
from vmuser_tui.core.text import printable
from vmuser_tui.tui.widgets.cells import lines, short_time, status_cell


class ProjectInfo(Static):
    """``demo  demo-1a2b3c4d  active  3 checkpoints  [client]`` / ``workspace /path``."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("", id=id, classes=classes)

    def show(self, p: Project) -> None:
        """Draw ``p``'s two lines."""
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
        if p.engine != "local":  # issue 14: the workspace is a volume on that engine, not the folder here
            line2.append(f"engine {printable(p.engine)}", style="bold")
            line2.append(f" · workspace: the volume vmuser-ws-{p.id} there")
        else:
            line2.append(f"{'workspace' if p.managed else 'workspace (in place)'} {printable(p.workspace)}")
        self.update(lines(line1, line2))
