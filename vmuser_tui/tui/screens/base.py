"""What every vmuser screen shares: thread workers with error reporting, read-only
guards, progress messages and the binding table that the help screen shows.

Blocking service calls (SQLite, Docker, capture, restore, diff) never run on the event
loop: :meth:`WorkerMixin.run_blocking` runs them in a thread worker and calls back on
the UI thread. A :class:`~vmuser_tui.core.errors.VmuserError` becomes an error
notification with its one-line message; anything else is reported, never raised.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

from textual import events
from textual.app import App
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.dom import DOMNode
from textual.message import Message
from textual.screen import ModalScreen, Screen

from vmuser_tui.core.errors import VmuserError, damaged_database
from vmuser_tui.tui.widgets.taskbar import TaskBar

if TYPE_CHECKING:  # pragma: no cover
    from vmuser_tui.core.service import Vmuser
    from vmuser_tui.tui.app import VmuserApp

    # The mixin is only ever mixed into a Screen; telling the type checker so lets it check
    # self.app, self.notify, self.run_worker... At run time it stays a plain mixin.
    _MixinBase = Screen[Any]
else:
    _MixinBase = object


#: What a worker's ``fn`` returns and its ``done`` callback gets (run_blocking keeps it typed).
Result = TypeVar("Result")


class TaskProgress(Message):
    """Posted (thread-safely) by a progress callback running in a worker thread."""

    def __init__(self, done: int, total: int, bytes_done: int, bytes_total: int, line: str = "") -> None:
        super().__init__()
        self.done = done
        self.total = total
        self.bytes_done = bytes_done
        self.bytes_total = bytes_total
        self.line = line  # the latest line of output (an image build): shown instead of counts


class WorkerMixin(_MixinBase):
    """Thread workers for Screens and ModalScreens (mixed into both)."""

    #: Actions that change something; hidden and refused in read-only mode.
    WRITE_ACTIONS: ClassVar[frozenset[str]] = frozenset()

    busy: str | None = None

    @property
    def vapp(self) -> VmuserApp:
        """The app, typed (posting's ``cast("Posting", self.app)``): use this, never
        ``getattr(self.app, ...)``."""
        return cast("VmuserApp", self.app)

    @property
    def vm(self) -> Vmuser:
        return self.vapp.vm

    # -- the one write guard ----------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # a changing action while writes are hidden (read-only mode, a checkpoint browsed) or
        # refused by the screen while some state lasts: hidden from the footer and not run
        return not (action in self.WRITE_ACTIONS and (self.writes_hidden() or self.standing_refusal(action)))

    def writes_hidden(self) -> bool:
        """True while every changing action (``WRITE_ACTIONS``) is hidden and its key says
        why (:meth:`write_refusal`): read-only mode; screens add their own (``super()...
        or``), e.g. a checkpoint browsed never changes."""
        return self.vapp.read_only

    def standing_refusal(self, action: str) -> str | None:
        """Why the changing binding ``action`` (an action name in ``WRITE_ACTIONS``) is refused
        for as long as some state of the screen lasts (another client holds the session), or
        None. Its binding hides from the footer and its key says why (:meth:`on_key`); the
        screen's :meth:`write_refusal` should include it. None here."""
        return None

    def key(self, binding_id: str, default: str) -> str:
        """The key shown in hints for ``binding_id`` (remapped keys included)."""
        return self.vapp.key(binding_id, default)

    def write_refusal(self, action: str) -> str | None:
        """Why the changing ``action`` (a short lower-case label such as ``"restore"``)
        may not run here now, as one line, or None when it may. The one write guard:
        screens extend it (``super().write_refusal(action) or ...``) with their own
        reasons (another client holds the session, a past checkpoint is read-only)."""
        if self.vapp.read_only:
            return f"read-only mode: {action} is disabled"
        if self.busy:
            return f"wait: {self.busy} is still running"
        return None

    def guard_write(self, action: str) -> bool:
        """True when ``action`` may run; otherwise a warning notification says why
        (:meth:`write_refusal`) and False."""
        why = self.write_refusal(action)
        if why is None:
            return True
        self.notify(why, title="Refused" if why.startswith("read-only") else "", severity="warning")
        return False

    def refuse_read_only(self, what: str) -> bool:
        """True (and a notification) when the app is read-only."""
        if self.vapp.read_only:
            self.notify(f"read-only mode: {what} is disabled", title="Refused", severity="warning")
            return True
        return False

    def on_key(self, event: events.Key) -> None:
        """While writes are hidden (:meth:`writes_hidden`) or the screen refuses one for now
        (:meth:`standing_refusal`), a key bound to a changing action says why nothing happens
        (check_action hides such bindings, so they would otherwise do nothing silently)."""
        binding = self.write_binding(event.key)
        if binding is None:
            return
        if self.writes_hidden():
            event.stop()
            event.prevent_default()
            self.guard_write((binding.description or binding.action).lower())
        elif why := self.standing_refusal(binding.action):
            event.stop()
            event.prevent_default()
            self.notify(why, title="Refused", severity="warning")

    def write_binding(self, key: str) -> Binding | None:
        """This screen's Binding of a changing action (one in ``WRITE_ACTIONS``) for ``key``,
        or None. Hidden bindings do not fire, so a guard uses this to say why nothing happens."""
        for namespace, bindings in self.screen._modal_binding_chain:
            if namespace is not self:
                continue
            for binding in bindings.key_to_bindings.get(key, ()):
                if binding.action in self.WRITE_ACTIONS:
                    return binding
        return None

    # -- workers --------------------------------------------------------------------
    def run_blocking(
        self,
        fn: Callable[[], Result],
        done: Callable[[Result], object] | None = None,
        *,
        group: str = "load",
        failed: Callable[[VmuserError], None] | None = None,
        task: str | None = None,
        total: float | None = None,
    ) -> None:
        """Run ``fn()`` in a thread worker, then ``done(result)`` on the UI thread (typed:
        ``done`` takes what ``fn`` returns; what ``done`` returns is ignored).

        A newer call in the same ``group`` makes an older one's result stale (dropped).
        ``task`` labels the screen's TaskBar while it runs and marks the screen busy.
        A VmuserError goes to ``failed`` (default: an error notification).
        """
        generations = self._generation_table()
        generation = generations[group] = generations.get(group, 0) + 1
        if task:
            self._task_begin(task, total)

        def finish(kind: str, value: Any) -> None:
            if task:
                self._task_end()
            if generations.get(group) != generation:
                return
            if not self._alive():  # the user left the screen: still say how it ended
                if kind == "error":
                    self.app.notify(str(value), severity="error")
                elif kind == "crash":
                    self.app.notify(f"unexpected {type(value).__name__}: {value}", severity="error")
                elif task:
                    self.app.notify(f"{task}: done")
                return
            try:
                if kind == "ok":
                    if done is not None:
                        done(value)
                elif kind == "error":
                    (failed or self.show_error)(value)
                else:
                    self.show_crash(value)
            except VmuserError as err:
                self.show_error(err)

        def job() -> None:
            value: object  # fn's result, or what it raised
            try:
                value, kind = fn(), "ok"
            except VmuserError as err:
                value, kind = err, "error"
            except Exception as err:  # noqa: BLE001 - never let a worker take the app down
                value, kind = damaged_database(err), "error"  # a bad page or row: named, with the tool
                if value is None:
                    value, kind = err, "crash"
                self.log.error("".join(traceback.format_exception(err)))
            try:
                self.app.call_from_thread(finish, kind, value)
            except RuntimeError:  # the app is shutting down
                pass

        self.run_worker(job, thread=True, group=group, exit_on_error=False, name=task or group)

    def _generation_table(self) -> dict[str, int]:
        return self.__dict__.setdefault("_generations", {})

    def invalidate(self, group: str) -> None:
        """Make every result still on its way in ``group`` stale (dropped when it lands):
        for when the screen shows something else without starting a new load, e.g. the
        files preview when a folder is highlighted after a file."""
        generations = self._generation_table()
        generations[group] = generations.get(group, 0) + 1

    def _alive(self) -> bool:
        try:
            return self in self.app.screen_stack
        except Exception:  # noqa: BLE001 - not attached any more
            return False

    def show_error(self, err: VmuserError) -> None:
        self.notify(str(err), severity="error")

    def show_crash(self, err: BaseException) -> None:
        self.notify(f"unexpected {type(err).__name__}: {err}", title="Internal error", severity="error")

    def _taskbar(self) -> TaskBar | None:
        try:
            return self.query_one(TaskBar)
        except NoMatches:  # dialogs have none
            return None

    def _task_begin(self, label: str, total: float | None) -> None:
        self.busy = label
        bar = self._taskbar()
        if bar is not None:
            bar.start(label, total)

    def _task_end(self) -> None:
        self.busy = None
        bar = self._taskbar()
        if bar is not None:
            bar.finish()

    def progress_callback(self, min_interval: float = 0.1) -> Callable[[int, int, int, int], None]:
        """A ``progress(files_done, files_total, bytes_done, bytes_total)`` for the core that
        posts :class:`TaskProgress` messages from the worker thread, at most every 0.1 s."""
        last = [0.0]

        def progress(done: int, total: int, bytes_done: int = 0, bytes_total: int = 0) -> None:
            now = time.monotonic()
            if now - last[0] < min_interval and done < total:
                return
            last[0] = now
            self.post_message(TaskProgress(done, total, bytes_done, bytes_total))

        return progress

    def line_callback(self, min_interval: float = 0.1) -> Callable[[str], None]:
        """An ``output(line)`` for the core (``StartOptions.output``: image build output,
        lifecycle commands) that shows the latest line in the TaskBar after the task's label,
        posted from the worker thread at most every ``min_interval`` seconds."""
        last = [0.0]

        def output(line: str) -> None:
            now = time.monotonic()
            if now - last[0] < min_interval:
                return
            last[0] = now
            self.post_message(TaskProgress(0, 0, 0, 0, line=line))

        return output

    def on_task_progress(self, message: TaskProgress) -> None:
        bar = self._taskbar()
        if bar is None or not bar.active:
            return
        if message.line:
            bar.progress(0, None, f"{self.busy or 'working'}: {message.line}")
            return
        from vmuser_tui.tui.widgets.cells import human_size

        label = f"{self.busy or 'working'}: {message.done}/{message.total} files"
        if message.bytes_total:
            label += f", {human_size(message.bytes_done)}/{human_size(message.bytes_total)}"
        if message.bytes_total:
            bar.progress(message.bytes_done, message.bytes_total, label)
        else:
            bar.progress(message.done, message.total or None, label)


#: Seconds between refreshes of the relative times ("34s ago") shown on a screen.
TIME_REFRESH = 15.0


class VmuserScreen(WorkerMixin, Screen):
    """Base of the full screens. Subclasses implement :meth:`reload`, and
    :meth:`refresh_times` when they show relative times."""

    def reload(self) -> None:
        """Reload the screen's data (in a worker)."""

    def refresh_times(self) -> None:
        """Redraw the relative times ("6s ago") from the data already loaded: no database
        access, the cursor stays where it is."""

    def on_mount(self) -> None:
        # Textual calls this as well as a subclass's own on_mount (handlers run along the MRO)
        if type(self).refresh_times is not VmuserScreen.refresh_times and TIME_REFRESH:
            self.set_interval(TIME_REFRESH, self._tick_times, name="relative times")

    def _tick_times(self) -> None:
        from textual.widgets.data_table import CellDoesNotExist

        if self.is_current:
            try:
                self.refresh_times()
            except CellDoesNotExist:  # a reload is refilling the table: it brings fresh times anyway
                pass

    #: True: reload whenever the screen comes back (from a dialog, help, a sub-screen).
    #: False: load once, so that after help or a dialog the view stays as it was (diff,
    #: files). Subclasses set this rather than handle on_screen_resume themselves
    #: (Textual would call both handlers, along the MRO).
    RELOAD_ON_RESUME: ClassVar[bool] = True
    loaded: bool = False

    def on_screen_resume(self) -> None:
        if self.RELOAD_ON_RESUME or not self.loaded:
            self.loaded = True
            self.reload()


ResultType = TypeVar("ResultType")


class VmuserModal(WorkerMixin, ModalScreen[ResultType]):
    """Base of the dialogs.

    A dialog cuts off the app's bindings (Textual stops the binding chain at a modal
    screen), so j/k are bound here again, with the app's ids: one ``[keymap]`` entry
    remaps them everywhere."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "app.cursor_down", "Down in a list (like ↓)", show=False, id="app.down"),
        Binding("k", "app.cursor_up", "Up in a list (like ↑)", show=False, id="app.up"),
    ]


def describe_bindings(node: DOMNode, app: App[Any]) -> list[tuple[str, str, str, bool]]:
    """``(keys, description, binding id, allowed)`` for the Binding objects declared on
    ``node``'s class, with keys as remapped by the app's keymap (one row per id)."""
    keymap: dict[str, str] = getattr(app, "keymap", {}) or {}
    rows: dict[str, list] = {}
    custom = getattr(node, "custom_bindings", None)  # [[commands]] of the screen's scopes
    for binding in [*Binding.make_bindings(type(node).BINDINGS), *(custom() if custom else [])]:
        ident = binding.id or f"<{binding.action}>"
        if ident in rows:
            if not (binding.id and binding.id in keymap):
                rows[ident][0].append(app.get_key_display(binding))
            continue
        if binding.id and binding.id in keymap:
            keys = [app.get_key_display(binding.with_key(k.strip(), key_display=None))
                    for k in keymap[binding.id].split(",") if k.strip()]
        else:
            keys = [app.get_key_display(binding)]
        allowed = bool(node.check_action(binding.action, ()))
        if custom and binding.action.startswith("custom_command("):
            allowed = bool(getattr(node, "custom_allowed", lambda _a: True)(binding.action))
        # a binding's tooltip is its longer description (the footer shows the short one)
        rows[ident] = [keys, binding.tooltip or binding.description or binding.action, binding.id or "", allowed]
    return [(" ".join(keys), desc, ident, allowed) for keys, desc, ident, allowed in rows.values()]
