"""Requests to a running exec from outside its pump: interrupt, cancel, resize.

A streaming exec (:mod:`vmuser_tui.core.runtime.exec_stream`) runs its output loop in
one thread (the CLI's main thread, a TUI thread worker). Others ask it things through an
:class:`ExecControl`: Textual's event loop (the user pressed escape), a signal handler
(SIGINT, SIGWINCH in the CLI). Each request only records itself and writes one byte to a
pipe the loop selects on, so it is safe from a signal handler (no lock, no engine call)
and never blocks the event loop; the loop does the engine calls (a resize, a kill exec).
Pure Python, no docker types: the TUI and the CLI create one and pass it in.
"""

from __future__ import annotations

import contextlib
import os


class ExecControl:
    """What other threads ask of one running exec. Create it before the exec starts, so a
    cancel that comes while the exec is still being created is not lost.

    - :meth:`interrupt`: one ctrl-c (in a TTY with stdin: the byte ``\\x03``; otherwise
      SIGINT to the command's processes). The command may trap it and go on.
    - :meth:`cancel`: stop the command: SIGTERM to every process of it, then SIGKILL a
      few seconds later if its output has not ended
      (:data:`~vmuser_tui.core.runtime.exec_stream.CANCEL_SIGNALS`).
    - :meth:`resize`: the terminal is now ``rows`` x ``cols`` characters (TTY only).

    No lock on purpose: a signal handler may run while the pump thread reads the fields,
    and a lock held there would deadlock. Each field is one assignment (atomic under the
    GIL); a lost increment of :attr:`interrupts` only loses one ctrl-c of a burst.
    """

    def __init__(self) -> None:
        self.interrupts = 0  # ctrl-c requests so far
        self.cancelled = False
        self.size: tuple[int, int] | None = None  # (rows, cols) last asked for
        self._read_fd, self._write_fd = os.pipe()
        os.set_blocking(self._read_fd, False)
        os.set_blocking(self._write_fd, False)  # a full pipe already holds a wake-up: never block

    def fileno(self) -> int:
        """The end the pump selects on: readable when a request came."""
        return self._read_fd

    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # full (a wake-up is pending anyway) or closed (the exec ended)
            os.write(self._write_fd, b"!")

    def interrupt(self) -> None:
        """Pass one ctrl-c to the command."""
        self.interrupts += 1
        self._wake()

    def cancel(self) -> None:
        """Stop the command (TERM, then KILL until its output ends)."""
        self.cancelled = True
        self._wake()

    def resize(self, rows: int, cols: int) -> None:
        """The window is now ``rows`` x ``cols`` characters (ignored without a TTY)."""
        self.size = (max(1, int(rows)), max(1, int(cols)))
        self._wake()

    def drain(self) -> None:
        """Consume the pending wake-ups (the pump, before it reads the fields)."""
        with contextlib.suppress(OSError):
            while os.read(self._read_fd, 512):
                pass

    def close(self) -> None:
        """Close the pipe; later requests are ignored."""
        # -1 first: a signal handler writing meanwhile must not hit a reused descriptor
        fds, self._read_fd, self._write_fd = (self._read_fd, self._write_fd), -1, -1
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)
