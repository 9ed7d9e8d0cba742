"""A session's container output for ``vmuser session logs`` and the TUI's logs screen:
the options as a user types them (``--since 10m``, ``--tail all``), checked into what the
runtime takes, and the stream opened on the session's container.

``--since`` takes an age before now (``30s``, ``10m``, ``2h``, ``3d``, ``1w``) or an RFC
3339 / ISO 8601 time (``2026-12-04T10:00:00Z``; no offset: UTC), as ``docker logs
--since`` does (it reads a time without a zone as local time; vmuser's times are UTC
everywhere). ``--tail`` takes a count (0 to :data:`~vmuser_tui.core.bounds.MAX_TAIL`) or
``all``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vmuser_tui.core import clock
from vmuser_tui.core.bounds import MAX_TAIL, clip, in_range
from vmuser_tui.core.errors import NotFoundError, StateError, UsageError

if TYPE_CHECKING:  # pragma: no cover
    from vmuser_tui.core.runtime.logs import LogStream
    from vmuser_tui.core.sessions import Sessions


def parse_since(text: str | None) -> float | None:
    """``--since`` as UNIX seconds (UTC), or None when not given. Raises UsageError."""
    if text is None:
        return None
    try:
        when = clock.parse_when(text)
    except UsageError as exc:
        raise UsageError(f"--since: {exc}") from None
    return clock.parse(when).timestamp()


def parse_tail(text: str | int | None) -> int | None:
    """``--tail`` as a count of lines, None for ``all`` (or not given). Raises UsageError."""
    if text is None or (isinstance(text, str) and text.strip().lower() == "all"):
        return None
    try:
        count = int(text)
    except ValueError:
        raise UsageError(f"--tail: expected a number of lines or 'all', got {clip(str(text))!r}") from None
    return in_range("--tail", count, 0, MAX_TAIL)


def open_stream(sessions: Sessions, ref: str, *, follow: bool = False, since: str | None = None,
                tail: str | int | None = None) -> LogStream:
    """The output of session ``ref``'s container as :class:`~vmuser_tui.core.runtime.logs.LogLine`\\ s
    (``since``/``tail`` as typed, see the module docstring); ``follow`` keeps reading until
    the container stops or the stream is closed. The options are checked before the session
    is looked up. Raises UsageError (bad option), StateError (no container, or it was
    removed when the session stopped), NotFoundError, RuntimeUnavailableError."""
    since_ts, lines = parse_since(since), parse_tail(tail)
    session = sessions.get(ref)
    if not session.container_id:
        raise StateError(f"session {session.id} has no container (runtime '{session.runtime}'): "
                         "it has no output to show")
    try:
        return sessions.rt(session).stream_logs(session.container_id, follow=follow, since=since_ts,
                                                          tail=lines)
    except NotFoundError:
        if session.status in ("created", "running", "paused"):
            raise
        raise StateError(f"session {session.id} is {session.status}: its container was removed, and its output "
                         "with it (set [runtime] keep_stopped = true to keep stopped containers)") from None
