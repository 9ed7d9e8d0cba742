"""``ssh://[user@]host[:port]`` as Docker writes engine addresses, split for OpenSSH."""

from __future__ import annotations

import re

from vmuser_tui.core.errors import UsageError

_HOST = re.compile(r"^[A-Za-z0-9._-]+$|^\[[0-9A-Fa-f:.]+\]$")
_USER = re.compile(r"^[A-Za-z0-9._-]+$")


def parse_ssh_url(url: str) -> tuple[str, int | None]:
    """``"ssh://me@host:2222"`` -> ``("me@host", 2222)``; no port -> None (ssh's own default
    or ``~/.ssh/config`` decides). The host may be an alias from ``~/.ssh/config``.
    Raises UsageError naming the expected form for anything else (a path, a password,
    options smuggled in as ``-oProxyCommand=...``, a port outside 1-65535)."""
    form = "an SSH engine address looks like ssh://user@host or ssh://user@host:2222"
    if not isinstance(url, str) or not url.startswith("ssh://"):
        raise UsageError(form)
    rest = url[len("ssh://"):]
    if "/" in rest.rstrip("/") or "?" in rest or "#" in rest:
        raise UsageError(f"{form} (no path or query: {url!r})")
    rest = rest.rstrip("/")
    user, at, hostport = rest.rpartition("@")
    if at and (not user or not _USER.match(user)):
        raise UsageError(f"{form} (bad user name in {url!r})")
    port: int | None = None
    host = hostport
    if hostport.startswith("["):
        end = hostport.find("]")
        host, tail = hostport[: end + 1], hostport[end + 1:]
        if tail:
            if not tail.startswith(":"):
                raise UsageError(f"{form} ({url!r})")
            port_text = tail[1:]
        else:
            port_text = ""
    else:
        host, _, port_text = hostport.partition(":")
    if port_text:
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise UsageError(f"{form} (port must be 1-65535 in {url!r})")
        port = int(port_text)
    if not host or host.startswith("-") or not _HOST.match(host):
        raise UsageError(f"{form} (bad host in {url!r})")
    return (f"{user}@{host}" if at else host), port
