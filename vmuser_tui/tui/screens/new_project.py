"""The new-project form: name, id prefix, description, tags, and where the files come from."""

from __future__ import annotations

import re
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, Vertical
from textual.widgets import Button, Input, Label, Static

from vmuser_tui.core.errors import VmuserError
from vmuser_tui.tui.screens.base import VmuserModal
from vmuser_tui.tui.styles import css

FIELDS = (
    ("name", "Name", "required, e.g. web app"),
    ("prefix", "Id prefix", "optional, e.g. web-app (derived from the name)"),
    ("description", "Description", "optional"),
    ("tags", "Tags", "optional, comma or space separated"),
    ("import_dir", "Import dir", "optional: copy this directory in"),
    ("workspace", "Workspace", "optional: use this directory in place"),
)


def split_tags(text: str) -> list[str]:
    return [t for t in re.split(r"[,\s]+", text) if t]


class NewProjectScreen(VmuserModal["object | None"]):
    """Creates the project itself (in a worker: an import copies files) and dismisses
    with it; a VmuserError (bad name, prefix, tag, directory) is shown in the form."""

    CSS_PATH = css("new_project")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="new.cancel"),
        Binding("ctrl+s", "create", "Create", id="new.create"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Label("New project", id="dialog-title")
            with Grid(id="form"):
                for key, label, placeholder in FIELDS:
                    yield Label(label, classes="form-label")
                    yield Input(placeholder=placeholder, id=f"field-{key}", compact=True)
            yield Static("", id="form-error", classes="form-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Create (Enter)", id="create", variant="primary", compact=True)
                yield Button("Cancel (Esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#field-name", Input).focus()

    def value(self, key: str) -> str:
        return self.query_one(f"#field-{key}", Input).value.strip()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_create()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "create":
            self.action_create()
        else:
            self.action_cancel()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_create(self) -> None:
        if self.busy or self.refuse_read_only("new project"):
            return
        name = self.value("name")
        if not name:
            self.show_form_error("a project name needs 1-200 printable characters")
            self.query_one("#field-name", Input).focus()
            return
        kwargs = {
            "prefix": self.value("prefix") or None,
            "description": self.value("description"),
            "tags": split_tags(self.value("tags")),
            "import_dir": self.value("import_dir") or None,
            "workspace": self.value("workspace") or None,
        }
        self.show_form_error("")
        self.query_one("#form-error", Static).update("creating…")
        self.run_blocking(lambda: self.vm.projects.create(name, **kwargs), self.dismiss,
                          group="create", failed=self._failed, task="creating project")

    def _failed(self, err: VmuserError) -> None:
        self.show_form_error(str(err))

    def show_form_error(self, text: str) -> None:
        self.query_one("#form-error", Static).update(Text(text))
