"""The edit-project form (issue 13, "the edits users miss"): name, description, image and
tags of a project, saved with ``vm.projects.update`` (what ``vmuser project update`` does).

The fields open with the project's values; Save sends only what was edited (tags as the
tags added and removed), so a project renamed meanwhile by another client keeps the name
unless the name was edited here. What is wrong shows inline, under the field the core's
message is about (a bad name or tag), as on the new-project form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Static

from vmuser_tui.core.errors import VmuserError
from vmuser_tui.core.models import Project
from vmuser_tui.tui.screens.base import VmuserModal
from vmuser_tui.tui.screens.new_project import split_tags
from vmuser_tui.tui.styles import css
from vmuser_tui.tui.widgets.cells import clip

FIELDS = (
    ("name", "Name", "1-200 printable characters"),
    ("description", "Description", "free text (empty clears it)"),
    ("image", "Image", "container image of its next sessions (empty: [docker] image)"),
    ("tags", "Tags", "comma or space separated"),
)


@dataclass
class Changes:
    """What the form changes: the keyword arguments of ``vm.projects.update`` (only the
    fields edited; ``add_tags``/``remove_tags`` from the tags field)."""

    name: str | None = None
    description: str | None = None
    image: str | None = None
    add_tags: list[str] = field(default_factory=list)
    remove_tags: list[str] = field(default_factory=list)

    def any(self) -> bool:
        return any(v not in (None, []) for v in self.__dict__.values())

    def kwargs(self) -> dict[str, Any]:
        return dict(self.__dict__)


def changes(project: Project, values: dict[str, str]) -> Changes:
    """The edits of ``values`` (field -> text as typed, stripped) against ``project``."""
    out = Changes()
    if values["name"] != project.name:
        out.name = values["name"]
    if values["description"] != project.description:
        out.description = values["description"]
    if values["image"] != (project.image or ""):
        out.image = values["image"]
    tags = split_tags(values["tags"])
    out.add_tags = [t for t in dict.fromkeys(tags) if t not in project.tags]
    out.remove_tags = [t for t in project.tags if t not in tags]
    return out


def field_of(message: str) -> str:
    """Which field a core error is about, from its wording ("": the form as a whole)."""
    text = message.lower()
    for word, name in (("tag", "tags"), ("image", "image"), ("description", "description"), ("name", "name")):
        if word in text:
            return name
    return ""


class EditProjectScreen(VmuserModal["Project | None"]):
    """Saves in a worker and dismisses with the updated project, or None (Esc, or nothing
    edited). Enter in a field or ctrl+s saves; Tab moves between the fields."""

    CSS_PATH = css("edit_project")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="edit.cancel"),
        Binding("ctrl+s", "save", "Save", id="edit.save"),
        # priority, as on the new-project form: "abc<Tab>def" typed in one burst lands in two fields
        Binding("tab", "app.focus_next", "Next field", show=False, priority=True, id="edit.next_field"),
        Binding("shift+tab", "app.focus_previous", "Previous field", show=False, priority=True,
                id="edit.previous_field"),
    ]

    def __init__(self, project: Project) -> None:
        super().__init__()
        self.project = project
        #: field -> the message shown under it ("": the form as a whole)
        self.errors: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        p = self.project
        values = {"name": p.name, "description": p.description, "image": p.image or "", "tags": " ".join(p.tags)}
        with Vertical(id="dialog", classes="dialog"):
            yield Label(Text(f"Edit project {clip(p.name, 40)} ({p.id})"), id="dialog-title")
            with Vertical(id="form"):
                for key, label, placeholder in FIELDS:
                    with Horizontal(classes="form-row"):
                        yield Label(label, classes="form-label")
                        # no select-on-focus: its select-all lands after the keys of a burst typed
                        # over SSH ("ab<Tab>cd" in one read) and replaced what they typed; the
                        # cursor starts at the end, ctrl+u clears the field
                        yield Input(values[key], placeholder=placeholder, id=f"field-{key}", compact=True,
                                    select_on_focus=False)
                    yield Static("", id=f"error-{key}", classes="field-error")
            yield Static("", id="form-error", classes="form-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save (Enter)", id="save", variant="primary", compact=True)
                yield Button("Cancel (Esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#form-error", Static).display = False
        self.query_one("#field-name", Input).focus()

    def values(self) -> dict[str, str]:
        return {key: self.query_one(f"#field-{key}", Input).value.strip() for key, _label, _placeholder in FIELDS}

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "save":
            self.action_save()
        else:
            self.action_cancel()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_save(self) -> None:
        if self.busy or self.refuse_read_only("edit project"):
            return
        edits = changes(self.project, self.values())
        if not edits.any():
            self.notify(f"{self.project.name}: nothing changed")
            self.dismiss(None)
            return
        self.show_errors([])
        pid = self.project.id
        self.run_blocking(lambda: self.vm.projects.update(pid, **edits.kwargs()), self.dismiss, group="save",
                          failed=self._failed, task="saving project")

    def _failed(self, err: VmuserError) -> None:
        where = field_of(str(err))
        self.show_errors([(where, str(err))])
        if where:
            self.query_one(f"#field-{where}", Input).focus()

    @property
    def error_text(self) -> str:
        """Every message shown, one a line."""
        return "\n".join(self.errors.values())

    def show_errors(self, problems: list[tuple[str, str]]) -> None:
        """Each ``(field, message)`` under its field ("" under the form); the rest cleared."""
        self.errors = dict(problems)
        for key, _label, _placeholder in FIELDS:
            self.query_one(f"#error-{key}", Static).update(Text(self.errors.get(key, "")))
            self.query_one(f"#field-{key}", Input).set_class(key in self.errors, "-invalid")
        box = self.query_one("#form-error", Static)
        box.update(Text(self.errors.get("", "")))
        box.display = "" in self.errors
