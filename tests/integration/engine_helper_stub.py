"""A real engine workspace for the tests of ``core.store.engine_files``: an
:class:`~vmuser_tui.core.runtime.engine_workspace.EngineWorkspace` on the local engine (its
volume and helper container, as vmuser makes them), with what the tests need besides:
``exec_count`` (how many execs EngineFiles sent), ``sh`` (act on the volume as a session
would) and ``api``/``container`` (the engine's low-level client and the helper).

``helper_stub(tag)`` is a context manager: the volume and the helper get a unique project
id and are removed on exit, pass or fail. (The name stays from when EngineFiles was written
before EngineWorkspace existed.)
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from typing import Any

from vmuser_tui.core.runtime.docker_runtime import DockerRuntime
from vmuser_tui.core.runtime.engine_workspace import EngineWorkspace


class HelperStub:
    """An EngineWorkspace that counts the execs sent to it (see the module docstring)."""

    def __init__(self, tag: str) -> None:
        base_url = os.environ.get("VMUSER_DOCKER_BASE_URL", "")
        self.runtime = DockerRuntime(base_url=base_url, timeout=60)
        self.ws = EngineWorkspace(self.runtime, f"test-{tag}-{os.getpid()}-{secrets.token_hex(4)}")
        self.ws.ensure()
        self.volume = self.ws.volume
        self.api = self.runtime._docker().api
        self.exec_count = 0

    @property
    def container(self) -> Any:
        return self.runtime._docker().containers.get(self.ws.helper_id())

    # -- what EngineFiles uses, counted ----------------------------------------------------
    def exec(self, argv: list[str], *, stdin: bytes | None = None, timeout: float | None = None):
        self.exec_count += 1
        return self.ws.exec(argv, stdin=stdin, timeout=timeout)

    def put_archive(self, path: str, tar_bytes: bytes) -> None:
        self.ws.put_archive(path, tar_bytes)

    @contextlib.contextmanager
    def stream(self, argv: list[str]) -> Iterator[Any]:
        self.exec_count += 1
        with self.ws.stream(argv) as out:
            yield out

    # -- for the tests -----------------------------------------------------------------
    def sh(self, script: str, *args: str) -> bytes:
        """Run a shell script in the helper (as a session would act on the volume); its output."""
        return self.ws.exec(["sh", "-c", script, "sh", *args]).output

    def remove(self) -> None:
        self.ws.remove()
        self.runtime.close()


@contextlib.contextmanager
def helper_stub(tag: str) -> Iterator[HelperStub]:
    stub = HelperStub(tag)
    try:
        yield stub
    finally:
        stub.remove()
