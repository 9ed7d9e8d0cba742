"""Custom commands in the TUI: bound on the screens of their scope, listed in help and the
command palette, run with their output streamed into
:class:`~vmuser_tui.tui.screens.exec_output.ExecOutputScreen`.

A screen that takes custom commands mixes in :class:`CustomCommandsMixin`, sets
``COMMAND_SCOPES`` (the project screen: project, session, checkpoint; the files screen:
file) and implements ``command_targets()`` (what is selected: :class:`Targets`); the mixin
binds the keys when the screen mounts and routes ``custom_command(i)`` to :func:`run`. The commands
are the app's ``commands`` (config's ``[[commands]]`` less those whose key collides, see
:mod:`~vmuser_tui.tui.command_keys`).

Bindings are added to the screen instance's own binding map (Textual's ``_bindings``, a
per-instance copy of the class's), with ids ``command.<name>``: the key works whichever
table has the focus, as the screen's own bindings do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.binding import Binding

from vmuser_tui.core.custom_commands import PLACEHOLDERS, CommandContext, CustomCommand, expand, missing
from vmuser_tui.core.redact import redact_argv
from vmuser_tui.tui.screens.base import WorkerMixin
from vmuser_tui.tui.widgets.cells import clip

if TYPE_CHECKING:  # pragma: no cover
    from vmuser_tui.core.runtime.base import ExecOutcome, OutputSink
    from vmuser_tui.core.runtime.exec_control import ExecControl

ACTION = "custom_command"


@dataclass(frozen=True)
class Targets:
    """What is selected on the screen a command runs from (ids; None: nothing)."""

    project_id: str
    session_id: str | None = None  # a host command's {session}
    exec_session_id: str | None = None  # where a container command runs (a running Docker session)
    checkpoint_id: str | None = None
    path: str | None = None


def commands_for(host: WorkerMixin, scopes: tuple[str, ...]) -> list[tuple[int, CustomCommand]]:
    """``(index in the app's list, command)`` for the commands bound on a screen of ``scopes``."""
    return [(i, c) for i, c in enumerate(getattr(host.vapp, "commands", [])) if c.scope in scopes]


def key_of(cmd: CustomCommand) -> str:
    """The Textual key name ``cmd`` is bound on (``"/"`` -> ``"slash"``), as ``[keymap]``
    values are read (:func:`~vmuser_tui.tui.keymap_check._normalize`; not imported: the
    key checks import the screens, which import this module)."""
    from textual.keys import _character_to_key

    key = cmd.key.strip()
    return _character_to_key(key) if len(key) == 1 else key


def bind(host: WorkerMixin, scopes: tuple[str, ...]) -> None:
    """Bind the custom commands of ``scopes`` on ``host`` (a screen instance)."""
    for index, cmd in commands_for(host, scopes):
        binding = Binding(key_of(cmd), f"{ACTION}({index})", cmd.name, show=False, id=cmd.ident,
                          tooltip=describe(cmd))
        host._bindings.key_to_bindings.setdefault(binding.key, []).append(binding)


def bindings(host: WorkerMixin, scopes: tuple[str, ...]) -> list[Binding]:
    """The bindings :func:`bind` adds (for the help screen and the palette)."""
    return [Binding(key_of(cmd), f"{ACTION}({index})", cmd.name, show=False, id=cmd.ident, tooltip=describe(cmd))
            for index, cmd in commands_for(host, scopes)]


def allowed(host: WorkerMixin, index: int) -> bool:
    """False for a changing command in read-only mode (greyed in help, left out of the palette)."""
    cmds = getattr(host.vapp, "commands", [])
    return not (0 <= index < len(cmds) and cmds[index].changes and host.vapp.read_only)


def describe(cmd: CustomCommand) -> str:
    """``tests · container command``: the help screen's and palette's text (short: help
    adds "(read-only)" and cuts at 80 columns)."""
    return f"{cmd.name} · {cmd.where} command{' (changes)' if cmd.changes else ''}"


def run(host: WorkerMixin, index: int, targets: Targets) -> None:
    """Run the app's command number ``index`` from ``host``: the write guard for a
    changing one, the placeholders filled (a worker looks the names up), a confirmation
    when asked for, then its output streamed into the output view."""
    cmds = getattr(host.vapp, "commands", [])
    if not 0 <= index < len(cmds):
        return
    cmd = cmds[index]
    if cmd.changes and not host.guard_write(f"command {cmd.name}"):
        return
    if cmd.where == "container" and targets.exec_session_id is None and targets.session_id is None \
            and type(host).__name__ == "ProjectScreen":
        host.notify(f"command {cmd.name!r} runs in a container: start a Docker session first "
                    f"({host.key('project.start', 's')})", severity="warning")
        return
    session_id = targets.exec_session_id if cmd.where == "container" else targets.session_id
    vm = host.vm

    def got(context: CommandContext) -> None:
        absent = missing(cmd, context)
        if absent:
            name = absent[0]
            host.notify(f"command {cmd.name!r}: {{{name}}} has no value here ({PLACEHOLDERS[name]})",
                        title="Refused", severity="warning")
            return
        if cmd.where == "container" and context.session is None:
            host.notify(f"command {cmd.name!r} runs in a container: this project has no running Docker session",
                        severity="warning")
            return
        argv = expand(cmd, context)
        if cmd.confirm:
            from vmuser_tui.tui.screens.confirm import ConfirmScreen

            where = (f"in container {context.container}" if cmd.where == "container"
                     else f"on the host, in {context.workspace}")
            body = Text.assemble(("$ " + " ".join(_quote(w) for w in redact_argv(argv)), "bold"), f"\n\n{where}")

            def answer(yes: bool | None) -> None:
                if yes:
                    _show(host, cmd, context, targets.project_id, argv)

            host.vapp.push_screen(ConfirmScreen(f"Run {cmd.name}?", body, confirm_label="Run",
                                                danger=cmd.changes), answer)
            return
        _show(host, cmd, context, targets.project_id, argv)

    host.run_blocking(lambda: vm.commands.context(cmd, targets.project_id, session_id=session_id,
                                                  checkpoint_id=targets.checkpoint_id, path=targets.path),
                      got, group="command")


def _quote(word: str) -> str:
    import shlex

    return shlex.quote(word)


def _show(host: WorkerMixin, cmd: CustomCommand, context: CommandContext, project_id: str, argv: list[str]) -> None:
    from vmuser_tui.tui.screens.exec_output import ExecOutputScreen

    vm = host.vm
    shown = " ".join(_quote(w) for w in redact_argv(argv))
    target = f"container {context.container}" if cmd.where == "container" else "host"
    title = f"{cmd.name}: $ {clip(shown, 50)}  [{context.container if cmd.where == 'container' else 'host'}]"

    def runner(on_output: OutputSink, control: ExecControl) -> ExecOutcome:
        return vm.commands.run(cmd, context, project_id, session_id=context.session, on_output=on_output,
                               control=control)

    host.vapp.push_screen(ExecOutputScreen(None, argv, title, runner=runner, target=target))


class CustomCommandsMixin(WorkerMixin):
    """The custom commands of ``COMMAND_SCOPES`` on a screen: bound when it mounts, listed
    by the help screen and the palette (``custom_bindings``), run by ``custom_command(i)``."""

    COMMAND_SCOPES: ClassVar[tuple[str, ...]] = ()

    def command_targets(self) -> Targets | None:
        """What a custom command works on here (the selection), or None: nothing."""
        return None

    def on_mount(self) -> None:
        # Textual calls this as well as the screen's own on_mount (handlers run along the MRO)
        bind(self, self.COMMAND_SCOPES)

    def custom_bindings(self) -> list[Binding]:
        """This screen's custom-command bindings (help screen, command palette)."""
        return bindings(self, self.COMMAND_SCOPES)

    def custom_allowed(self, action: str) -> bool:
        """False for a changing custom command in read-only mode (``action``: ``custom_command(i)``)."""
        try:
            return allowed(self, int(action.partition("(")[2].rstrip(")")))
        except ValueError:
            return True

    def action_custom_command(self, index: int) -> None:
        targets = self.command_targets()
        if targets is not None:
            run(self, index, targets)
