"""A yes/no dialog for destructive actions: says what will be lost, defaults to Cancel."""

from __future__ import annotations

from typing import ClassVar

from rich.console import RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Label, Static

from vmuser_tui.tui.screens.base import VmuserModal
from vmuser_tui.tui.styles import css
from vmuser_tui.tui.widgets.cells import safe, safe_text


class ConfirmScreen(VmuserModal[bool]):
    """Dismisses with True (confirmed) or False. Keys: ``y`` confirm, ``n``/``escape`` cancel."""

    CSS_PATH = css("confirm")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "confirm", "Yes", id="confirm.yes"),
        Binding("n,escape", "cancel", "No", id="confirm.no"),
    ]

    def __init__(self, title: str, body: RenderableType, *, confirm_label: str = "Yes", danger: bool = True) -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.confirm_label = confirm_label
        self.danger = danger

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog" + (" -danger" if self.danger else "")):
            yield Label(safe(self.title_text), id="dialog-title")
            with VerticalScroll(id="dialog-body"):
                yield Static(safe_text(Text(self.body) if isinstance(self.body, str) else self.body, keep_lines=True)
                             if isinstance(self.body, (str, Text)) else self.body, id="confirm-body")
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.confirm_label} (y)", id="yes", variant="error" if self.danger else "primary",
                             compact=True)
                yield Button("Cancel (n)", id="no", compact=True)

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)
