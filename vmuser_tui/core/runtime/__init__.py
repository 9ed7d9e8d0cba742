"""Container runtimes: ``docker`` (the docker SDK) and ``none`` (workspace only).

Importing this package is cheap: the docker SDK loads when a Docker runtime first talks
to the engine. Use :func:`get_runtime` to pick one by its config name.
"""

from __future__ import annotations

from vmuser_tui.core.errors import UsageError
from vmuser_tui.core.runtime.base import (
    LABEL_PROJECT,
    LABEL_SESSION,
    WORKSPACE_MOUNT,
    ContainerInfo,
    ContainerRuntime,
    ContainerSpec,
    ExecResult,
    ImageChoice,
)
from vmuser_tui.core.runtime.images import FALLBACK_IMAGE

RUNTIMES = ("docker", "none")

__all__ = [
    "FALLBACK_IMAGE",
    "LABEL_PROJECT",
    "LABEL_SESSION",
    "RUNTIMES",
    "WORKSPACE_MOUNT",
    "ContainerInfo",
    "ContainerRuntime",
    "ContainerSpec",
    "ExecResult",
    "ImageChoice",
    "get_runtime",
]


def get_runtime(name: str, *, base_url: str = "", timeout: int = 30) -> ContainerRuntime:
    """The runtime called ``name`` ('docker' or 'none'); raise :class:`UsageError` otherwise.

    ``base_url`` and ``timeout`` (seconds per engine answer) apply to 'docker' only. No
    connection is made here: the Docker runtime connects on first use.
    """
    if name == "docker":
        from vmuser_tui.core.runtime.docker_runtime import DockerRuntime

        return DockerRuntime(base_url=base_url, timeout=timeout)
    if name == "none":
        from vmuser_tui.core.runtime.none_runtime import NoneRuntime

        return NoneRuntime()
    raise UsageError(f"unknown runtime {name!r}: use 'docker' or 'none'")
