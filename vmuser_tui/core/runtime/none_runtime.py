"""Runtime ``none``: a session is only its workspace directory, no container.

Checkpoints, restores and the file explorer work as usual. Anything that would run a
process refuses with :class:`StateError`: running commands on the host instead would
silently drop the isolation users asked for.
"""

from __future__ import annotations

from vmuser_tui.core.errors import StateError
from vmuser_tui.core.runtime.base import (
    WORKSPACE_MOUNT,
    ContainerInfo,
    ContainerSpec,
    ExecOptions,
    ExecOutcome,
    ExecResult,
    ImageChoice,
    OutputSink,
)
from vmuser_tui.core.runtime.exec_control import ExecControl
from vmuser_tui.core.runtime.logs import LogStream

NO_CONTAINER = "session has no container (runtime 'none'); start one with --runtime docker"


class NoneRuntime:
    """Workspace-only runtime: lifecycle calls are no-ops, process calls raise ``StateError``."""

    name = "none"

    def ping(self) -> None:
        """Always reachable: there is no engine."""

    def ensure_image(self, image: str) -> ImageChoice:
        """Nothing to pull; the image is recorded but never used."""
        return ImageChoice(image=image, fallback=False,
                           message=f"runtime 'none' runs no container; image '{image}' is not used")

    def start(self, spec: ContainerSpec) -> ContainerInfo:
        """Return a container-less ``ContainerInfo`` (id "", status "none")."""
        return ContainerInfo(id="", name=spec.name, image=spec.image, status="none", labels=dict(spec.labels))

    def stop(self, container_id: str, timeout: int = 5) -> None:
        """No-op."""

    def pause(self, container_id: str) -> None:
        """Raise ``StateError``: there are no processes to freeze."""
        raise StateError(NO_CONTAINER)

    def unpause(self, container_id: str) -> None:
        """Raise ``StateError``: there are no processes to thaw."""
        raise StateError(NO_CONTAINER)

    def remove(self, container_id: str) -> None:
        """No-op."""

    def environment(self, container_id: str) -> dict[str, str]:
        """Raise StateError: no container, no environment."""
        raise StateError(NO_CONTAINER)

    def inspect(self, container_id: str) -> ContainerInfo | None:
        """Always a ``ContainerInfo`` with status "none".

        Never None: None means "the container vanished", which reconciliation would
        turn into a failed session.
        """
        return ContainerInfo(id=container_id, name="", image="", status="none", labels={})

    def list_managed(self, label: str = "") -> list[ContainerInfo]:
        """No containers."""
        return []

    def exec(
        self,
        container_id: str,
        argv: list[str],
        *,
        workdir: str = WORKSPACE_MOUNT,
        environment: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> ExecResult:
        """Raise ``StateError``."""
        raise StateError(NO_CONTAINER)

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
        """Raise ``StateError``."""
        raise StateError(NO_CONTAINER)

    def logs(self, container_id: str, tail: int = 200) -> str:
        """Raise ``StateError``."""
        raise StateError(NO_CONTAINER)

    def stream_logs(self, container_id: str, *, follow: bool = False, since: float | None = None,
                    tail: int | None = None) -> LogStream:
        """Raise ``StateError``."""
        raise StateError(NO_CONTAINER)

    def stats(self, container_id: str) -> dict:
        """Raise ``StateError``."""
        raise StateError(NO_CONTAINER)

    def shell_argv(self, container_id: str, workdir: str = WORKSPACE_MOUNT) -> list[str]:
        """Raise ``StateError``."""
        raise StateError(NO_CONTAINER)
