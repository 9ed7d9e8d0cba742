"""What every container runtime offers: plain dataclasses and one Protocol.

The service layer talks to :class:`ContainerRuntime` only; ``docker`` types never leave
:mod:`vmuser_tui.core.runtime.docker_runtime`. Units: bytes for memory, cores for CPUs,
seconds for durations and timeouts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:  # pragma: no cover
    from vmuser_tui.core.runtime.exec_control import ExecControl
    from vmuser_tui.core.runtime.logs import LogStream

# Labels carried by every managed container; any process can reconcile the sessions
# table with what the engine reports by filtering on them (design.md section 2).
LABEL_PROJECT = "vmuser.project"
LABEL_SESSION = "vmuser.session"

# Where the workspace is bind-mounted inside the container.
WORKSPACE_MOUNT = "/workspace"


@dataclass(frozen=True)
class PortBinding:
    """One published port: ``container`` port (1-65535) reachable on the engine's host at
    ``host_ip:host``. ``host`` None: the engine picks a free port (read it back from
    :attr:`ContainerInfo.ports`). ``host_ip`` defaults to loopback: a dev server is never
    exposed to the network unless the user asks for ``0.0.0.0`` (Docker's own default is
    every interface). ``protocol`` is ``tcp`` or ``udp``."""

    container: int
    host: int | None = None
    host_ip: str = "127.0.0.1"
    protocol: str = "tcp"

    def to_json(self) -> dict:
        """``{"container": int, "host": int | None, "host_ip": str, "protocol": str}``."""
        return {"container": self.container, "host": self.host, "host_ip": self.host_ip,
                "protocol": self.protocol}


@dataclass(frozen=True)
class MountSpec:
    """One extra mount besides the workspace: ``kind`` ``volume`` (a named volume, created by
    the engine on first use) or ``bind`` (a host path; only when the config allows it),
    ``source`` the volume name or absolute host path, ``target`` an absolute container path."""

    kind: str
    source: str
    target: str
    read_only: bool = False


@dataclass
class ContainerSpec:
    """What to create for one session.

    ``workspace`` is an absolute host directory, bind-mounted read-write at ``/workspace``;
    ``memory`` is in bytes, ``cpus`` in cores (fractions allowed). A limit of 0 means
    "no limit" (Docker's convention). ``user`` is the ``"uid:gid"`` the container's
    processes run as (see :mod:`vmuser_tui.core.container_user`); empty: the host user's,
    or 65534:65534 when that is root.
    """

    image: str
    name: str  # e.g. "vmuser-<project_id>-<session_id>"
    workspace: str
    labels: dict[str, str]  # includes "vmuser.project", "vmuser.session"
    memory: int
    cpus: float
    pids_limit: int
    environment: dict[str, str] = field(default_factory=dict)
    user: str = ""
    # Published ports, extra mounts, the folder commands start in (the workspace mount
    # point unless a devcontainer.json names another), and allow-listed docker run
    # options as host-config keyword arguments (see core/launch.py for which and why).
    ports: list[PortBinding] = field(default_factory=list)
    mounts: list[MountSpec] = field(default_factory=list)
    workdir: str = WORKSPACE_MOUNT
    run_options: dict[str, object] = field(default_factory=dict)
    # On an engine other than ``local`` the workspace is this named volume there (issue 14),
    # mounted at /workspace instead of ``workspace`` (then unused).
    workspace_volume: str = ""


@dataclass
class ContainerInfo:
    """A container as the engine reports it.

    ``id`` is the full container id ("" for runtime ``none``); ``status`` is Docker's
    (created/running/paused/restarting/exited/dead/removing) or ``"none"``.
    """

    id: str
    name: str
    image: str  # image reference actually used
    status: str
    labels: dict[str, str]
    ports: list[PortBinding] = field(default_factory=list)  # as published (host port filled in)


@dataclass
class ExecResult:
    """Outcome of one command: exit code, stdout and stderr interleaved, wall time in seconds."""

    exit_code: int
    output: bytes
    duration: float


#: Which stream a piece of a command's output came from ("stdout" also for a TTY's one stream).
StreamName = Literal["stdout", "stderr"]
#: Called with each piece of output as it arrives: (stream, bytes). Runs in the thread that
#: pumps the exec; raw bytes (a TTY's escape sequences included), split anywhere.
OutputSink = Callable[[StreamName, bytes], None]


@dataclass
class ExecOptions:
    """How to run one streaming exec (``docker exec``'s flags).

    ``stdin``: attach the command's stdin (``-i``); ``tty``: allocate a pseudo-terminal
    (``-t``: one raw output stream, stderr merged); ``detach``: start it and return (``-d``);
    ``workdir``: absolute path in the container; ``environment``: extra variables;
    ``user``: ``name``, ``uid`` or ``uid:gid`` ("" = the container's user); ``size``:
    the TTY's ``(rows, cols)`` at start.
    """

    stdin: bool = False
    tty: bool = False
    detach: bool = False
    workdir: str = WORKSPACE_MOUNT
    environment: dict[str, str] = field(default_factory=dict)
    user: str = ""
    size: tuple[int, int] | None = None


@dataclass
class ExecOutcome:
    """How a streaming exec ended: ``exit_code`` (None when detached, or when the engine
    never reported one), wall time in seconds, whether it was cancelled, and which
    signal vmuser sent it last ("INT", "TERM", "KILL"; "" when none)."""

    exit_code: int | None
    duration: float
    cancelled: bool = False
    detached: bool = False
    signal: str = ""


@dataclass
class ImageChoice:
    """Which image a session will use; ``fallback`` is True when the configured one was unusable.

    ``message`` is one line for the user, e.g. "image 'debian:bookworm-slim' cannot be
    pulled (...); using locally built 'vmuser-busybox:local'".
    """

    image: str
    fallback: bool
    message: str


@runtime_checkable
class ContainerRuntime(Protocol):
    """A container backend ("docker" or "none").

    Every method raises only :class:`~vmuser_tui.core.errors.VmuserError` subclasses:
    ``RuntimeUnavailableError`` (engine unreachable or refusing), ``NotFoundError``
    (no such container or image), ``StateError`` (wrong state, e.g. exec on a stopped
    container), ``UsageError`` (bad arguments or limits).
    """

    name: str

    def ping(self) -> None:
        """Check the engine answers; raise ``RuntimeUnavailableError`` otherwise."""
        ...

    def ensure_image(self, image: str) -> ImageChoice:
        """Make ``image`` (or the fallback image) available locally and say which one."""
        ...

    def start(self, spec: ContainerSpec) -> ContainerInfo:
        """Create and start a container for ``spec``."""
        ...

    def stop(self, container_id: str, timeout: int = 5) -> None:
        """Stop, waiting ``timeout`` seconds after SIGTERM before SIGKILL."""
        ...

    def pause(self, container_id: str) -> None:
        """Freeze every process of the container."""
        ...

    def unpause(self, container_id: str) -> None:
        """Thaw a paused container."""
        ...

    def remove(self, container_id: str) -> None:
        """Force-remove; a missing container is not an error."""
        ...

    def inspect(self, container_id: str) -> ContainerInfo | None:
        """Current state, or None when the container is gone."""
        ...

    def list_managed(self, label: str = LABEL_SESSION) -> list[ContainerInfo]:
        """All containers (any state) carrying ``label`` (default: ``vmuser.session``)."""
        ...

    def environment(self, container_id: str) -> dict[str, str]:
        """The container's environment variables ``{name: value}`` (values may be secrets:
        mask before showing, never store)."""
        ...

    def exec(
        self,
        container_id: str,
        argv: list[str],
        *,
        workdir: str = WORKSPACE_MOUNT,
        environment: dict[str, str] | None = None,
    ) -> ExecResult:
        """Run ``argv`` in the running container and wait for it to finish."""
        ...

    def exec_stream(
        self,
        container_id: str,
        argv: list[str],
        options: ExecOptions,
        on_output: OutputSink,
        *,
        stdin_fd: int | None = None,
        control: ExecControl | None = None,
    ) -> ExecOutcome:
        """Run ``argv`` and deliver its output to ``on_output`` as it arrives; ``stdin_fd``
        (a readable descriptor, with ``options.stdin``) is forwarded until EOF; ``control``
        takes interrupt/cancel/resize requests from other threads. Returns when the command
        ends (at once with ``options.detach``)."""
        ...

    def logs(self, container_id: str, tail: int = 200) -> str:
        """The last ``tail`` lines of the container's output, decoded as UTF-8."""
        ...

    def stream_logs(self, container_id: str, *, follow: bool = False, since: float | None = None,
                    tail: int | None = None) -> LogStream:
        """The output as :class:`~vmuser_tui.core.runtime.logs.LogLine`\\ s (``since``: UNIX
        seconds, UTC; ``tail``: last lines, None = all); ``follow`` keeps reading new lines."""
        ...

    def stats(self, container_id: str) -> dict:
        """One sample: ``{"cpu_percent": float, "memory_bytes": int, "memory_limit": int}``."""
        ...

    def shell_argv(self, container_id: str, workdir: str = WORKSPACE_MOUNT) -> list[str]:
        """argv that opens an interactive shell in the container (run with a TTY)."""
        ...
