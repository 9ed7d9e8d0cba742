"""Checkpoint actions of the project screen: take one, tag one, annotate one. Each takes
the screen it runs from as a ``host`` (a :class:`~vmuser_tui.tui.screens.base.WorkerMixin`)
and a ``then(checkpoint_id)`` callback (the screen reloads with that checkpoint selected);
it imports no calling screen, only the dialogs it shows."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.text import Text

from vmuser_tui.core.text import printable
from vmuser_tui.tui.widgets.cells import clip, human_size
from vmuser_tui.tui.widgets.timeline import NOTE

if TYPE_CHECKING:  # pragma: no cover
    from vmuser_tui.core.checkpoints import CreateOutcome
    from vmuser_tui.core.models import Checkpoint
    from vmuser_tui.core.search_query import SearchQuery
    from vmuser_tui.tui.screens.base import WorkerMixin

Then = Callable[[str], object]


def take_checkpoint(host: WorkerMixin, target: str, then: Then) -> None:
    """Ask for a description and checkpoint ``target`` (a session or project id). When
    nothing changed and a description was typed, offer an empty checkpoint that keeps it
    (git's ``commit --allow-empty``); cancelled, a warning repeats the text: typed text is
    never dropped silently."""
    from vmuser_tui.tui.screens.prompt import PromptScreen

    def create(description: str, allow_empty: bool) -> None:
        progress = host.progress_callback()
        host.run_blocking(
            lambda: host.vm.checkpoints.create(target, description=description, progress=progress,
                                               allow_empty=allow_empty),
            lambda outcome: _checkpointed(host, outcome, description, then, lambda: create(description, True)),
            group="write", task="checkpoint",
        )

    def answer(description: str | None) -> None:
        if description is not None:
            create(description, False)

    host.vapp.push_screen(PromptScreen("Checkpoint now", placeholder="description (optional)",
                                       hint="Enter: take the checkpoint   Esc: cancel"), answer)


def _checkpointed(host: WorkerMixin, outcome: CreateOutcome, description: str, then: Then,
                  take_empty: Callable[[], None]) -> None:
    cp = outcome.checkpoint
    notify = host.notify
    if outcome.created:
        notify(f"checkpoint {cp.id}: {cp.file_count} files, {human_size(outcome.new_bytes)} new"
               + (f"; {len(outcome.skipped)} unreadable skipped" if outcome.skipped else "")
               + "".join(f"; {note}" for note in outcome.notes))
    elif description.strip():
        _offer_empty(host, cp, description, take_empty)
    else:
        notify(f"nothing changed since {cp.id}; no checkpoint taken", title="Checkpoint")
    then(cp.id)


def _offer_empty(host: WorkerMixin, head: Checkpoint, description: str, take_empty: Callable[[], None]) -> None:
    """Nothing changed but a description was typed: take an empty checkpoint with it?"""
    from vmuser_tui.tui.screens.confirm import ConfirmScreen

    shown = printable(description)
    body = Text()
    body.append(f"The workspace is the same as checkpoint {head.id}, so no checkpoint was taken.\n\n")
    body.append("Take an empty checkpoint (the same files) to keep the description ")
    body.append(f"“{shown}”", style="bold")
    body.append(", as git commit --allow-empty does?")

    def answer(yes: bool | None) -> None:
        if yes:
            take_empty()
        else:
            host.notify(f"description {shown!r} not recorded: nothing changed since {head.id}",
                        title="Checkpoint", severity="warning")

    host.vapp.push_screen(ConfirmScreen(f"Nothing changed since {head.id}", body, confirm_label="Take it",
                                        danger=False), answer)


def tag_checkpoint(host: WorkerMixin, cp: Checkpoint, then: Then) -> None:
    """Ask for tags to add to ``cp`` (``-name`` removes one) and apply them."""
    from vmuser_tui.tui.screens.prompt import PromptScreen

    def tagged(new: Checkpoint) -> None:
        host.notify(f"{new.id}: " + (f"tags {', '.join(new.tags)}" if new.tags else "no tags now"),
                    title="Tags")
        then(new.id)

    def answer(text: str | None) -> None:
        if not text:
            return
        words = text.replace(",", " ").split()
        add = [w.lstrip("+") for w in words if not w.startswith("-") and w.lstrip("+")]
        remove = [w[1:] for w in words if w.startswith("-") and w[1:]]
        host.run_blocking(lambda: host.vm.checkpoints.tag(cp.id, add, remove), tagged, group="write")

    now = ", ".join(cp.tags) if cp.tags else "no tags"
    host.vapp.push_screen(PromptScreen(f"Tag checkpoint {cp.id} (now: {now})",
                                       placeholder="a tag to add, -tag to remove; several: space between",
                                       hint="Enter: apply   Esc: cancel", allow_empty=False), answer)


def annotate_checkpoint(host: WorkerMixin, cp: Checkpoint, then: Then) -> None:
    """Ask for a label (shown on the timeline), a note and tags, and attach them to ``cp``;
    or remove the annotation whose label was typed (ctrl+r in the dialog)."""
    from vmuser_tui.tui.screens.annotate import AnnotateScreen, Annotation

    def answer(result: Annotation | None) -> None:
        if not result:
            return
        label = result.label

        def done(new: Checkpoint) -> None:
            if result.remove:
                host.notify(f"{new.id}: annotation {NOTE}{label} removed", title="Annotation removed")
            else:
                host.notify(f"{new.id}: {NOTE}{label}" + (f" [{', '.join(result.tags)}]" if result.tags else ""),
                            title="Annotated")
            then(new.id)

        if result.remove:
            host.run_blocking(lambda: host.vm.checkpoints.remove_annotation(cp.id, label), done, group="write")
        else:
            host.run_blocking(lambda: host.vm.checkpoints.annotate(cp.id, label, result.note, result.tags), done,
                              group="write")

    host.vapp.push_screen(AnnotateScreen(cp), answer)


def ask_timeline_filter(host: WorkerMixin, tags: list[str], current: str,
                        then: Callable[[str | None, SearchQuery | None], object]) -> None:
    """Ask what the timeline shows: words to search for (full-text) and/or ``tag:NAME``
    (``#NAME``); ``tags``: those the loaded checkpoints have. ``then(tag, query)``, both
    None for all; nothing on Esc. A query with nothing to search for, or two tags, is said
    in one line and the timeline stays as it was."""
    from vmuser_tui.core.errors import UsageError
    from vmuser_tui.core.search_query import parse, split_tags
    from vmuser_tui.tui.screens.prompt import PromptScreen

    def answer(text: str | None) -> None:
        if text is None:
            return
        wanted, words = split_tags(text)
        if len(wanted) > 1:
            host.notify(f"one tag at a time (tag:{wanted[0]}); the timeline is as it was", severity="warning")
            return
        try:
            query = parse(words) if words else None
        except UsageError as err:
            host.notify(str(err), severity="warning")
            return
        then(wanted[0] if wanted else None, query)

    hint = ("tags: " + clip(", ".join(tags), 40) if tags else "no checkpoint has a tag yet") + \
        "   tag:NAME or #NAME   empty: all   Esc: cancel"
    host.vapp.push_screen(PromptScreen("Search the timeline (words, \"a phrase\", prefix*)", value=current,
                                       placeholder="words, or tag:" + (tags[0] if tags else "release"),
                                       hint=hint), answer)
