"""Settings: every setting of the config schema with its value, where the value comes
from and what it does; edit (validated by the config module itself), pick a theme (live),
save to the config file with tomli-w after a confirmation that names the file."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import DataTable, Footer, Header, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from vmuser_tui.core import config as cfg
from vmuser_tui.core.errors import ConfigError
from vmuser_tui.tui.screens.base import VmuserModal, VmuserScreen
from vmuser_tui.tui.styles import css
from vmuser_tui.tui.widgets.status import StatusLine
from vmuser_tui.tui.widgets.tables import Fit, refill

_SIZE_SUFFIXES = (("t", 1024**4), ("g", 1024**3), ("m", 1024**2), ("k", 1024))
SOURCE_STYLE = {"default": "dim", "file": "", "env": "bold cyan", "option": "bold cyan", "edited": "bold yellow"}


def size_text(value: Any) -> str:
    """Bytes as the config file would say them: ``1073741824`` -> ``'1g'``, ``1500`` -> ``'1500'``."""
    if isinstance(value, str):
        return value.strip()
    for suffix, unit in _SIZE_SUFFIXES:
        if value and value % unit == 0:
            return f"{value // unit}{suffix}"
    return str(value)


def value_text(setting: cfg.Setting, value: Any) -> str:
    """A value the way it is typed in the edit field (and shown in the list)."""
    if setting.kind == "size":
        return size_text(value)
    if setting.kind == "bool":
        return "true" if value else "false"
    if setting.kind == "list":
        return ", ".join(value)
    if setting.kind == "float":
        return f"{value:g}"
    return str(value)


def facts(setting: cfg.Setting) -> str:
    """``'size · default 1g · at least 4m'``."""
    parts = [setting.kind, f"default {value_text(setting, setting.default) or chr(39) * 2}"]
    fmt = (lambda n: size_text(int(n))) if setting.kind == "size" else (lambda n: f"{n:g}")
    if setting.minimum is not None:
        parts.append(f"at least {fmt(setting.minimum)}")
    if setting.maximum is not None:
        parts.append(f"at most {fmt(setting.maximum)}")
    if setting.choices:
        parts.append("one of " + ", ".join(setting.choices))
    return " · ".join(parts)


def env_name(section: str, key: str) -> str:
    return f"VMUSER_{section.upper()}_{key.upper()}"


class SettingsScreen(VmuserScreen):
    """The settings of ``vm.config`` grouped by section. Edits stay pending (marked
    "edited") until saved; leaving with pending edits asks first. Read-only: view only."""

    HELP_NAME = "settings"
    CSS_PATH = css("settings")
    WRITE_ACTIONS = frozenset({"edit", "theme", "reset", "save"})
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="settings.back"),
        Binding("enter", "edit", "Edit", id="settings.edit"),
        Binding("t", "theme", "Theme", id="settings.theme"),
        Binding("d", "reset", "Default", id="settings.reset"),
        Binding("ctrl+s", "save", "Save", id="settings.save"),
    ]

    def __init__(self) -> None:
        super().__init__()
        #: (section, key) -> (what the file gets: None means back to the default, effective value)
        self.edits: dict[tuple[str, str], tuple[Any, Any]] = {}
        self.rows: list[tuple[str, str | None]] = []  # (section, key); key None: the section's heading
        self._theme_before: str | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="settings-file", classes="nowrap")
        yield DataTable(id="settings", cursor_type="row")
        yield Static("", id="settings-doc")
        yield StatusLine()
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.sub_title = "settings"
        table = self.query_one("#settings", DataTable)
        for label, key in (("Setting", "key"), ("Value", "value"), ("From", "source")):
            table.add_column(label, key=key)
        table.focus()

    @property
    def config(self) -> cfg.Config:
        return self.vm.config

    # -- values -----------------------------------------------------------------------
    def effective(self, section: str, key: str) -> Any:
        if (section, key) in self.edits:
            return self.edits[(section, key)][1]
        return self.config.values[section][key]

    def source(self, section: str, key: str) -> str:
        if (section, key) in self.edits:
            return "edited"
        return self.config.sources.get((section, key), "default")

    def _editable(self) -> tuple[str, str] | None:
        """``(section, key)`` of the highlighted setting when it may be edited now (not
        read-only, nothing running, a setting row rather than a section heading)."""
        if not self.guard_write("editing settings"):
            return None
        here = self.selected()
        if here is None or here[1] is None:
            return None
        return here[0], here[1]

    def selected(self) -> tuple[str, str | None] | None:
        table = self.query_one("#settings", DataTable)
        return self.rows[table.cursor_row] if 0 <= table.cursor_row < len(self.rows) else None

    def reload(self) -> None:
        """Draw the list from the config and the pending edits (no I/O: the config is in memory)."""
        table = self.query_one("#settings", DataTable)
        row = table.cursor_row
        self.rows = []
        cells: list[tuple[list[Text | Fit], str]] = []  # (cells, row key) for refill
        for section, settings in cfg.SCHEMA.items():
            self.rows.append((section, None))
            cells.append(([Text(f"[{section}]", style="bold"), Fit.text(""), Text("")], f"[{section}]"))
            for key, setting in settings.items():
                self.rows.append((section, key))
                value = value_text(setting, self.effective(section, key))
                source = self.source(section, key)
                empty = "[]" if setting.kind == "list" else "''"
                cells.append(([Text(f"  {key}"), Fit.text(value or empty, style="" if value else "dim"),
                               Text(source, style=SOURCE_STYLE.get(source, ""))], f"{section}.{key}"))
        refill(table, cells, width=self.size.width or None)
        if row:
            table.move_cursor(row=min(row, len(self.rows) - 1), animate=False)
        path = self.config.path
        head = Text(no_wrap=True, overflow="ellipsis")
        head.append("File: ", style="dim")
        head.append(str(path), style="bold")
        if not path.exists():
            head.append(" (not present: defaults; saving creates it)", style="dim")
        if self.config.keymap:
            n = len(self.config.keymap)
            head.append(f" · [keymap]: {n} key{'s' if n != 1 else ''} remapped (edit the file; ? lists ids)",
                        style="dim")
        n = len(self.config.session_env) + sum(len(env) for env in self.config.project_env.values())
        if n:  # free-form tables (core.config.ENV_TABLES): edited in the file, values never shown here
            head.append(f" · [session.env]/[projects.*.env]: {n} variable{'s' if n != 1 else ''} (edit the file)",
                        style="dim")
        self.query_one("#settings-file", Static).update(head)
        self.show_doc()
        self._status()

    def on_resize(self) -> None:
        if self.rows:
            self.reload()

    def _status(self) -> None:
        if self.vapp.read_only:
            message = "read-only: view only"
        elif self.edits:
            n = len(self.edits)
            message = (f"{n} unsaved change{'s' if n != 1 else ''} · {self.key('settings.save', '^s')}: save · "
                       f"{self.key('settings.back', 'esc')}: discard")
        else:
            message = (f"{self.key('settings.edit', 'enter')}: edit · {self.key('settings.theme', 't')}: theme · "
                       f"{self.key('settings.reset', 'd')}: default")
        self.query_one(StatusLine).message = message

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_doc()

    def show_doc(self) -> None:
        """What the highlighted setting does, its type, default and bounds."""
        doc = self.query_one("#settings-doc", Static)
        here = self.selected()
        if here is None:
            doc.update("")
            return
        section, key = here
        if key is None:
            n = len(cfg.SCHEMA[section])
            doc.update(Text(f"[{section}]: {n} setting{'s' if n != 1 else ''}", style="dim"))
            return
        setting = cfg.SCHEMA[section][key]
        text = Text()
        text.append(f"[{section}] {key}", style="bold")
        text.append(f"  {facts(setting)}\n", style="dim")
        text.append(setting.doc)
        source = self.config.sources.get((section, key))
        if source == "env":
            text.append(f"\nSet by {env_name(section, key)}: the environment wins over the file.", style="cyan")
        elif source == "option":
            text.append("\nSet on the command line: it wins over the file.", style="cyan")
        doc.update(text)

    # -- editing ----------------------------------------------------------------------
    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_edit()

    def _set(self, section: str, key: str, file_value: Any, value: Any) -> None:
        """Record an edit; one that brings back the value already in effect is dropped."""
        if value == self.config.values[section][key] and self.config.sources.get((section, key)) != "env":
            self.edits.pop((section, key), None)
        else:
            self.edits[(section, key)] = (file_value, value)
        self.reload()

    def action_edit(self) -> None:
        """Enter: a true/false setting flips; the theme opens the picker; others a field."""
        here = self._editable()
        if here is None:
            return
        section, key = here
        setting = cfg.SCHEMA[section][key]
        if (section, key) == ("ui", "theme"):
            self.action_theme()
        elif setting.kind == "bool":
            value = not self.effective(section, key)
            self._set(section, key, value, value)
        else:
            def answer(result: tuple[Any, Any] | None) -> None:
                if result is not None:
                    self._set(section, key, *result)

            current = value_text(setting, self.effective(section, key))
            self.app.push_screen(SettingEditScreen(section, key, current), answer)

    def action_reset(self) -> None:
        """Back to the built-in default (the key leaves the file on save)."""
        here = self._editable()
        if here is None:
            return
        section, key = here
        setting = cfg.SCHEMA[section][key]
        default = cfg.parse_text(section, key, value_text(setting, setting.default)) if setting.kind != "list" \
            else list(setting.default)
        if self.config.sources.get((section, key), "default") == "default":
            if (section, key) not in self.edits:
                self.notify(f"[{section}] {key} is already the default", timeout=3)
                return
            del self.edits[(section, key)]  # the edit goes; the default was in effect all along
        else:
            self.edits[(section, key)] = (None, default)
        if section == "ui" and key == "theme":
            self._apply_theme(str(default))
        self.reload()

    # -- theme ------------------------------------------------------------------------
    def _apply_theme(self, name: str) -> None:
        if name in self.app.available_themes:
            self.app.theme = name

    def action_theme(self) -> None:
        """Pick a theme from Textual's themes; it applies as the cursor moves."""
        if not self.guard_write("choosing a theme"):
            return
        before = self.app.theme

        def answer(name: str | None) -> None:
            if name is None:
                self._apply_theme(before)
                return
            self._apply_theme(name)
            self._set("ui", "theme", name, name)
            self._select_row("ui", "theme")

        self.app.push_screen(ThemeScreen(before), answer)

    def _select_row(self, section: str, key: str) -> None:
        if (section, key) in self.rows:
            self.query_one("#settings", DataTable).move_cursor(row=self.rows.index((section, key)), animate=False)

    # -- saving -----------------------------------------------------------------------
    def changes(self) -> dict[tuple[str, str], Any]:
        return {where: file_value for where, (file_value, _value) in self.edits.items()}

    def action_save(self) -> None:
        """Check the new file (as ``load`` would), then confirm naming the file, then write."""
        if not self.guard_write("saving settings"):
            return
        if not self.edits:
            self.notify("no changes to save", timeout=3)
            return
        path = self.config.path
        changes = self.changes()
        self.run_blocking(lambda: (cfg.save(path, changes, dry_run=True), cfg.comment_lines(path)),
                          lambda got: self._confirm_save(changes, *got), group="save")

    def _describe_edits(self) -> Text:
        body = Text()
        for (section, key), (file_value, value) in self.edits.items():
            setting = cfg.SCHEMA[section][key]
            body.append(f"  [{section}] {key}", style="bold")
            if file_value is None:
                body.append(f" back to the default ({value_text(setting, value) or chr(39) * 2})\n")
            else:
                body.append(f" = {value_text(setting, value) or chr(39) * 2}\n")
        return body

    def _confirm_save(self, changes: dict, text: str, comments: int) -> None:
        from vmuser_tui.tui.screens.confirm import ConfirmScreen

        path = self.config.path
        n = len(changes)
        body = Text()
        body.append(f"{n} change{'s' if n != 1 else ''}:\n")
        body.append_text(self._describe_edits())
        body.append("\n")
        if path.exists():
            body.append("The file is rewritten: only values that differ from the defaults, and [keymap], are kept.")
            if comments:
                body.append(f" Its {comments} comment line{'s' if comments != 1 else ''} and its formatting are lost.",
                            style="bold")
        else:
            body.append("The file is created with the values that differ from the defaults.")
        shadowed = [env_name(s, k) for (s, k) in changes if self.config.sources.get((s, k)) == "env"]
        if shadowed:
            body.append(f"\n{', '.join(shadowed)} still win{'s' if len(shadowed) == 1 else ''} over the file.")

        def answer(yes: bool | None) -> None:
            if yes:
                self.run_blocking(lambda: cfg.save(path, changes), lambda _text: self._saved(changes),
                                  group="save", task="saving settings")

        self.app.push_screen(
            ConfirmScreen(f"Save settings to {path}?", body, confirm_label="Save", danger=bool(comments)), answer)

    def _saved(self, changes: dict) -> None:
        """The running app takes the new values (those not overridden by env or options)."""
        config = self.config
        for (section, key), (file_value, value) in self.edits.items():
            if config.sources.get((section, key)) in ("env", "option"):
                continue
            config.values[section][key] = value
            config.sources[(section, key)] = "default" if file_value is None else "file"
        n = len(changes)
        self.edits.clear()
        self.reload()
        self.vapp.notify(f"saved {n} setting{'s' if n != 1 else ''} to {config.path}",
                        details="Some settings (data dir, read-only, Docker) apply from the next start.")

    # -- leaving ----------------------------------------------------------------------
    def action_back(self) -> None:
        """Back; with unsaved edits, ask first (and put the theme back when they are discarded)."""
        if not self.edits:
            self.app.pop_screen()
            return
        from vmuser_tui.tui.screens.confirm import ConfirmScreen

        n = len(self.edits)
        body = Text("Not saved, lost when you leave:\n")
        body.append_text(self._describe_edits())

        def answer(yes: bool | None) -> None:
            if yes:
                self.edits.clear()
                saved = self.config.values["ui"]["theme"]
                self._apply_theme(saved if saved in self.app.available_themes else "textual-dark")
                self.app.pop_screen()

        self.app.push_screen(ConfirmScreen(f"Discard {n} unsaved change{'s' if n != 1 else ''}?", body,
                                           confirm_label="Discard"), answer)


class SettingEditScreen(VmuserModal["tuple[Any, Any] | None"]):
    """One setting in a field; Enter checks it with the config module's own rules (the
    same one-line message a bad file gets) and dismisses with ``(file value, value)``."""

    CSS_PATH = css("settings")
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="setting.cancel")]

    def __init__(self, section: str, key: str, current: str) -> None:
        super().__init__()
        self.section = section
        self.key_name = key
        self.setting = cfg.SCHEMA[section][key]
        self.current = current

    def compose(self) -> ComposeResult:
        setting = self.setting
        with Vertical(id="dialog", classes="dialog"):
            yield Label(Text(f"[{self.section}] {self.key_name}"), id="dialog-title")
            yield Static(Text(setting.doc), id="setting-doc")
            yield Static(Text(facts(setting) + (" · comma separated" if setting.kind == "list" else ""), style="dim"),
                         id="setting-facts")
            yield Input(value=self.current, id="setting-input")
            yield Static("", id="setting-error", classes="form-error")
            yield Static(Text("Enter: keep (^s on the list saves)   Esc: cancel"), classes="dialog-hint")

    def on_input_changed(self, event: Input.Changed) -> None:
        self.query_one("#setting-error", Static).update("")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        try:
            value = cfg.parse_text(self.section, self.key_name, text)
        except ConfigError as err:
            self.query_one("#setting-error", Static).update(Text(str(err)))
            return
        # a size keeps the user's spelling ("2g") in the file; everything else its value
        self.dismiss((text if self.setting.kind == "size" else value, value))

    def action_cancel(self) -> None:
        self.dismiss(None)


class ThemeScreen(VmuserModal["str | None"]):
    """Textual's themes; the highlighted one applies at once. Enter keeps it, Esc goes back."""

    CSS_PATH = css("settings")
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="theme.cancel")]

    def __init__(self, current: str) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        names = sorted(self.app.available_themes)
        with Vertical(id="dialog", classes="dialog"):
            yield Label(Text("Theme"), id="dialog-title")
            yield OptionList(*(Option(name, id=name) for name in names), id="theme-list")
            yield Static(Text("↑↓: try   Enter: choose   Esc: back to " + self.current), classes="dialog-hint")

    def on_mount(self) -> None:
        options = self.query_one("#theme-list", OptionList)
        names = sorted(self.app.available_themes)
        if self.current in names:
            options.highlighted = names.index(self.current)
        options.focus()

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id:
            self.app.theme = event.option.id

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
