"""The project screen's edits of issue 13 ("the edits users miss"): remove checkpoints
(``d``) and edit the project (``E``, also on the projects screen). Each takes the screen it
runs from as a ``host`` and a ``then`` callback; it imports no calling screen, only the
dialogs it shows.

Removing the head: the dialog says so in bold and where the head moves, and its button
says "Remove, head too"; confirming passes ``force`` (the CLI's ``--force``). A dialog that
names what goes is the TUI's equivalent of typing ``--force``; refusing outright would
leave the TUI without a way to do what the CLI can.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.text import Text

from vmuser_tui.core.text import printable
from vmuser_tui.tui.flows.bulk import plural
from vmuser_tui.tui.widgets.cells import clip, short_time
from vmuser_tui.tui.widgets.timeline import HEAD

if TYPE_CHECKING:  # pragma: no cover
    from vmuser_tui.core.checkpoint_rm import RemoveResult
    from vmuser_tui.core.models import Checkpoint, Project
    from vmuser_tui.tui.screens.base import WorkerMixin

LIST_CAP = 12  # checkpoints named one by one in the dialog; the rest are counted


def removal_body(plan: RemoveResult, head: str | None) -> Text:
    """What the confirmation says: each checkpoint that goes, what re-parents, the head."""
    body = Text()
    for cp in plan.removed[:LIST_CAP]:
        body.append(f"  • {cp.id}", style="bold")
        body.append(f"  {short_time(cp.created_at)}  {cp.kind}  {clip(printable(cp.description or '-'), 30)}")
        if cp.id == head:
            body.append(f"  {HEAD} head", style="bold green")
        body.append("\n")
    if len(plan.removed) > LIST_CAP:
        body.append(f"  … and {len(plan.removed) - LIST_CAP} more\n", style="dim")
    if plan.reparented:
        body.append("\n" + "; ".join(f"{child} re-parents to {parent or '(none)'}"
                                     for child, parent in list(plan.reparented.items())[:LIST_CAP]) + "\n")
    for _project, new_head in plan.heads.items():
        body.append(f"\n{head} is the head: the workspace was last captured or restored at it. "
                    f"The head moves to {new_head or '(none)'}; the workspace's files stay as they are.\n",
                    style="bold")
    body.append("\nTheir stored data stays until gc frees it.", style="dim")
    return body


def remove_checkpoints(host: WorkerMixin, targets: list[Checkpoint], head: str | None,
                       then: Callable[[RemoveResult], object]) -> None:
    """Confirm, then remove ``targets`` (the head among them only with force, said in the
    dialog); ``then(result)`` afterwards. The plan (what re-parents, where the head moves)
    is read first, in a worker, so the dialog names it."""
    from vmuser_tui.tui.screens.confirm import ConfirmScreen

    ids = [cp.id for cp in targets]
    force = head in ids

    def removed(result: RemoveResult) -> None:
        what = result.ids[0] if len(result.ids) == 1 else plural(len(result.ids), "checkpoint")
        host.notify(f"removed {what}" + (f"; head moved to {next(iter(result.heads.values())) or '(none)'}"
                                         if result.heads else "") + "; gc frees their data",
                    title="Removed")
        then(result)

    def ask(plan: RemoveResult) -> None:
        def answer(yes: bool | None) -> None:
            if yes:
                host.run_blocking(lambda: host.vm.checkpoints.remove(ids, force=force), removed, group="write",
                                  task="removing checkpoints")

        title = (f"Remove checkpoint {ids[0]}?" if len(ids) == 1 else f"Remove {len(ids)} checkpoints?")
        host.vapp.push_screen(ConfirmScreen(title, removal_body(plan, head),
                                            confirm_label="Remove, head too" if force else "Remove"), answer)

    host.run_blocking(lambda: host.vm.checkpoints.remove(ids, force=force, dry_run=True), ask, group="write")


def edit_project(host: WorkerMixin, project: Project, then: Callable[[Project], object]) -> None:
    """The edit form for ``project``; ``then(updated)`` once saved."""
    from vmuser_tui.tui.screens.edit_project import EditProjectScreen

    def saved(updated: Project | None) -> None:
        if updated is not None:
            host.notify(f"{updated.name}: saved", title="Project updated")
            then(updated)

    host.vapp.push_screen(EditProjectScreen(project), saved)
