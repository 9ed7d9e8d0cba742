"""The new-project form: name, id prefix, description, tags, and where the files come from."""

from __future__ import annotations

import re
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
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
    with it. What is wrong shows inline, under the field it is about (a bad name, prefix,
    tag; a directory the core refused), once Create was tried; from then on the messages
    follow the edits. A VmuserError about no field shows under the form."""

    CSS_PATH = css("new_project")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="new.cancel"),
        Binding("ctrl+s", "create", "Create", id="new.create"),
        # Tab and shift+tab as the Screen binds them, but priority: the App moves the focus
        # before it routes the next key, so "abc<Tab>desc" typed in one burst (one read over
        # SSH) puts "desc" in the next field. A plain binding acts only once the Tab has been
        # through the old field, after the keys behind it were already routed there.
        Binding("tab", "app.focus_next", "Next field", show=False, priority=True, id="new.next_field"),
        Binding("shift+tab", "app.focus_previous", "Previous field", show=False, priority=True,
                id="new.previous_field"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Label("New project", id="dialog-title")
            with Vertical(id="form"):
                for key, label, placeholder in FIELDS:
                    with Horizontal(classes="form-row"):
                        yield Label(label, classes="form-label")
                        yield Input(placeholder=placeholder, id=f"field-{key}", compact=True)
                    # the line under each field: blank (a spacer) until there is something to say
                    yield Static("", id=f"error-{key}", classes="field-error")
            yield Static("", id="form-error", classes="form-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Create (Enter)", id="create", variant="primary", compact=True)
                yield Button("Cancel (Esc)", id="cancel", compact=True)

    def __init__(self) -> None:
        super().__init__()
        #: field -> the message shown under it ("": the form as a whole)
        self.errors: dict[str, str] = {}
        #: fields whose messages come from field_problems (the rest come from the core, on Create)
        self._local: set[str] = set()

    #: Create was tried once: from then on the fields are checked as they change
    attempted = False

    def on_mount(self) -> None:
        self.query_one("#form-error", Static).display = False
        self.query_one("#field-name", Input).focus()

    def values(self) -> dict[str, str]:
        return {key: self.value(key) for key, _label, _placeholder in FIELDS}

    def on_input_changed(self, event: Input.Changed) -> None:
        """After a first Create, the messages follow the edits: each field says what is still
        wrong with it, and a core error goes once the field it was about is edited."""
        if not self.attempted or self.busy:
            return
        edited = (event.input.id or "").removeprefix("field-")
        core = {field: text for field, text in self.errors.items() if field not in self._local}
        core.pop(edited, None)
        if edited and "" in core:
            core.pop("")  # an error about the form as a whole: any edit may have fixed it
        self.show_errors(self._problems() + list(core.items()))

    def _problems(self) -> list[tuple[str, str]]:
        problems = field_problems(self.values())
        self._local = {field for field, _message in problems} | {"name", "prefix", "tags"}
        return problems

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
        problems = self._problems()
        if problems:
            self.show_errors(problems)
            self.query_one(f"#field-{problems[0][0]}", Input).focus()
            return
        prefix = self.value("prefix") or None
        description = self.value("description")
        tags = split_tags(self.value("tags"))
        import_dir = self.value("import_dir") or None
        workspace = self.value("workspace") or None
        self.show_errors([])
        self._form_error(Text("creating…", style="dim"))
        self.run_blocking(lambda: self.vm.projects.create(name, prefix=prefix, description=description, tags=tags,
                                                          import_dir=import_dir, workspace=workspace), self.dismiss,
                          group="create", failed=self._failed, task="creating project")

    def _failed(self, err: VmuserError) -> None:
        field = field_of(str(err)) or ""
        self.show_errors([(field, str(err))])
        if field:
            self.query_one(f"#field-{field}", Input).focus()

    @property
    def error_text(self) -> str:
        """Every message shown, one a line (field order; the form's own last)."""
        order = [key for key, _label, _placeholder in FIELDS] + [""]
        return "\n".join(self.errors[f] for f in order if f in self.errors)

    def show_errors(self, problems: list[tuple[str, str]]) -> None:
        """Show each ``(field, message)`` under its field (the first message of a field
        wins; field "" under the form) and mark those fields' inputs; clear the rest."""
        errors: dict[str, str] = {}
        for field, message in problems:
            errors.setdefault(field, message)
        self.errors = errors
        for key, _label, _placeholder in FIELDS:
            self.query_one(f"#error-{key}", Static).update(Text(errors.get(key, "")))
            self.query_one(f"#field-{key}", Input).set_class(key in errors, "-invalid")
        self._form_error(Text(errors.get("", "")))

    def _form_error(self, text: Text) -> None:
        box = self.query_one("#form-error", Static)
        box.update(text)
        box.display = bool(text.plain)  # no blank lines under the form when there is nothing to say

    def show_form_error(self, text: str, field: str = "") -> None:
        """Show one message (empty: clear them all) under ``field`` ("" : under the form)."""
        self.show_errors([(field, text)] if text else [])
