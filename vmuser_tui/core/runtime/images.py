"""Make a session image available: local image, else a bounded pull, else a busybox fallback.

The fallback exists because sessions must start on machines with no registry access
(air-gapped hosts, CI): a static busybox binary from the host is enough for a usable
image with ``sh`` and the usual tools.

Functions here take a ``docker.DockerClient``. Failures of the build itself become
:class:`RuntimeUnavailableError`; transport errors (engine gone mid-call) propagate as
docker/requests exceptions and are translated by
:class:`~vmuser_tui.core.runtime.docker_runtime.DockerRuntime`, the only caller.
"""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path
from typing import Any

from vmuser_tui.core.errors import RuntimeUnavailableError, UsageError
from vmuser_tui.core.runtime.base import ImageChoice

FALLBACK_IMAGE = "vmuser-busybox:local"
# Seconds of silence from the engine before a pull is given up. It bounds the wait for an
# unreachable registry, not the length of a pull that is making progress.
PULL_TIMEOUT = 20.0
BUILD_TIMEOUT = 120.0

# `--install -s` makes /bin/sh and friends symlinks to busybox. /tmp is world-writable
# because containers run as an unprivileged uid (the host user's, or 65534 when vmuser runs
# as root) that has no passwd entry and no other writable home: HOME=/tmp.
DOCKERFILE = """\
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "sh", "-c", "busybox --install -s /bin && mkdir -p /tmp /workspace /etc && chmod 1777 /tmp"]
LABEL vmuser.fallback="busybox"
WORKDIR /workspace
CMD ["sh"]
"""


def one_line(text: Any, limit: int = 200) -> str:
    """Collapse whitespace so engine messages fit the one-line error convention."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def short_reason(reason: str) -> str:
    """The gist of a failed pull, for a one-line notice: engines answer with long
    transport errors (``Get "https://...": dial tcp: lookup ...: no such host``)."""
    low = reason.lower()
    if any(s in low for s in ("no such host", "dial tcp", "network is unreachable", "connection refused",
                              "server misbehaving", "temporary failure in name resolution")):
        return "no registry reachable"
    if "timeout" in low or "timed out" in low or "did not answer" in low:
        return "the registry did not answer in time"
    if "not found" in low or "manifest unknown" in low or "does not exist" in low:
        return "no such image in the registry"
    if "unauthorized" in low or "denied" in low:
        return "the registry refused access: docker login first"
    return one_line(reason, 80)


def is_static_elf(path: str) -> bool:
    """True when ``path`` is an ELF executable without a program interpreter (PT_INTERP).

    A dynamically linked busybox cannot run in a ``FROM scratch`` image (no libc there),
    so it is skipped before spending a build on it.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(64)
            if len(head) < 52 or head[:4] != b"\x7fELF":
                return False
            is64, endian = head[4] == 2, "<" if head[5] == 1 else ">"
            if is64:
                phoff, = struct.unpack_from(endian + "Q", head, 0x20)
                phentsize, phnum = struct.unpack_from(endian + "HH", head, 0x36)
            else:
                phoff, = struct.unpack_from(endian + "I", head, 0x1C)
                phentsize, phnum = struct.unpack_from(endian + "HH", head, 0x2A)
            for i in range(phnum):
                f.seek(phoff + i * phentsize)
                p_type, = struct.unpack(endian + "I", f.read(4))
                if p_type == 3:  # PT_INTERP: needs a dynamic loader
                    return False
            return True
    except (OSError, struct.error):
        return False


def find_busybox() -> list[str]:
    """Static busybox binaries on this host, best first (real paths, no duplicates)."""
    import shutil  # (here and in _context: listing sessions loads this module, building is rare)

    found: list[str] = []
    for candidate in ("/bin/busybox", "/usr/bin/busybox", shutil.which("busybox")):
        if candidate and os.path.isfile(candidate):
            real = os.path.realpath(candidate)
            if real not in found and is_static_elf(real):
                found.append(real)
    return found


def _context(busybox: str) -> io.BytesIO:
    """An in-memory tar build context: the Dockerfile and the busybox binary."""
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data, mode in (
            ("Dockerfile", DOCKERFILE.encode(), 0o644),
            ("busybox", Path(busybox).read_bytes(), 0o755),
        ):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    return buf


def _build(client: Any, busybox: str, tag: str) -> str | None:
    """Build ``tag`` from ``busybox``; return None on success, else the engine's reason.

    The ``RUN`` step executes busybox inside the image, so a successful build proves the
    binary runs there (static, right architecture).
    """
    # nocache: a build never depends on intermediate images another process may be
    # deleting at that moment (seen with concurrent builds); it takes under a second.
    stream = client.api.build(
        fileobj=_context(busybox), custom_context=True, tag=tag, rm=True, forcerm=True,
        nocache=True, decode=True, timeout=BUILD_TIMEOUT,
    )
    for chunk in stream:
        if "error" in chunk:
            return one_line(chunk.get("errorDetail", {}).get("message") or chunk["error"])
    return None


def build_busybox_image(client: Any, tag: str = FALLBACK_IMAGE) -> str:
    """Build the fallback image ``tag`` from the host's static busybox; return ``tag``.

    Tries each static busybox found by :func:`find_busybox`. Raises
    :class:`RuntimeUnavailableError` when none exists or none builds.
    """
    reasons = []
    for busybox in find_busybox():
        reason = _build(client, busybox, tag)
        # Another process building the same tag at the same time counts as success.
        if reason is None or _has_image(client, tag):
            return tag
        reasons.append(f"{busybox}: {reason}")
    detail = "; ".join(reasons) if reasons else "no static busybox found in /bin, /usr/bin or PATH"
    raise RuntimeUnavailableError(
        f"cannot build fallback image '{tag}' ({one_line(detail, 160)}): "
        "install busybox-static (apt-get install busybox-static)"
    )


def _has_image(client: Any, image: str) -> bool:
    """True when the engine has ``image`` locally (no pull)."""
    import docker.errors

    try:
        client.api.inspect_image(image)
        return True
    except docker.errors.ImageNotFound:
        return False
    except docker.errors.APIError as err:
        if err.status_code == 400:  # e.g. "invalid reference format"
            raise UsageError(
                f"invalid image name '{image}' ({one_line(err.explanation or err)}): "
                "use name[:tag], e.g. debian:bookworm-slim"
            ) from err
        raise


def pull_image(client: Any, image: str, timeout: float = PULL_TIMEOUT) -> str | None:
    """Pull ``image``; return None on success, else a one-line reason.

    Why not ``client.api.pull``: it sends the request with ``timeout=None``, so an
    engine stuck dialling an unreachable registry blocks the caller indefinitely. This
    is the same request (same auth header) with a read timeout of ``timeout`` seconds
    between progress messages.
    """
    from docker import auth, utils

    repository, tag = utils.parse_repository_tag(image)
    try:
        registry, _ = auth.resolve_repository_name(repository)
        headers = {}
        header = auth.get_config_header(client.api, registry)
        if header:
            headers["X-Registry-Auth"] = header
        api = client.api
        response = api._post(
            api._url("/images/create"), params={"fromImage": repository, "tag": tag or "latest"},
            headers=headers, stream=True, timeout=timeout,
        )
        api._raise_for_status(response)
        for message in api._stream_helper(response, decode=True):
            if "error" in message:
                return one_line(message.get("errorDetail", {}).get("message") or message["error"])
    except Exception as err:  # any failure (timeout, denied, bad name) means "use the fallback"
        reason = getattr(err, "explanation", None) or err
        if "timed out" in str(reason).lower() or "timeout" in type(err).__name__.lower():
            return f"no answer from the registry within {timeout:g} s"
        return one_line(reason)
    return None if _has_image(client, image) else "the engine reported success but has no such image"


def ensure_image(client: Any, image: str, *, pull_timeout: float = PULL_TIMEOUT) -> ImageChoice:
    """Return the image a session should use, pulling or building as needed.

    Order: ``image`` present locally; ``image`` pulled (bounded by ``pull_timeout``
    seconds of silence); else the busybox fallback, reused when already built. Raises
    :class:`UsageError` for a malformed name, :class:`RuntimeUnavailableError` when the
    fallback cannot be built either.
    """
    if _has_image(client, image):
        return ImageChoice(image, False, f"using local image '{image}'")
    if image == FALLBACK_IMAGE:  # local-only by nature: build, never pull
        build_busybox_image(client, FALLBACK_IMAGE)
        return ImageChoice(image, False, f"built '{FALLBACK_IMAGE}' from the host's busybox")
    reason = pull_image(client, image, pull_timeout)
    if reason is None:
        return ImageChoice(image, False, f"pulled image '{image}'")
    prefix = f"image '{image}' cannot be pulled ({short_reason(reason)})"
    if _has_image(client, FALLBACK_IMAGE):
        return ImageChoice(FALLBACK_IMAGE, True, f"{prefix}; using locally built '{FALLBACK_IMAGE}'")
    try:
        build_busybox_image(client, FALLBACK_IMAGE)
    except RuntimeUnavailableError as err:
        raise RuntimeUnavailableError(
            f"{prefix} and {err}, or make '{image}' available locally (docker load / docker build)"
        ) from err
    return ImageChoice(FALLBACK_IMAGE, True, f"{prefix}; using locally built '{FALLBACK_IMAGE}'")
