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


NAME_RULE = "a project name needs 1-200 printable characters"


def field_problems(values: dict[str, str]) -> list[tuple[str, str]]:
    """``(field, message)`` for what can be checked without touching anything (the core's
    own validators); directories and limits are checked by the core on Create."""
    from vmuser_tui.core.ids import validate_prefix
    from vmuser_tui.core.projects import validate_tag

    out: list[tuple[str, str]] = []
    name = values.get("name", "")
    if not name or len(name) > 200 or not name.isprintable():
        out.append(("name", NAME_RULE))
    checks = [("prefix", validate_prefix, [values["prefix"]] if values.get("prefix") else []),
              ("tags", validate_tag, split_tags(values.get("tags", "")))]
    for field, check, items in checks:
        for item in items:
            try:
                check(item)
            except VmuserError as err:
                out.append((field, str(err)))
                break
    if values.get("import_dir") and values.get("workspace"):
        out.append(("workspace", "give either a workspace to use in place or a directory to import (copy), not both"))
    return out


def field_of(message: str) -> str | None:
    """Which field a core error is about, from its wording (None: the form as a whole)."""
    text = message.lower()
    for word, field in (("prefix", "prefix"), ("tag", "tags"), ("import", "import_dir"), ("workspace", "workspace"),
                        ("name", "name")):
        if word in text:
            return field
    return None


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

    #: the field the shown message is about ("" : the form as a whole), None: no message
    error_field: str | None = None
    #: Create was tried once: from then on the fields are checked as they change
    attempted = False

    def on_mount(self) -> None:
        self.query_one("#field-name", Input).focus()

    def values(self) -> dict[str, str]:
        return {key: self.value(key) for key, _label, _placeholder in FIELDS}

    def on_input_changed(self, event: Input.Changed) -> None:
        """After a first Create, the message follows the edits: it says what is still
        wrong, and goes once the field it was about is edited (or now passes)."""
        if not self.attempted or self.busy:
            return
        edited = (event.input.id or "").removeprefix("field-")
        problems = field_problems(self.values())
        if problems:
            self.show_form_error(problems[0][1], problems[0][0])
        elif self.error_field is not None and (edited == self.error_field or not self.error_field
                                               or self._locally_checked()):
            self.show_form_error("")

    def _locally_checked(self) -> bool:
        """True when the shown message is one field_problems can tell is fixed."""
        return self.error_field in ("name", "prefix", "tags") or self.error_text.startswith("give either")

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
        self.attempted = True
        name = self.value("name")
        problems = field_problems(self.values())
        if problems:
            field, message = problems[0]
            self.show_form_error(message, field)
            self.query_one(f"#field-{field}", Input).focus()
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
        self.error_field = None
        self.run_blocking(lambda: self.vm.projects.create(name, **kwargs), self.dismiss,
                          group="create", failed=self._failed, task="creating project")

    def _failed(self, err: VmuserError) -> None:
        self.show_form_error(str(err), field_of(str(err)) or "")

    error_text: str = ""

    def show_form_error(self, text: str, field: str = "") -> None:
        """Show ``text`` under the form (empty: clear it), marking ``field``'s input."""
        self.error_text = text
        self.error_field = field if text else None
        self.query_one("#form-error", Static).update(Text(text))
        for key, _label, _placeholder in FIELDS:
            self.query_one(f"#field-{key}", Input).set_class(bool(text) and key == field, "-invalid")
