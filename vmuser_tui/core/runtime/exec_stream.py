"""Streaming ``docker exec``: output as it arrives, stdin, a TTY, detach, cancel.

Built on the docker SDK's low-level API, as the docker CLI's own ``exec`` is on the
engine's: ``exec_create`` (stdin/tty/user/workdir/environment), ``exec_start(socket=True)``
(the hijacked connection: the engine's multiplexed stream, or a TTY's raw bytes),
``exec_resize`` (the TTY's window), ``exec_inspect`` (the exit code). Docker types stay in
this module and :mod:`~vmuser_tui.core.runtime.docker_runtime`; callers get
:class:`~vmuser_tui.core.runtime.base.ExecOutcome` and bytes.

One loop (:meth:`DockerExec.pump`) selects on the connection, the local stdin and the
:class:`~vmuser_tui.core.runtime.exec_control.ExecControl` wake-up pipe, so no thread is
left behind when the command ends, and stdin is written only when the connection can take
it (a command that prints much and reads nothing cannot deadlock the two directions).

Without a TTY the stream is Docker's multiplexed format (see the engine API's "Attach to a
container" section, "Stream format"): frames of an 8-byte header ``[stream, 0, 0, 0,
size (big-endian uint32)]`` then ``size`` bytes; stream 1 is stdout, 2 stderr. A frame can
be split across reads: :class:`FrameParser` keeps the state between them and hands on
partial payloads at once (a long line printed slowly shows as it comes).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import select
import socket
import struct
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from vmuser_tui.core.errors import VmuserError
from vmuser_tui.core.runtime.base import ExecOptions, ExecOutcome, OutputSink, StreamName
from vmuser_tui.core.runtime.docker_answers import buffered_output
from vmuser_tui.core.runtime.exec_control import ExecControl

#: Environment variable that marks every process of one exec (value: a random token), so a
#: second exec can find and signal them all. Visible to the command (``env`` shows it).
MARKER = "VMUSER_EXEC"
#: Seconds between the signals of a cancel (TERM, then KILL), and after KILL before the
#: connection is closed without waiting any longer.
GRACE = 2.0
#: A cancel's signals, in order: SIGTERM (what `docker stop` and CI cancel buttons send to
#: mean "stop"; a program may trap SIGINT to go on, as a REPL does), then SIGKILL. An
#: interrupt (ctrl-c: :meth:`ExecControl.interrupt`) sends SIGINT, as a terminal would.
CANCEL_SIGNALS = ("TERM", "KILL")
#: Bytes read from the connection or the local stdin at a time.
CHUNK = 65536

# How a cancel stops a command that has no TTY. Docker has no "signal this exec" call
# (moby/moby#9098), and the exec's process group is not ours to target: without a TTY runc
# starts the command in the pid namespace without a new session, so `kill -- -PGID` may name
# a group outside the container's view, and a wrapper shell that reports `$$` would have to
# wrap the user's argv and would still miss what the command forked into other groups.
# Instead every process of the exec inherits MARKER=<token> in its environment (children
# keep it across fork and exec), and a second exec, run as the same user so it may read
# /proc/PID/environ and signal, kills each process carrying that token. That reaches the
# whole tree (`sh -c 'sleep 100'` included: the sleep, not only the shell) and nothing
# else. The processes are found first and then signalled together, stopped (SIGSTOP) while
# the signal is sent to each and continued after, as a terminal's ctrl-c reaches its whole
# process group at once: signalled one by one, a `sh -c 'a; b'` whose child `a` died first
# went on to run `b` before its own signal came. A process that clears its environment
# escapes; the last step of a cancel closes the connection, so the caller never waits on
# such a one. Needs only sh, tr, grep and kill, which every image able to run a session
# has (the session's own PID 1 is `sh`).
KILL_SCRIPT = r"""
sig=$1 tok=$2 pids=
for d in /proc/[0-9]*; do
  p=${d#/proc/}
  [ "$p" = "$$" ] && continue
  if tr '\000' '\n' < "$d/environ" 2>/dev/null | grep -qx "VMUSER_EXEC=$tok"; then pids="$pids $p"; fi
done
[ -n "$pids" ] || exit 0
[ "$sig" = KILL ] || kill -STOP $pids 2>/dev/null
kill -"$sig" $pids 2>/dev/null
[ "$sig" = KILL ] || kill -CONT $pids 2>/dev/null
exit 0
"""

Errors = Callable[[str], AbstractContextManager[None]]


class FrameParser:
    """Incremental parser of Docker's multiplexed stream (8-byte headers, see the module).

    :meth:`feed` takes bytes as they come and returns ``[(stream, payload)]`` for what is
    complete so far, a frame's payload possibly in several pieces. Stream 0 (stdin, never
    sent by the engine) and unknown ids count as stdout, as the docker CLI treats them.
    """

    def __init__(self) -> None:
        self._header = b""  # a header split across reads
        self._stream: StreamName = "stdout"
        self._left = 0  # payload bytes of the current frame still to come

    def feed(self, data: bytes) -> list[tuple[StreamName, bytes]]:
        out: list[tuple[StreamName, bytes]] = []
        i, n = 0, len(data)
        while i < n:
            if self._left:
                take = min(self._left, n - i)
                piece = data[i : i + take]
                if out and out[-1][0] == self._stream:  # join pieces of one stream: fewer writes downstream
                    out[-1] = (self._stream, out[-1][1] + piece)
                else:
                    out.append((self._stream, piece))
                self._left -= take
                i += take
                continue
            need = 8 - len(self._header)
            self._header += data[i : i + need]
            i += need
            if len(self._header) < 8:
                break
            kind, self._left = struct.unpack(">BxxxL", self._header)
            self._header = b""
            self._stream = "stderr" if kind == 2 else "stdout"
        return out

    @property
    def partial(self) -> bool:
        """True while a frame is unfinished (the stream ended mid-frame if it stays so)."""
        return bool(self._header) or self._left > 0


class DockerExec:
    """One exec on the engine: created and started by :meth:`start`, pumped by :meth:`pump`.

    ``api`` is the SDK's ``APIClient``; ``errors(action)`` is a context manager turning
    docker/requests errors into one-line :class:`VmuserError` s (the runtime's ``_errors``,
    with its messages for a container that is gone or not running).
    """

    def __init__(self, api: Any, errors: Errors, container_id: str, argv: list[str], options: ExecOptions) -> None:
        self.api = api
        self.errors = errors
        self.container_id = container_id
        self.argv = list(argv)
        self.options = options
        self.token = secrets.token_hex(8)
        self.exec_id = ""
        self.started = time.monotonic()
        self._sock: Any = None
        self._raw: Any = None  # the socket.socket (or ssl.SSLSocket) under ``_sock``

    # -- start ----------------------------------------------------------------------------

    def start(self) -> None:
        """Create the exec and start it: attached (the connection kept for :meth:`pump`) or,
        with ``options.detach``, detached. Raises VmuserError (from ``errors``)."""
        o = self.options
        environment = dict(o.environment)
        if not o.detach:  # a detached command is not ours to cancel: no marker
            environment[MARKER] = self.token
        with self.errors("run a command"):
            self.exec_id = self.api.exec_create(
                self.container_id, self.argv, stdout=True, stderr=True, stdin=o.stdin and not o.detach,
                tty=o.tty, user=o.user or "", environment=environment or None, workdir=o.workdir,
            )["Id"]
            self.started = time.monotonic()
            if o.detach:
                self.api.exec_start(self.exec_id, detach=True, tty=o.tty)
                return
            self._sock = self.api.exec_start(self.exec_id, tty=o.tty, socket=True)
        self._raw = getattr(self._sock, "_sock", self._sock)

    def resize(self, rows: int, cols: int) -> None:
        """Set the TTY's window (the command gets SIGWINCH); a failure is ignored: the
        exec may have ended a moment ago, and a wrong size is not worth stopping for."""
        if self.options.tty and self.exec_id:
            with contextlib.suppress(VmuserError), self.errors("resize the terminal"):
                self.api.exec_resize(self.exec_id, height=rows, width=cols)

    def signal(self, name: str) -> bool:
        """Send signal ``name`` (INT, TERM, KILL) to every process of this exec by a second
        exec (see :data:`KILL_SCRIPT`); False when the engine refused to start it.

        The second exec is started detached, not waited for: the engine finishes an exec
        only once the streams of the container's execs that ended before it are read (seen
        with API 1.41), and the pump cannot read this exec's output while it waits, so
        waiting here would deadlock a command whose output is not drained (`yes`)."""
        o = self.options
        try:
            with self.errors("signal the command"):
                kid = self.api.exec_create(self.container_id, ["sh", "-c", KILL_SCRIPT, "vmuser-kill", name,
                                                               self.token],
                                           stdout=False, stderr=False, stdin=False, tty=False, user=o.user or "",
                                           workdir="/")["Id"]
                self.api.exec_start(kid, detach=True)
        except VmuserError:
            return False
        return True

    # -- the loop ---------------------------------------------------------------------------

    def pump(self, on_output: OutputSink, *, stdin_fd: int | None = None,
             control: ExecControl | None = None) -> ExecOutcome:
        """Deliver the output to ``on_output`` until the command ends; forward ``stdin_fd``
        (when ``options.stdin``) and half-close the connection's write side at its EOF, so
        ``cat`` ends; act on ``control``'s requests. Returns the outcome (exit code from
        ``exec_inspect``). Returns at once for a detached exec. Closes the connection."""
        o = self.options
        if o.detach or self._sock is None:
            return ExecOutcome(exit_code=None, duration=time.monotonic() - self.started, detached=True)
        raw, parser = self._raw, FrameParser()
        stdin_open = o.stdin and stdin_fd is not None
        pending = b""  # stdin read but not yet sent
        stage, next_at = 0, 0.0  # cancel steps taken; when the next is due (monotonic seconds)
        interrupts_seen, size_seen = 0, None
        signal_sent = ""
        closed = False

        def deliver(data: bytes) -> None:
            if o.tty:
                on_output("stdout", data)
            else:
                for stream, piece in parser.feed(data):
                    on_output(stream, piece)

        def close_write() -> None:
            # Without a TTY, Docker closes the command's stdin when the client half-closes (what
            # `docker exec -i` does at EOF), so `cat` ends. With a TTY the engine would close the
            # output too (moby's attach ends a TTY's streams with its stdin), so the EOF is typed
            # instead: ^D, as a user would (twice after a partial line: the first ends the line).
            # Over TLS a half-close would end the TLS session for reading too, so it is skipped
            # there: the command's stdin then stays open until it ends.
            nonlocal stdin_open, pending
            stdin_open = False
            if o.tty:
                pending += b"\x04" if last_sent in (b"", b"\n", b"\r") else b"\x04\x04"
            elif not hasattr(raw, "pending"):  # not an ssl.SSLSocket
                with contextlib.suppress(OSError):
                    raw.shutdown(socket.SHUT_WR)

        last_sent = b""  # the last byte of stdin sent (for the TTY's ^D above)
        if o.stdin and not stdin_open and not o.tty:
            close_write()  # stdin attached but nothing to send: EOF now
        try:
            leftover = buffered_output(self._sock, raw)
            if leftover:
                deliver(leftover)
            if o.tty:
                size = (control.size if control else None) or o.size
                if size:
                    self.resize(*size)
                    size_seen = size
            while True:
                if control is not None and control.fileno() >= 0:
                    control.drain()
                    if control.size and control.size != size_seen:
                        size_seen = control.size
                        self.resize(*size_seen)
                    while control.interrupts > interrupts_seen:
                        interrupts_seen += 1
                        if o.tty and stdin_open:
                            pending += b"\x03"  # a TTY turns it into SIGINT for its foreground group
                        else:
                            self.signal("INT")
                            signal_sent = "INT"
                    if control.cancelled and stage == 0:
                        stage, next_at = 1, time.monotonic()  # the first step is due now
                now = time.monotonic()
                if stage and now >= next_at:
                    if stage <= 2:
                        signal_sent = CANCEL_SIGNALS[stage - 1]
                        self.signal(signal_sent)
                        stage, next_at = stage + 1, time.monotonic() + GRACE
                    else:
                        closed = True  # gave up: a process that left the marker behind holds the output open
                        break
                readers: list[Any] = [raw]
                if control is not None and control.fileno() >= 0:
                    readers.append(control.fileno())
                if stdin_open and not pending and stdin_fd is not None:
                    readers.append(stdin_fd)
                writers: list[Any] = [raw] if pending else []
                readable: list[Any]
                writable: list[Any]
                wait = max(0.0, next_at - now) if stage else None
                if getattr(raw, "pending", None) and raw.pending():
                    readable, writable = [raw], []  # TLS holds decrypted bytes select() cannot see
                else:
                    readable, writable, _ = select.select(readers, writers, [], wait)
                if raw in readable:
                    try:
                        data = raw.recv(CHUNK)
                    except (BlockingIOError, InterruptedError):
                        data = None
                    except OSError:
                        data = b""  # the engine dropped the connection: the exec is over for us
                    if data == b"":
                        break
                    if data:
                        deliver(data)
                if stdin_fd is not None and stdin_fd in readable and stdin_open:
                    try:
                        chunk = os.read(stdin_fd, CHUNK)
                    except (BlockingIOError, InterruptedError):
                        chunk = None
                    except OSError:
                        chunk = b""
                    if chunk == b"":
                        close_write()
                    elif chunk:
                        pending += chunk
                if raw in writable and pending:
                    try:
                        sent = raw.send(pending[:16384])
                        if sent:
                            last_sent = pending[sent - 1 : sent]
                        pending = pending[sent:]
                    except (BlockingIOError, InterruptedError):
                        pass
                    except OSError:  # the command ended or closed its stdin: drop the rest
                        pending, stdin_open = b"", False
        finally:
            with contextlib.suppress(OSError):
                self._sock.close()
            with contextlib.suppress(OSError):
                if raw is not self._sock:
                    raw.close()
        exit_code = None if closed else self._exit_code()
        return ExecOutcome(exit_code=exit_code, duration=time.monotonic() - self.started,
                           cancelled=bool(control is not None and control.cancelled), signal=signal_sent)

    def _exit_code(self) -> int | None:
        """The exit code from ``exec_inspect``; the stream can close a moment before the
        engine records it, so ask a few times (up to ~5 s). None if it never says."""
        try:
            with self.errors("read the command's exit code"):
                for _ in range(250):
                    result = self.api.exec_inspect(self.exec_id)
                    if not result.get("Running") and result.get("ExitCode") is not None:
                        return int(result["ExitCode"])
                    time.sleep(0.02)
        except VmuserError:
            return None
        return None
