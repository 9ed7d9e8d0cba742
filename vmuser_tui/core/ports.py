"""``--publish`` specs, as ``docker run -p`` reads them, but loopback by default.

``[HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL]``: ``8000`` (a free host port on
127.0.0.1), ``8080:8000``, ``0.0.0.0:8080:8000`` (every interface, only when asked),
``127.0.0.1::8000`` (a free port), ``[::1]:8080:8000`` (IPv6 in brackets), ``5353/udp``.
Docker binds every interface when no address is given; a dev server in a session is
reachable from the host only, unless the user names another address.
"""

from __future__ import annotations

import ipaddress
import re

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


def _address(host_ip: str, port: object) -> str:
    return f"[{host_ip}]:{port}" if ":" in host_ip else f"{host_ip}:{port}"


def port_text(port: PortBinding | dict, *, short: bool = False) -> str:
    """One published port as ``docker ps`` shows it: ``127.0.0.1:49153->8000/tcp``
    (``port``: a PortBinding or its :meth:`~PortBinding.to_json` dict, as sessions store
    them). ``short``: for a narrow table, ``49153->8000`` when bound to loopback over tcp
    (the default), the address and protocol only when they differ from it. A host port
    not known yet (a stopped container) shows as ``?``."""
    p = port if isinstance(port, PortBinding) else PortBinding(
        int(port["container"]), port.get("host"), port.get("host_ip") or "", port.get("protocol") or "tcp")
    host = p.host if p.host else "?"
    proto = f"/{p.protocol}"
    if short:
        where = str(host) if p.host_ip in (DEFAULT_HOST_IP, "") else _address(p.host_ip, host)
        return f"{where}->{p.container}" + ("" if p.protocol == "tcp" else proto)
    return f"{_address(p.host_ip or '0.0.0.0', host)}->{p.container}{proto}"


def ports_text(ports: list, *, short: bool = False) -> str:
    """Every port of a session, comma separated (``-`` for none)."""
    return ", ".join(port_text(p, short=short) for p in ports) or "-"


# What the engine says when a host port is taken: by another container ("port is already
# allocated", docker's port allocator) or by any other program ("address already in use",
# the kernel's EADDRINUSE when docker-proxy or the engine binds it).
_TAKEN = re.compile(r"(?:Bind for |listen (?:tcp|udp)[46]? )\[?([0-9a-fA-F.:]*?)\]?:(\d+)"
                    r"(?: failed: port is already allocated|: bind: address already in use)")


def in_use_message(engine_text: str, ports: list[PortBinding]) -> str | None:
    """The one line for a start the engine refused because a host port is taken, naming
    the port and the fix; None when ``engine_text`` is about something else."""
    m = _TAKEN.search(engine_text)
    if m is None and "port is already allocated" not in engine_text and "address already in use" not in engine_text:
        return None
    host_ip, number = (m.group(1), int(m.group(2))) if m else ("", None)
    asked = next((p for p in ports if p.host == number), None) if number else None
    if asked is None and number is None:
        asked = next((p for p in ports if p.host), None)
        number = asked.host if asked else None
    host_ip = host_ip or (asked.host_ip if asked else DEFAULT_HOST_IP)
    if number is None:
        return "a published host port is already in use: publish another host port, or stop what uses it"
    container = asked.container if asked else number
    return (f"port {number} on {host_ip} is already in use: publish another host port "
            f"(--publish {number + 1 if number < 65535 else 8000}:{container}), or leave the host port out for a free "
            f"one (--publish {container}), or stop what uses it")
