"""A project's workspace as a named volume on a Docker engine, and its helper container.

On an engine other than ``local`` the workspace is the volume ``vmuser-ws-<project>``
(labels ``vmuser.project``, ``vmuser.role=workspace``), mounted at /workspace in the
session containers and in one small **helper container** ``vmuser-wsh-<project>``
(``vmuser-busybox:local``, built on that engine when missing; root with only CHOWN,
DAC_OVERRIDE, FOWNER and FSETID; no network; ``sleep``). Captures, restores and file
operations run as execs in the helper (busybox find, stat, tar, sh, mv, rm), never in the
session container (its image may lack the tools, and it is untrusted), so they work while
no session runs. The helper sees only the volume and its own busybox rootfs: a symlink a
session plants can at worst point into that rootfs, never at the vmuser host.

Docker types stay here: callers get bytes, :class:`HelperResult` and file-like streams.
Every docker/requests error becomes a one-line :class:`VmuserError` through the runtime's
``_errors``. Streams are read straight off the exec's hijacked connection (the engine's
multiplexed frames, parsed by :class:`~vmuser_tui.core.runtime.exec_stream.FrameParser`),
so a tar of gigabytes passes through in pieces of at most 64 KiB: bounded memory, no local
copy (the docker CLI's ``docker exec`` reads its stream the same way).
"""

from __future__ import annotations

import contextlib
import io
import select
import socket
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from vmuser_tui.core.errors import NotFoundError, StateError, UsageError, VmuserError
from vmuser_tui.core.runtime.base import LABEL_PROJECT, WORKSPACE_MOUNT, ExecResult
from vmuser_tui.core.runtime.docker_answers import buffered_output
from vmuser_tui.core.runtime.exec_stream import CHUNK, FrameParser
from vmuser_tui.core.runtime.images import FALLBACK_IMAGE, one_line

LABEL_ROLE = "vmuser.role"
ROLE_WORKSPACE, ROLE_HELPER = "workspace", "workspace-helper"
#: The helper's capabilities: root may read, write, chown and chmod every file of the
#: volume (whoever owns it), and nothing else (no network, no mknod, no setuid).
HELPER_CAPS = ("CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID")
HELPER_COMMAND = ["sleep", "2147483647"]
#: What files the helper makes belong to when the workspace names no owner (nobody).
DEFAULT_OWNER = "65534:65534"
#: Seconds an exec may go without sending anything before it counts as stuck.
QUIET_TIMEOUT = 300.0


def volume_name(project_id: str) -> str:
    """``vmuser-ws-<project_id>``: the workspace volume's name on every engine."""
    return f"vmuser-ws-{project_id}"


def helper_name(project_id: str) -> str:
    """``vmuser-wsh-<project_id>``: the helper container's name."""
    return f"vmuser-wsh-{project_id}"


@dataclass
class HelperResult(ExecResult):
    """:class:`ExecResult` (``output``: stdout and stderr interleaved) with the two
    streams apart: ``stdout`` for data (a listing, a file), ``stderr`` for messages."""

    stdout: bytes = b""
    stderr: bytes = b""


class ExecStream(io.RawIOBase):
    """The stdout of a running exec as a binary file (``read``/``readinto``), stderr
    collected apart in :attr:`stderr` (at most :attr:`STDERR_LIMIT` bytes kept).

    Reads come straight off the connection, a frame payload at a time; nothing is
    buffered beyond one received piece. :attr:`exit_code` is set when the stream is
    closed by :meth:`EngineWorkspace.stream` (None: it did not end)."""

    STDERR_LIMIT = 4 * 1024 * 1024

    def __init__(self, sock: Any, first: bytes = b"") -> None:
        super().__init__()
        self._sock = sock
        self._raw = getattr(sock, "_sock", sock)
        self._parser = FrameParser()
        self._out = bytearray()
        self._eof = False
        self._first = first
        self.stderr = bytearray()
        self.exit_code: int | None = None

    def readable(self) -> bool:
        return True

    def _recv(self) -> bytes:
        if self._first:
            data, self._first = self._first, b""
            return data
        pending = getattr(self._raw, "pending", None)  # TLS buffers data select() cannot see
        if not (pending and pending()):
            readable, _, _ = select.select([self._raw], [], [], QUIET_TIMEOUT)
            if not readable:
                raise TimeoutError(f"the helper sent nothing for {QUIET_TIMEOUT:g} s")
        return self._raw.recv(CHUNK)

    def _fill(self) -> None:
        while not self._out and not self._eof:
            data = self._recv()
            if not data:
                self._eof = True
                return
            for stream, piece in self._parser.feed(data):
                if stream == "stderr":
                    if len(self.stderr) < self.STDERR_LIMIT:
                        self.stderr += piece
                else:
                    self._out += piece

    def readinto(self, buffer: Any) -> int:
        self._fill()
        n = min(len(buffer), len(self._out))
        buffer[:n] = self._out[:n]
        del self._out[:n]
        return n

    def drain(self) -> None:
        """Read to the end, dropping stdout (stderr is kept)."""
        while not self._eof:
            self._out.clear()
            self._fill()
        self._out.clear()


class EngineWorkspace:
    """The workspace volume of project ``project_id`` on the engine of ``runtime`` (a
    :class:`~vmuser_tui.core.runtime.docker_runtime.DockerRuntime`) and its helper.

    ``owner``: ``"uid:gid"`` that files restored or put get (``""``: 65534:65534, the
    session's default user when vmuser runs as root). Connects lazily; every method raises
    only :class:`VmuserError` subclasses (RuntimeUnavailableError when the engine is away).
    """

    def __init__(self, runtime: Any, project_id: str, *, helper_image: str = FALLBACK_IMAGE, owner: str = "") -> None:
        self.runtime = runtime
        self.project_id = project_id
        self.helper_image = helper_image
        self.owner = owner or DEFAULT_OWNER
        self._helper: str | None = None  # the running helper's id, once ensured in this process

    # -- names -------------------------------------------------------------------------
    @property
    def volume(self) -> str:
        return volume_name(self.project_id)

    @property
    def helper(self) -> str:
        return helper_name(self.project_id)

    def _api(self) -> Any:
        return self.runtime._docker().api

    # -- the volume and the helper ---------------------------------------------------------
    def exists(self) -> bool:
        """True when the volume exists on the engine."""
        import docker.errors

        with self.runtime._errors(f"inspect volume {self.volume}"):
            try:
                self._api().inspect_volume(self.volume)
                return True
            except docker.errors.NotFound:
                return False

    def ensure(self) -> bool:
        """Create the volume and the helper when missing, start the helper when stopped,
        replace one made from another image or mounting another volume. Returns True when
        the volume was created just now (it is empty: the caller fills it). Idempotent;
        two processes racing here end with one volume and one helper."""
        created = False
        with self.runtime._errors(f"create volume {self.volume}"):
            if not self.exists():
                self._api().create_volume(self.volume, labels={LABEL_PROJECT: self.project_id,
                                                               LABEL_ROLE: ROLE_WORKSPACE})
                created = True
        self._helper = self._ensure_helper()
        if created:  # the volume's root is root's (copied up from the image): the session's user must write there
            res = self.exec(["chown", self.owner, WORKSPACE_MOUNT])
            if res.exit_code != 0:
                raise StateError(f"cannot give the new workspace volume {self.volume} to {self.owner}: "
                                 f"{message(res.stderr)}")
        return created

    def _fits(self, attrs: dict) -> bool:
        """The helper ``attrs`` (an inspect result) runs our image and mounts our volume."""
        if (attrs.get("Config") or {}).get("Image") != self.helper_image:
            return False
        return any(m.get("Type") == "volume" and m.get("Name") == self.volume
                   and m.get("Destination") == WORKSPACE_MOUNT for m in attrs.get("Mounts") or [])

    def _ensure_helper(self) -> str:
        import docker.errors

        from vmuser_tui.core.runtime import images

        api = self._api()
        with self.runtime._errors(f"start the workspace helper {self.helper}"):
            for _ in range(50):  # another process may create or remove it meanwhile
                try:
                    attrs = api.inspect_container(self.helper)
                except docker.errors.NotFound:
                    attrs = None
                if attrs is not None and not self._fits(attrs):
                    api.remove_container(self.helper, force=True)
                    attrs = None
                if attrs is None:
                    if not images._has_image(self.runtime._docker(), self.helper_image):
                        if self.helper_image != FALLBACK_IMAGE:
                            raise NotFoundError(f"helper image '{self.helper_image}' is not on the engine at "
                                                f"{self.runtime.url}: load it there, or use '{FALLBACK_IMAGE}'")
                        images.build_busybox_image(self.runtime._docker(), FALLBACK_IMAGE)
                    try:
                        attrs = {"Id": self._create(api)["Id"], "State": {}}
                    except docker.errors.APIError as err:
                        if err.status_code == 409:  # being made by another process: its name is taken
                            time.sleep(0.1)  # before that one can be inspected
                            continue
                        raise
                state = attrs.get("State") or {}
                if state.get("Paused"):
                    api.unpause(attrs["Id"])
                elif not state.get("Running"):
                    try:
                        api.start(attrs["Id"])
                    except docker.errors.NotFound:
                        continue
                return str(attrs["Id"])
        raise StateError(f"the workspace helper {self.helper} keeps changing: another program is replacing it; "
                         f"check `docker ps -a --filter name={self.helper}`")

    def _create(self, api: Any) -> dict:
        from docker.types import Mount

        host_config = api.create_host_config(
            mounts=[Mount(WORKSPACE_MOUNT, self.volume, type="volume")],
            network_mode="none", cap_drop=["ALL"], cap_add=list(HELPER_CAPS),
            security_opt=["no-new-privileges"], privileged=False, init=False,
        )
        return api.create_container(
            self.helper_image, command=HELPER_COMMAND, name=self.helper, user="0:0",
            environment={"TZ": "UTC", "HOME": "/tmp"}, working_dir=WORKSPACE_MOUNT,
            labels={LABEL_PROJECT: self.project_id, LABEL_ROLE: ROLE_HELPER},
            host_config=host_config, detach=True, stdin_open=False, tty=False,
        )

    def helper_id(self) -> str:
        """The running helper's container id (made and started when needed)."""
        if self._helper is None:
            self.ensure()
        assert self._helper is not None
        return self._helper

    def stop_helper(self) -> None:
        """Stop the helper (it is started again on next use); gone already is fine."""
        import docker.errors

        with self.runtime._errors(f"stop the workspace helper {self.helper}"):
            try:
                self._api().stop(self.helper, timeout=1)
            except docker.errors.NotFound:
                pass
        self._helper = None

    def remove(self) -> None:
        """Remove the helper and the volume (the workspace's content with it)."""
        import docker.errors

        with self.runtime._errors(f"remove the workspace helper {self.helper}"):
            try:
                self._api().remove_container(self.helper, force=True)
            except docker.errors.NotFound:
                pass
        self._helper = None
        self.runtime.remove_volume(self.volume)

    # -- execs ---------------------------------------------------------------------------
    def _start_exec(self, argv: list[str], stdin: bool) -> tuple[Any, str, ExecStream]:
        """Create and start an exec of ``argv`` in the helper (as root, in /workspace):
        ``(api, exec id, its stream)``. A helper stopped or removed meanwhile is made
        again once."""
        if not argv:
            raise UsageError("empty command: give the program to run in the workspace helper")
        api = self._api()
        for attempt in range(2):
            helper = self.helper_id()
            try:
                with self.runtime._errors(f"run a command in the workspace helper {self.helper}",
                                          missing=f"the workspace helper {self.helper} was removed meanwhile; retry",
                                          conflict=lambda why: (f"the workspace helper {self.helper} is not running "
                                                                f"({why}); retry")):
                    exec_id = api.exec_create(helper, argv, stdout=True, stderr=True, stdin=stdin, tty=False,
                                              user="0:0", workdir=WORKSPACE_MOUNT, environment={"TZ": "UTC"})["Id"]
                    sock = api.exec_start(exec_id, socket=True)
            except (NotFoundError, StateError):
                if attempt:
                    raise
                self._helper = None
                continue
            raw = getattr(sock, "_sock", sock)
            return api, exec_id, ExecStream(sock, buffered_output(sock, raw))
        raise AssertionError("unreachable")

    def _exit_code(self, api: Any, exec_id: str) -> int:
        """The exec's exit code (the stream can close a moment before the engine records it)."""
        with self.runtime._errors("read the exit code of a workspace helper command"):
            for _ in range(250):
                info = api.exec_inspect(exec_id)
                if not info.get("Running") and info.get("ExitCode") is not None:
                    return int(info["ExitCode"])
                time.sleep(0.02)
        return -1

    def exec(self, argv: list[str], *, stdin: bytes | None = None, timeout: float | None = None) -> HelperResult:
        """Run ``argv`` (no shell) in the helper as root in /workspace and wait for it.
        ``stdin``: bytes fed to the command (then EOF). ``timeout``: seconds (None: as long
        as it sends something at least every :data:`QUIET_TIMEOUT`). Raises StateError on
        timeout, RuntimeUnavailableError when the engine fails."""
        started = time.monotonic()
        deadline = None if timeout is None else started + timeout
        api, exec_id, stream = self._start_exec(argv, stdin is not None)
        out = bytearray()
        order: list[tuple[bool, bytes]] = []
        try:
            with self.runtime._errors(f"run a command in the workspace helper {self.helper}"):
                self._pump(stream, stdin, deadline, out, order)
        finally:
            stream._sock.close()
        code = self._exit_code(api, exec_id)
        return HelperResult(exit_code=code, output=b"".join(p for _, p in order), duration=time.monotonic() - started,
                            stdout=bytes(out), stderr=b"".join(p for err, p in order if err))

    def _pump(self, stream: ExecStream, stdin: bytes | None, deadline: float | None, out: bytearray,
              order: list[tuple[bool, bytes]]) -> None:
        """Send ``stdin`` and read the output together (select on both directions, so a
        command that prints before reading cannot deadlock), until the stream ends."""
        raw = stream._raw
        pending = memoryview(stdin) if stdin is not None else None
        data = stream._first
        stream._first = b""
        while True:
            if data:
                for name, piece in stream._parser.feed(data):
                    order.append((name == "stderr", piece))
                    if name == "stdout":
                        out += piece
            if pending is not None and not pending:
                with contextlib.suppress(OSError):
                    raw.shutdown(socket.SHUT_WR)  # EOF on the command's stdin
                pending = None
            wait = QUIET_TIMEOUT if deadline is None else max(0.0, deadline - time.monotonic())
            writers = [raw] if pending is not None else []
            tls = getattr(raw, "pending", None)
            writable: list = []
            if tls and tls():
                readable = [raw]
            else:
                readable, writable, _ = select.select([raw], writers, [], wait)
            if not readable and not writable:
                raise StateError(f"a workspace helper command sent nothing for {wait:g} s; "
                                 "it goes on in the helper: retry, or stop it with vmuser session stop")
            if writable and pending is not None:
                sent = raw.send(pending[:65536])
                pending = pending[sent:]
            data = b""
            if readable:
                data = raw.recv(CHUNK)
                if not data:
                    return

    @contextlib.contextmanager
    def stream(self, argv: list[str]) -> Iterator[ExecStream]:
        """Run ``argv`` in the helper and yield its stdout as a binary file as it comes;
        on leaving the block the rest is drained, and ``.exit_code`` and ``.stderr`` say
        how it ended (the caller decides whether that is an error: a tar whose file
        vanished exits 1 with a complete stream)."""
        api, exec_id, stream = self._start_exec(argv, False)
        try:
            with self.runtime._errors(f"read from the workspace helper {self.helper}"):
                yield stream
                stream.drain()
        finally:
            stream._sock.close()
        stream.exit_code = self._exit_code(api, exec_id)

    def put_archive(self, path: str, tar_bytes: bytes | Iterable[bytes]) -> None:
        """Extract a tar (bytes, or an iterable of byte pieces, sent as it is produced)
        at the absolute ``path`` in the helper (a folder that exists). Owners and modes
        come from the tar headers."""
        helper = self.helper_id()
        with self.runtime._errors(f"copy files into the workspace volume {self.volume}",
                                  missing=f"{path} is not a folder in the workspace volume {self.volume}"):
            ok = self._api().put_archive(helper, path, tar_bytes)
        if not ok:
            raise StateError(f"the engine refused to copy files into {path} of volume {self.volume}")


def message(stderr: bytes, limit: int = 160) -> str:
    """A helper command's stderr as one line for an error message."""
    return one_line(stderr.decode("utf-8", "replace").strip() or "no message", limit)


__all__ = ["EngineWorkspace", "ExecStream", "HelperResult", "VmuserError", "message", "volume_name", "helper_name"]
