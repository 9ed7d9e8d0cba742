"""A devcontainer.json's lifecycle commands, run in a session's container after it starts.

The spec's ``postCreateCommand`` runs once, when the container is created, and
``postStartCommand`` each time it starts. vmuser makes a new container for every session
and never restarts one, so each session start is both: its ``postCreateCommand`` hooks run
first, then its ``postStartCommand`` hooks, at every ``session start`` (a setup step that
must happen once per workspace, not per session, should check for its own marker file).

Each hook runs like ``session exec``: as the container's user, in the workspace folder, with
the container's environment. Its output (stdout and stderr) goes to the container's own
output, by redirecting the command to PID 1's descriptors (``/proc/1/fd/1`` and ``2``; the
container user owns PID 1, so it may open them), which is what ``vmuser session logs S`` and
the TUI's logs screen show, after a ``vmuser: postCreateCommand: ...`` header line. Where
PID 1's output cannot be opened, the output is caught by the exec and passed to the
``output`` callback instead.

A hook that fails (non-zero exit) or is still running after ``[devcontainer] hook_timeout``
seconds does not stop the session: one note says so, the operation log records
``session.hook`` with the exit code (the command masked as ``core.redact`` does), and the
next hook runs. A hook still running goes on in the container.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vmuser_tui.core import oplog
from vmuser_tui.core.errors import StateError, VmuserError
from vmuser_tui.core.redact import redact_argv
from vmuser_tui.core.runtime.images import one_line

if TYPE_CHECKING:
    from vmuser_tui.core.context import Context
    from vmuser_tui.core.runtime.base import ContainerRuntime


@dataclass
class Hook:
    """One lifecycle command of a devcontainer.json (``postCreateCommand``,
    ``postStartCommand``): ``argv`` run without a shell, or a string run by ``sh -c``;
    ``name`` is the key of the object form ("" otherwise). Defined here, beside what runs
    it; :mod:`vmuser_tui.core.launch` names it in :class:`LaunchPlan` (no import cycle)."""

    stage: str  # "postCreate" | "postStart"
    argv: list[str]
    name: str = ""


# $0 is the header, "$@" the hook's argv. `[ -w ]` checks PID 1's stdout can be opened.
_WRAPPER = ('if [ -w /proc/1/fd/1 ] && [ -w /proc/1/fd/2 ]; then '
            'printf "vmuser: %s\\n" "$0" >/proc/1/fd/1; exec "$@" >/proc/1/fd/1 2>/proc/1/fd/2; '
            'else printf "vmuser: %s\\n" "$0"; exec "$@" 2>&1; fi')


def label(hook: Hook) -> str:
    """``postCreateCommand`` or ``postCreateCommand.<name>`` (the object form)."""
    return f"{hook.stage}Command" + (f".{hook.name}" if hook.name else "")


def shown(hook: Hook) -> str:
    """The command as a user reads it, masked (:func:`redact_argv`), at most 80 characters."""
    argv = redact_argv(hook.argv)
    text = argv[2] if len(argv) == 3 and argv[:2] == ["sh", "-c"] else " ".join(argv)
    return one_line(text, 80)


def run(ctx: Context, rt: ContainerRuntime, *, session_id: str, project_id: str, container_id: str,
        hooks: list[Hook], workdir: str, output: Callable[[str], None] | None = None) -> list[str]:
    """Run ``hooks`` in order in the container; return one note per hook that failed or
    timed out (nothing for those that succeeded). Never raises for a hook's own failure;
    an engine that stops answering ends the remaining hooks with one note."""
    say = output or (lambda _line: None)
    timeout = float(ctx.config.get("devcontainer", "hook_timeout"))
    exec_fn: Any = rt.exec  # DockerRuntime.exec takes a timeout; the Protocol does not name it
    notes: list[str] = []
    for hook in hooks:
        name = label(hook)
        say(f"running {name}: {shown(hook)}")
        argv = ["sh", "-c", _WRAPPER, f"{name}: {shown(hook)}", *hook.argv]
        try:
            result = exec_fn(container_id, argv, workdir=workdir, timeout=timeout)
        except StateError as exc:
            if "still running" not in str(exc):
                notes.append(f"{name} could not run ({exc}); the session is running")
                break
            code: int | None = None
            notes.append(f"{name} still running after {timeout:g} s ([devcontainer] hook_timeout); it goes on in "
                         f"the container; its output: vmuser session logs {session_id}")
        except VmuserError as exc:  # the engine stopped answering, the container is gone
            notes.append(f"{name} could not run ({exc}); the remaining hooks were skipped")
            break
        else:
            code = result.exit_code
            for line in result.output.decode("utf-8", errors="replace").splitlines():
                say(line)
            if code != 0:
                notes.append(f"{name} failed (exit {code}); the session is running; its output: "
                             f"vmuser session logs {session_id}")
        with ctx.db.write() as conn:
            oplog.record(conn, "session.hook", project_id=project_id, session_id=session_id, hook=name,
                         command=redact_argv(hook.argv), exit_code=code)
    return notes
