"""``--publish`` specs, as ``docker run -p`` reads them, but loopback by default.

``[HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL]``: ``8000`` (a free host port on
127.0.0.1), ``8080:8000``, ``0.0.0.0:8080:8000`` (every interface, only when asked),
``127.0.0.1::8000`` (a free port), ``[::1]:8080:8000`` (IPv6 in brackets), ``5353/udp``.
Docker binds every interface when no address is given; a dev server in a session is
reachable from the host only, unless the user names another address.
"""

from __future__ import annotations

import ipaddress

from vmuser_tui.core.errors import UsageError
from vmuser_tui.core.runtime.base import PortBinding

DEFAULT_HOST_IP = "127.0.0.1"
PROTOCOLS = ("tcp", "udp")
_FORMS = "use [HOST_IP:][HOST_PORT:]CONTAINER_PORT, e.g. 8000, 8080:8000 or 0.0.0.0:8080:8000"


def _port(text: str, what: str, spec: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise UsageError(f"--publish {spec!r}: {what} {text!r} is not a port number (1-65535); {_FORMS}")
    return int(text)


def parse_publish(spec: str) -> PortBinding:
    """The :class:`PortBinding` a ``--publish`` spec names. Raises UsageError naming the
    accepted forms for anything else (a range, a name, an address that is not an IP)."""
    text = spec.strip()
    proto = "tcp"
    if "/" in text:
        text, proto = text.rsplit("/", 1)
        if proto not in PROTOCOLS:
            raise UsageError(f"--publish {spec!r}: protocol must be tcp or udp")
    host_ip = DEFAULT_HOST_IP
    if text.startswith("["):  # [IPv6]:HOST_PORT:CONTAINER_PORT
        close = text.find("]")
        if close < 0 or text[close + 1 : close + 2] != ":":
            raise UsageError(f"--publish {spec!r}: an IPv6 address goes in brackets, e.g. [::1]:8080:8000")
        host_ip, text = text[1:close], text[close + 2 :]
        parts = ["", *text.split(":")]
    else:
        parts = text.split(":")
        if len(parts) == 3:
            host_ip = parts[0]
    if len(parts) > 3 or not parts[-1]:
        raise UsageError(f"--publish {spec!r}: {_FORMS}")
    try:
        ipaddress.ip_address(host_ip)
    except ValueError:
        raise UsageError(f"--publish {spec!r}: {host_ip!r} is not an IP address; {_FORMS}") from None
    container = _port(parts[-1], "container port", spec)
    host = _port(parts[-2], "host port", spec) if len(parts) >= 2 and parts[-2] else None
    return PortBinding(container=container, host=host, host_ip=host_ip, protocol=proto)
