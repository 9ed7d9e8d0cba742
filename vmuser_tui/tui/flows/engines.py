"""Engine choices in the TUI (issue 14): which engine a new session starts on, and moving
a session to another engine. Each takes the screen it runs from as a ``host`` (a
:class:`~vmuser_tui.tui.screens.base.WorkerMixin`) and imports no calling screen, only the
dialogs it shows (:class:`~vmuser_tui.tui.screens.engine_picker.EnginePicker`, the confirm
dialog).

With only ``local`` configured, nothing asks: the session starts where it always did.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.text import Text

if TYPE_CHECKING:  # pragma: no cover
    from vmuser_tui.core.models import Session
    from vmuser_tui.core.sessions import StartOutcome
    from vmuser_tui.tui.screens.base import WorkerMixin

#: Words in a note of a move that tell of something left behind: shown as a warning toast.
WARNING_WORDS = ("does not answer", "may still run", "stay there", "no checkpoint", "could not")


def several(host: WorkerMixin) -> bool:
    """True when config names an engine besides ``local`` (then starting asks which)."""
    return len(host.vm.engine_names()) > 1


def move_note(project: str, current: str, engine: str) -> Text:
    """What moving ``project`` from engine ``current`` to ``engine`` does, for a confirm dialog."""
    body = Text()
    body.append(f"Project {project} lives on engine {current}. Starting on engine {engine} moves it there:\n\n")
    body.append(f"  • the workspace on {current} is checkpointed (when that engine answers)\n")
    body.append(f"  • on {engine} the workspace is filled from the project's last checkpoint\n")
    body.append(f"  • from then on sessions, checkpoints and files use engine {engine}\n\n")
    body.append("Nothing is deleted: the old workspace stays where it was.", style="dim")
    return body


def choose_start_engine(host: WorkerMixin, name: str, current: str, then: Callable[[str], object]) -> None:
    """Ask which engine a new session of project ``name`` starts on (the picker, the cursor
    on ``current``, where the project lives), then ``then(engine)``; another engine than
    ``current`` is confirmed first (it moves the project). With only ``local`` configured,
    ``then(current)`` at once."""
    if not several(host):
        then(current)
        return
    from vmuser_tui.tui.screens.confirm import ConfirmScreen
    from vmuser_tui.tui.screens.engine_picker import EnginePicker

    def picked(engine: str | None) -> None:
        if not engine:
            return
        if engine == current:
            then(engine)
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                then(engine)

        host.vapp.push_screen(ConfirmScreen(f"Move {name} to engine {engine}?", move_note(name, current, engine),
                                            confirm_label="Move and start", danger=False), confirmed)

    host.vapp.push_screen(EnginePicker(f"Start a session of {name} on which engine?", current), picked)


def move_session(host: WorkerMixin, session: Session, project: str, *, after: Callable[[], object] | None = None,
                 ) -> None:
    """Move ``session`` (of the project named ``project``) to another engine: pick it, confirm,
    then :meth:`Vmuser.move_session` in a thread worker (the TaskBar says so while it runs),
    then the new session and the notes of the move."""
    from vmuser_tui.tui.screens.confirm import ConfirmScreen
    from vmuser_tui.tui.screens.engine_picker import EnginePicker

    if not several(host):
        host.notify("only the engine local is configured: add one as [engines.NAME] in config "
                    "(url = \"ssh://user@host\") to move sessions there", severity="warning")
        return
    others = [n for n in host.vm.engine_names() if n != session.engine]

    def done(result: tuple[StartOutcome, list[str]]) -> None:
        outcome, notes = result
        s = outcome.session
        every = [n for n in [*notes, *outcome.notes] if n.strip()]
        # one short line (a toast is ~58 cells at 80 columns); the notes in full: m
        host.vapp.notify(f"moved to engine {s.engine}: session {s.id}", title=f"Session {session.id} moved",
                         details="\n".join(every) or None)
        for note in notes:  # what stayed behind, or was not saved: a toast of its own
            if any(word in note for word in WARNING_WORDS):
                host.vapp.notify(note, title="Session moved", severity="warning")
        if after:
            after()

    def confirmed(engine: str, yes: bool | None) -> None:
        if yes:
            host.run_blocking(lambda: host.vm.move_session(session.id, engine), done, group="write",
                              task=f"moving {session.id} to engine {engine}")

    def picked(engine: str | None) -> None:
        if not engine:
            return
        if engine == session.engine and session.status in ("created", "running", "paused", "unreachable"):
            host.notify(f"session {session.id} already runs on engine {engine}", severity="warning")
            return
        body = Text()
        body.append(f"Session {session.id} ({session.status}) on engine {session.engine} stops: it is "
                    "checkpointed first when that engine answers, else the move starts from the last checkpoint.\n")
        if session.container_name:
            body.append(f"Its container {session.container_name} goes, with anything outside /workspace.\n",
                        style="bold")
        body.append(f"\nProject {project} then lives on engine {engine} and a new session starts there.")
        host.vapp.push_screen(ConfirmScreen(f"Move session {session.id} to engine {engine}?", body,
                                            confirm_label="Move"), lambda yes: confirmed(engine, yes))

    host.vapp.push_screen(EnginePicker(f"Move session {session.id} to which engine?", session.engine,
                                       default=others[0] if others else None,
                                       marked="where it runs now"), picked)
