"""What every container runtime offers: plain dataclasses and one Protocol.

The service layer talks to :class:`ContainerRuntime` only; ``docker`` types never leave
:mod:`vmuser_tui.core.runtime.docker_runtime`. Units: bytes for memory, cores for CPUs,
seconds for durations and timeouts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:  # pragma: no cover
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

    def shell_argv(self, container_id: str) -> list[str]:
        """argv that opens an interactive shell in the container (run with a TTY)."""
        ...
