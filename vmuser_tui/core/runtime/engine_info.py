"""The Docker engine's version for ``vmuser version`` (a bug report's first lines).

Asked with a short timeout and never raising: an engine that does not answer is a fact
to report ("unreachable"), not an error. docker types stay in this module (core/runtime).
"""

from __future__ import annotations

import os

TIMEOUT = 2.0  # seconds: a bug report must not wait for a hung engine


def engine_version(base_url: str = "", timeout: float = TIMEOUT) -> str | None:
    """``"27.3.1 (API 1.47, linux/amd64)"``, or None when the engine at ``base_url`` (empty:
    ``DOCKER_HOST`` or the default socket) does not answer within ``timeout`` seconds."""
    try:
        import docker

        url = base_url or os.environ.get("DOCKER_HOST") or ""
        client = docker.DockerClient(base_url=url, timeout=timeout) if url else docker.from_env(timeout=timeout)
        try:
            info = client.version()
        finally:
            client.close()
    except Exception:  # noqa: BLE001 - any failure means: not reachable now
        return None
    platform = f", {info.get('Os', '?')}/{info.get('Arch', '?')}" if info.get("Os") else ""
    return f"{info.get('Version', '?')} (API {info.get('ApiVersion', '?')}{platform})"
