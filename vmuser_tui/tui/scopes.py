"""The registry of binding scopes: which screens a ``[keymap]`` can remap, and their ids.

One :class:`Scope` per screen (its class and the widgets that bind keys on it), plus the
app's own bindings (:class:`AppKeys`; ``VmuserApp.BINDINGS`` is its list). This module
imports the screens (inside :func:`scopes`, so importing it stays cheap) and never
``tui/app.py``: the app imports it, and :mod:`~vmuser_tui.tui.keymap_check` checks a
keymap against what it lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import ClassVar

from textual.binding import Binding, BindingType


class AppKeys:
    """The app's own bindings (help, quit, j/k, messages, settings), in a class as the
    screens' scopes hold classes: ``VmuserApp.BINDINGS`` is :attr:`BINDINGS`, so the
    registry lists them without importing the app."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help", key_display="?", id="app.help"),
        Binding("q", "back_or_quit", "Back (quit on the project list)", show=False, id="app.quit"),
        Binding("j", "cursor_down", "Down in a list (like ↓)", show=False, id="app.down"),
        Binding("k", "cursor_up", "Up in a list (like ↑)", show=False, id="app.up"),
        Binding("m", "messages", "Messages: notifications in full", show=False, id="app.messages"),
        Binding("comma", "settings", "Settings and theme", key_display=",", show=False, id="app.settings"),
        Binding("ctrl+e", "engines", "Engines: reachable, version, sessions", show=False, id="app.engines"),
    ]


@dataclass(frozen=True)
class Scope:
    """One screen: the binding ids of its chain (screen, its widgets, the app)."""

    name: str  # "project"
    prefix: str  # binding ids of this screen start with "<prefix>."
    classes: tuple[type, ...]

    @property
    def where(self) -> str:
        return "everywhere" if self.prefix == "app" else f"on the {self.name} screen"


@cache
def scopes() -> tuple[Scope, ...]:
    """Every screen whose bindings a ``[keymap]`` can remap (the app's own: prefix ``app``),
    in the order the README lists them. Imports every screen (~40 ms) the first time."""
    from vmuser_tui.tui.screens import (
        annotate,
        confirm,
        container_logs,
        diff,
        edit_project,
        engine_picker,
        engines,
        exec_output,
        files,
        help,
        log,
        new_project,
        output,
        project,
        projects,
        prompt,
        restore_confirm,
        settings,
    )

    return (
        Scope("projects", "projects", (projects.ProjectsScreen, projects.ProjectTable)),
        Scope("project", "project", (project.ProjectScreen,)),
        Scope("container logs", "logs", (container_logs.ContainerLogsScreen,)),
        Scope("annotate", "annotate", (annotate.AnnotateScreen,)),
        Scope("diff", "diff", (diff.DiffScreen,)),
        Scope("files", "files", (files.FilesScreen,)),
        Scope("checkpoint picker", "pick", (files.CheckpointPicker,)),
        Scope("operation log", "log", (log.LogScreen,)),
        Scope("help", "help", (help.HelpScreen,)),
        Scope("confirm", "confirm", (confirm.ConfirmScreen,)),
        Scope("prompt", "prompt", (prompt.PromptScreen,)),
        Scope("output", "output", (output.OutputScreen,)),
        Scope("command output", "exec", (exec_output.ExecOutputScreen,)),
        Scope("new-project", "new", (new_project.NewProjectScreen,)),
        Scope("edit-project", "edit", (edit_project.EditProjectScreen,)),
        Scope("restore", "restore", (restore_confirm.RestoreConfirmScreen,)),
        Scope("settings", "settings", (settings.SettingsScreen,)),
        Scope("setting editor", "setting", (settings.SettingEditScreen,)),
        Scope("theme picker", "theme", (settings.ThemeScreen,)),
        Scope("engines", "engines", (engines.EnginesScreen,)),
        Scope("engine picker", "engine", (engine_picker.EnginePicker,)),
        Scope("app", "app", (AppKeys,)),
    )


def defaults(classes: tuple[type, ...]) -> dict[str, list[str]]:
    """Binding id -> its default keys (in declaration order), for ``classes``."""
    from textual.binding import Binding

    out: dict[str, list[str]] = {}
    for cls in classes:
        for binding in Binding.make_bindings(cls.__dict__.get("BINDINGS", [])):
            if binding.id:
                keys = out.setdefault(binding.id, [])
                if binding.key not in keys:
                    keys.append(binding.key)
    return out


def known_ids() -> dict[str, list[str]]:
    """Prefix -> the binding ids of that screen, sorted."""
    return {scope.prefix: sorted(defaults(scope.classes)) for scope in scopes()}


def all_binding_ids() -> set[str]:
    """Every binding id of every screen, for validating ``[keymap]``."""
    return {ident for ids in known_ids().values() for ident in ids}
