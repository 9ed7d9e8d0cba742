"""A container's output streamed from the Docker engine (``docker logs [-f]``).

The docker SDK's ``api.logs(stream=True)`` hands out frame payloads without saying which
stream (stdout, stderr) each came from, so this reads the engine's multiplexed frames
itself (8-byte header: stream id, 3 zero bytes, big-endian length; see the Engine API's
"attach" section), as docker-py's ``_multiplexed_response_stream_helper`` does, keeping the
stream id. A TTY container's output is one raw stream (stdout). The socket timeout is
lifted while streaming (a followed container may be quiet for hours); :meth:`DockerLogStream.close`
shuts the socket down from any thread, as docker-py's ``CancellableStream`` does, so a
reader blocked on a quiet container wakes up and ends. docker types stay in this module.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from vmuser_tui.core.runtime.logs import LineAssembler, LogLine

if TYPE_CHECKING:  # pragma: no cover
    from vmuser_tui.core.runtime.docker_runtime import DockerRuntime

#: Engine stream ids in the frame header (0 stdin, 1 stdout, 2 stderr).
_STREAMS = {0: "stdout", 1: "stdout", 2: "stderr"}


class DockerLogStream:
    """Lines of one container's output (see :class:`~vmuser_tui.core.runtime.logs.LogStream`).

    Built by :func:`open_logs`; iterating yields :class:`LogLine`\\ s until the output
    ends (not following: what was there; following: the container stopped or was removed)
    or :meth:`close` is called. Engine errors met while reading end the iteration with the
    runtime's one-line :class:`~vmuser_tui.core.errors.VmuserError`.
    """

    def __init__(self, runtime: DockerRuntime, container_id: str, response: Any, tty: bool) -> None:
        self._runtime = runtime
        self._container_id = container_id
        self._response = response
        self._tty = tty
        self._closed = False

    def _chunks(self) -> Iterator[tuple[str, bytes]]:
        raw = self._response.raw
        if self._tty:
            while chunk := raw.read1(65536) if hasattr(raw, "read1") else raw.read(4096):
                yield "stdout", chunk
            return
        while True:
            header = raw.read(8)
            if len(header) < 8:
                return
            stream, length = struct.unpack(">BxxxL", header)
            if not length:
                continue
            data = raw.read(length)
            if not data:
                return
            yield _STREAMS.get(stream, "stdout"), data

    def __iter__(self) -> Iterator[LogLine]:
        assembler = LineAssembler()
        try:
            with self._runtime._errors(f"read logs of container {self._container_id[:12]}"):
                try:
                    for stream, data in self._chunks():
                        yield from assembler.feed(stream, data)
                except (OSError, ValueError, AttributeError):
                    if not self._closed:  # a close() from another thread ends the read this way: not an error
                        raise
                except Exception as err:  # urllib3's ProtocolError when the socket is shut down under it
                    if not self._closed and "protocol" not in type(err).__name__.lower():
                        raise
            yield from assembler.flush()
        finally:
            self._response.close()

    def close(self) -> None:
        """End the stream (safe from any thread, and twice)."""
        if self._closed:
            return
        self._closed = True
        from docker.types.daemon import CancellableStream

        try:
            CancellableStream(iter(()), self._response).close()
        except Exception:  # noqa: BLE001 - already closed, or a transport without a socket: nothing to end
            pass


def open_logs(runtime: DockerRuntime, container_id: str, *, follow: bool, since: float | None,
              tail: int | None) -> DockerLogStream:
    """Ask the engine for ``container_id``'s output (stdout and stderr, always timestamped):
    ``follow`` keeps the stream open for new lines; ``since`` (UNIX seconds, UTC) drops older
    lines; ``tail`` keeps only that many last lines (None: all). Raises the runtime's
    NotFoundError (container gone) or RuntimeUnavailableError."""
    short = container_id[:12]
    with runtime._errors(f"read logs of container {short}", missing=runtime._missing(container_id)):
        api = runtime._docker().api
        tty = bool(api.inspect_container(container_id)["Config"].get("Tty"))
        params: dict[str, Any] = {"stdout": 1, "stderr": 1, "timestamps": 1, "follow": int(follow),
                                  "tail": "all" if tail is None else str(tail)}
        if since is not None:
            params["since"] = f"{since:.9f}".rstrip("0").rstrip(".")
        response = api._get(api._url("/containers/{0}/logs", container_id), params=params, stream=True)
        api._raise_for_status(response)
        # a followed container may be quiet for long: no read timeout while streaming (docker-py does the same)
        api._disable_socket_timeout(api._get_raw_response_socket(response))
    return DockerLogStream(runtime, container_id, response, tty)
