"""A stand-in for ``core.runtime.engine_workspace.EngineWorkspace`` (issue #14, H2), for the
tests of ``core.store.engine_files`` only: a named volume plus a busybox helper container
with the volume at /workspace (root, no network, cap_drop ALL + CHOWN/DAC_OVERRIDE/FOWNER/
FSETID, ``sleep 2147483647``), and the three methods EngineFiles uses, with the contract's
names and signatures: ``exec``, ``put_archive``, ``stream``. The lead swaps it for the real
EngineWorkspace when merging.

``helper_stub(tag)`` is a context manager: the volume and container get unique names and
are removed on exit, pass or fail.
"""

from __future__ import annotations

import contextlib
import io
import os
import secrets
import time
from collections.abc import Iterator
from typing import IO

import docker
import docker.errors

from vmuser_tui.core.runtime.base import ExecResult

IMAGE = "vmuser-busybox:local"


class _ChunkReader(io.RawIOBase):
    """A readable over a generator of byte chunks (a docker exec's stdout stream)."""

    def __init__(self, chunks: Iterator[bytes]):
        self._chunks = chunks
        self._left = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:  # type: ignore[override]
        while not self._left:
            try:
                self._left = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(buf), len(self._left))
        buf[:n] = self._left[:n]
        self._left = self._left[n:]
        return n


class HelperStub:
    """A workspace volume + helper container on the local engine (see the module docstring)."""

    def __init__(self, client: docker.DockerClient, tag: str):
        self.client = client
        self.api = client.api
        suffix = f"{tag}-{os.getpid()}-{secrets.token_hex(4)}"
        self.volume = f"vmuser-test-ws-{suffix}"
        self.name = f"vmuser-test-wsh-{suffix}"
        client.volumes.create(self.volume, labels={"vmuser.test": "i14-files"})
        self.container = client.containers.run(
            IMAGE, ["sleep", "2147483647"], name=self.name, detach=True, user="0:0",
            network_mode="none", cap_drop=["ALL"], cap_add=["CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID"],
            volumes={self.volume: {"bind": "/workspace", "mode": "rw"}},
            labels={"vmuser.test": "i14-files"},
        )
        self.exec_count = 0

    # -- the EngineWorkspace methods EngineFiles uses ----------------------------------------
    def exec(self, argv: list[str], *, stdin: bytes | None = None, timeout: float | None = None) -> ExecResult:
        self.exec_count += 1
        start = time.monotonic()
        if stdin is not None:
            raise NotImplementedError("EngineFiles sends no stdin; the stub does not either")
        ex = self.api.exec_create(self.container.id, argv, user="0:0")
        out = self.api.exec_start(ex["Id"])
        code = self.api.exec_inspect(ex["Id"])["ExitCode"]
        return ExecResult(code if code is not None else -1, out, time.monotonic() - start)

    def put_archive(self, path: str, tar_bytes: bytes) -> None:
        self.api.put_archive(self.container.id, path, tar_bytes)

    @contextlib.contextmanager
    def stream(self, argv: list[str]) -> Iterator[IO[bytes]]:
        self.exec_count += 1
        ex = self.api.exec_create(self.container.id, argv, user="0:0", stdout=True, stderr=False)
        chunks = self.api.exec_start(ex["Id"], stream=True)
        reader = io.BufferedReader(_ChunkReader(iter(chunks)))
        try:
            yield reader
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()

    # -- for the tests -----------------------------------------------------------------
    def sh(self, script: str, *args: str) -> bytes:
        """Run a shell script in the helper (as a session would act on the volume); output."""
        return self.api.exec_start(self.api.exec_create(self.container.id, ["sh", "-c", script, "sh", *args],
                                                        user="0:0")["Id"])

    def remove(self) -> None:
        with contextlib.suppress(docker.errors.NotFound):
            self.container.remove(force=True)
        with contextlib.suppress(docker.errors.NotFound):
            self.client.volumes.get(self.volume).remove(force=True)


@contextlib.contextmanager
def helper_stub(tag: str) -> Iterator[HelperStub]:
    base_url = os.environ.get("VMUSER_DOCKER_BASE_URL")
    client = docker.DockerClient(base_url=base_url, timeout=60) if base_url else docker.from_env(timeout=60)
    stub = HelperStub(client, tag)
    try:
        yield stub
    finally:
        stub.remove()
        client.close()
