"""A workspace path asked for (new file, new folder, rename): checked as it is typed, and
applied in a worker before the dialog closes, so a refused path or a VFS error shows in
the dialog itself."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual.widgets import Input, Static

from vmuser_tui.core.errors import UsageError, VmuserError
from vmuser_tui.tui.screens.prompt import PromptScreen


class PathPrompt(PromptScreen):
    """A workspace path asked for, checked as it is typed, and applied (``apply(path)``, in
    a worker) before the dialog closes: a refused path or a VFS error shows in the dialog
    itself. Dismisses with ``apply``'s result, or None (Escape)."""

    def __init__(self, title: str, *, value: str, apply: Callable[[str], Any], hint: str) -> None:
        super().__init__(title, value=value, hint=hint, allow_empty=False)
        self.apply = apply

    def on_mount(self) -> None:
        box = self.query_one("#prompt-input", Input)
        box.focus()
        box.cursor_position = len(box.value)

    @staticmethod
    def problem(text: str) -> tuple[str | None, str]:
        """``(message, path)``: the path in canonical form, or why it is refused."""
        from vmuser_tui.core.pathcheck import normalize

        try:
            return None, normalize(text)
        except VmuserError as err:
            return str(err), ""

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        text = event.value.strip()
        message = self.problem(text)[0] if text and not text.endswith("/") else None
        self.query_one("#prompt-error", Static).update(Text(message or ""))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        event.prevent_default()  # PromptScreen's own handler would dismiss at once
        if self.busy:
            return
        text = event.value.strip()
        error = self.query_one("#prompt-error", Static)
        if not text or text.endswith("/"):
            error.update("type a name, or press Esc to cancel")
            return
        message, rel = self.problem(text)
        if message:
            error.update(Text(message))
            return
        error.update(Text("…", style="dim"))

        def job() -> Any:
            try:
                return self.apply(rel)
            except OSError as exc:  # e.g. permission denied: said in the dialog as the VFS's own errors are
                raise UsageError(f"{rel}: {exc.strerror or exc}") from None

        self.run_blocking(job, self.dismiss, group="apply", task="working",
                          failed=lambda err: error.update(Text(str(err))))

