"""Reading the Docker engine's answers: inspect results, exec streams, stats samples.

Pure functions over the plain dicts and bytes the SDK's low-level API returns, kept apart
from :mod:`vmuser_tui.core.runtime.docker_runtime` (which talks to the engine) so each module
has one job. Units: bytes, percent of one core, seconds (monotonic) for deadlines.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import time
from typing import Any

from vmuser_tui.core.runtime.base import ContainerInfo, PortBinding


def published(attrs: dict) -> list[PortBinding]:
    """The ports an ``inspect_container`` result says are published, host port filled in.

    ``NetworkSettings.Ports`` is ``{"8000/tcp": [{"HostIp": "127.0.0.1", "HostPort": "49153"}]}``
    while the container runs; a stopped one has none there, so ``HostConfig.PortBindings``
    (what was asked) is the fallback."""
    ports = (attrs.get("NetworkSettings") or {}).get("Ports") or (attrs.get("HostConfig") or {}).get("PortBindings")
    out = []
    for key, bindings in sorted((ports or {}).items()):
        number, _, proto = key.partition("/")
        for b in bindings or []:
            host = b.get("HostPort") or ""
            out.append(PortBinding(int(number), int(host) if host.isdigit() else None, b.get("HostIp") or "",
                                   proto or "tcp"))
    return out


def container_info(attrs: dict) -> ContainerInfo:
    """``ContainerInfo`` from an ``inspect_container`` result."""
    config, state = attrs.get("Config") or {}, attrs.get("State") or {}
    return ContainerInfo(
        id=attrs["Id"], name=attrs.get("Name", "").lstrip("/"), image=config.get("Image", ""),
        status=state.get("Status", "unknown"), labels=dict(config.get("Labels") or {}),
        ports=published(attrs),
    )


def read_all(sock: Any, deadline: float | None) -> bytes | None:
    """Read ``sock`` until EOF; None when ``deadline`` (monotonic seconds) passes first.

    select() before each read, so the socket's own timeout never fires on a command that
    is merely quiet, and the deadline holds however the output is paced.
    """
    chunks: list[bytes] = []
    while True:
        pending = getattr(sock, "pending", None)  # TLS sockets buffer data select() cannot see
        if not (pending and pending()):
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            readable, _, _ = select.select([sock], [], [], wait)
            if not readable:
                return None
        data = sock.recv(65536) if hasattr(sock, "recv") else sock.read(65536)
        if not data:
            return b"".join(chunks)
        chunks.append(data)


def demux(raw: bytes) -> bytes:
    """Concatenate the payloads of Docker's multiplexed stream (8-byte frame headers).

    Frames arrive in the order the process wrote them, so stdout and stderr stay interleaved.
    """
    out, i = [], 0
    while i + 8 <= len(raw):
        _, length = struct.unpack_from(">BxxxL", raw, i)
        out.append(raw[i + 8 : i + 8 + length])
        i += 8 + length
    return b"".join(out)


def cpu_percent(stats: dict) -> float:
    """CPU use as `docker stats` computes it: cpu_delta / system_delta * online_cpus * 100."""
    cpu, pre = stats.get("cpu_stats") or {}, stats.get("precpu_stats") or {}
    cpu_delta = (cpu.get("cpu_usage") or {}).get("total_usage", 0) - (pre.get("cpu_usage") or {}).get("total_usage", 0)
    system_delta = cpu.get("system_cpu_usage", 0) - pre.get("system_cpu_usage", 0)
    online = cpu.get("online_cpus") or len((cpu.get("cpu_usage") or {}).get("percpu_usage") or []) or 1
    if cpu_delta <= 0 or system_delta <= 0:
        return 0.0
    return cpu_delta / system_delta * online * 100.0


def memory_bytes(stats: dict) -> int:
    """Memory in use minus page cache, as `docker stats` shows it (cgroup v1 and v2)."""
    mem = stats.get("memory_stats") or {}
    detail = mem.get("stats") or {}
    cache = detail.get("total_inactive_file", detail.get("inactive_file", 0))
    usage = mem.get("usage", 0)
    return usage - cache if 0 <= cache <= usage else usage


def buffered_output(sock: Any, raw: socket.socket) -> bytes:
    """Bytes the HTTP client already read past the response headers of ``exec_start``.

    http.client reads the status line and headers through a buffered reader, which may
    pull in the first output of a fast command along with them; reading only the raw
    socket afterwards would lose it. The buffer is peeked with the socket non-blocking,
    so nothing waits here. Best effort: any surprise in the SDK's internals yields b"".
    """
    try:
        fp = sock._response.raw._fp.fp  # the BufferedReader over ``sock``
    except AttributeError:
        return b""
    timeout = raw.gettimeout()
    try:
        raw.settimeout(0.0)
        data = fp.peek(65536) if hasattr(fp, "peek") else b""
        return fp.read(len(data)) if data else b""
    except (OSError, ValueError):
        return b""
    finally:
        with contextlib.suppress(OSError):
            raw.settimeout(timeout)
