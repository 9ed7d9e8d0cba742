"""``vmuser session exec``: a command in the session's container, as ``docker exec`` runs one.

Output is written as it arrives (stdout to stdout, stderr to stderr, raw bytes: data, not
vmuser's text, so :mod:`vmuser_tui.cli.terminal`'s filter does not apply), stdin is
forwarded with ``-i``, ``-t`` gives the command a TTY, ``-d`` starts it and returns. The
exit code is the command's.

With a TTY and stdin on this terminal, the terminal is put in raw mode while the command
runs, so every key (ctrl-c included, as the byte 0x03 the container's TTY turns into
SIGINT) goes to the command, as with ``docker exec -it``; it is restored on every way out
(the ``finally`` below; SIGTERM and SIGHUP cancel the command and come back through it).
The window size is sent at start and on each SIGWINCH. Without a TTY, ctrl-c reaches
vmuser as SIGINT and is passed on to the command's processes; a second ctrl-c stops the
command (TERM, then KILL), as the TUI's cancel does.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

from vmuser_tui.core.errors import UsageError
from vmuser_tui.core.exec_options import parse_env
from vmuser_tui.core.runtime.exec_control import ExecControl

if TYPE_CHECKING:  # pragma: no cover
    from argparse import Namespace

    from vmuser_tui.core.runtime.base import StreamName
    from vmuser_tui.core.service import Vmuser

EPILOG = """\
examples:
  vmuser session exec 3fa2 -- make test            output as it comes; exits with make's code
  vmuser session exec 3fa2 -- sh -c 'ls src | wc -l'
  vmuser session exec 3fa2 -- sh                    on a terminal: an interactive shell (-t is the default)
  echo hello | vmuser session exec -i 3fa2 -- cat   pass stdin (-i)
  vmuser session exec -T 3fa2 -- make 2> err.log   no TTY: stderr stays apart from stdout
  vmuser session exec -d 3fa2 -- sh -c 'make serve > serve.log 2>&1'   start it and return
  vmuser session exec -w /workspace/src -e DEBUG=1 -u 0 3fa2 -- env

A TTY (-t) is allocated by default when stdin and stdout are both terminals, like
`docker exec -it`; then stdin is passed too, and stdout and stderr arrive as one stream.
-T turns it off. In a TTY, ctrl-c is sent to the command as a key. Without one, ctrl-c
is passed to the command as SIGINT; a second ctrl-c stops it (SIGTERM, then SIGKILL).
Options go before the session; the command comes after --.
"""


def _terminal_size(fd: int) -> tuple[int, int] | None:
    """``(rows, cols)`` of the terminal on ``fd``, or None."""
    try:
        size = os.get_terminal_size(fd)
    except OSError:
        return None
    return size.lines, size.columns


@contextlib.contextmanager
def _raw_mode(fd: int) -> Iterator[None]:
    """The terminal on ``fd`` in raw mode for the block; its settings put back after."""
    import termios
    import tty

    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd, termios.TCSANOW)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


@contextlib.contextmanager
def _signals(control: ExecControl, *, tty: bool, size_fd: int | None, ended: list[int]) -> Iterator[None]:
    """Signal handlers for the run: SIGWINCH resizes the TTY; SIGINT interrupts (twice:
    cancels); SIGTERM/SIGHUP cancel and note the signal in ``ended`` (the exit code is then
    128 + it, as a shell reports). The previous handlers come back after the block.
    Handlers only record a request (:class:`ExecControl`), so they are safe at any point."""
    interrupts = [0]

    def on_int(signum: int, frame: Any) -> None:
        interrupts[0] += 1
        if interrupts[0] == 1:
            control.interrupt()
        else:
            control.cancel()

    def on_end(signum: int, frame: Any) -> None:
        ended.append(signum)
        control.cancel()

    def on_winch(signum: int, frame: Any) -> None:
        size = _terminal_size(size_fd) if size_fd is not None else None
        if size:
            control.resize(*size)

    wanted: dict[int, Any] = {signal.SIGINT: on_int, signal.SIGTERM: on_end, signal.SIGHUP: on_end}
    if tty and size_fd is not None:
        wanted[signal.SIGWINCH] = on_winch
    saved = {}
    try:
        for signum, handler in wanted.items():
            saved[signum] = signal.signal(signum, handler)
        yield
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)


def cmd_exec(args: Namespace, vm: Vmuser) -> int:
    """Run the command; return its exit code (0 at once with -d)."""
    argv = list(args.argv)
    if argv and argv[0] == "--":
        argv = argv[1:]
    elif argv and argv[0].startswith("-"):  # `exec S -e A=1 -- cmd`: would run "-e" as the command
        raise UsageError(f"option {argv[0]} after the session: options go before it, the command after --, "
                         f"e.g.: vmuser session exec {argv[0]} ... {args.session} -- CMD")
    if not argv:
        raise UsageError("give the command after --, e.g.: vmuser session exec SESSION -- ls -la")
    env = parse_env(args.env or [])
    stdin_is_tty, stdout_is_tty = os.isatty(0), os.isatty(1)
    if args.detach and args.interactive:
        raise UsageError("-d starts the command in the background, where it cannot read your stdin: drop -i or -d")
    tty = bool(args.tty) if args.tty is not None else (stdin_is_tty and stdout_is_tty and not args.detach)
    # -t on a terminal reads the keyboard, as `docker exec -it` (an interactive shell needs it)
    stdin = not args.detach and (args.interactive or (tty and stdin_is_tty))
    size_fd = 1 if stdout_is_tty else (0 if stdin_is_tty else None)
    size = _terminal_size(size_fd) if tty and size_fd is not None else None

    control = ExecControl()
    stdout: BinaryIO = sys.stdout.buffer
    stderr: BinaryIO = sys.stderr.buffer
    closed_pipe: list[bool] = []

    def on_output(stream: StreamName, data: bytes) -> None:
        out = stderr if stream == "stderr" else stdout
        try:
            out.write(data)
            out.flush()
        except BrokenPipeError:  # `... | head`: nobody reads any more; stop the command
            if not closed_pipe:
                closed_pipe.append(True)
                control.cancel()

    ended: list[int] = []
    sys.stdout.flush()
    raw = tty and stdin and stdin_is_tty
    with _signals(control, tty=tty, size_fd=size_fd, ended=ended), \
            (_raw_mode(0) if raw else contextlib.nullcontext()):
        outcome = vm.sessions.exec_stream(
            args.session, argv, on_output=on_output, stdin_fd=0 if stdin else None, stdin=stdin, tty=tty,
            detach=args.detach, workdir=args.workdir, env=env, user=args.user or "", size=size, control=control)
    if outcome.detached:
        return 0
    if ended:
        return 128 + ended[0]
    if closed_pipe:
        return 0
    if outcome.exit_code is None:
        if outcome.cancelled:
            return 130
        print("vmuser: error: the engine did not report the command's exit code; "
              "`vmuser log` has the run", file=sys.stderr)
        return 1
    return outcome.exit_code


def add_arguments(p: argparse.ArgumentParser) -> None:
    """``session exec``'s options (the parser module calls it: one place for exec's flags)."""
    p.add_argument("-i", "--interactive", action="store_true", help="pass stdin to the command")
    tty = p.add_mutually_exclusive_group()
    tty.add_argument("-t", "--tty", dest="tty", action="store_const", const=True, default=None,
                     help="allocate a TTY (default when stdin and stdout are both terminals)")
    tty.add_argument("-T", "--no-tty", dest="tty", action="store_const", const=False,
                     help="no TTY even on a terminal: stderr stays apart from stdout")
    p.add_argument("-d", "--detach", action="store_true", help="start the command in the background and return")
    p.add_argument("-w", "--workdir", metavar="DIR", help="working directory in the container, absolute "
                   "(default /workspace)")
    p.add_argument("-e", "--env", action="append", default=[], metavar="NAME=VALUE",
                   help="set an environment variable (repeatable); the log keeps the names only")
    p.add_argument("-u", "--user", metavar="USER", help="run as USER (name, uid or uid:gid; default: the "
                   "session's user)")
    p.add_argument("session", help="session id or unique prefix")
    p.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- CMD [ARG]...")
