"""``[engines.NAME]`` in config: the Docker engines sessions may run on (issue 14).

One table per engine, e.g.::

    [engines.build-box]
    url = "ssh://me@build-box"        # or "tcp://10.0.0.5:2375", "unix:///run/other.sock"
    # context = "build-box"           # instead of url: a docker CLI context of that name
    # remote_socket = "/var/run/docker.sock"   # ssh only: the engine's socket on that host
    # timeout = 10                    # seconds the engine has to answer before it counts as unreachable
    # ssh_options = ["-i", "~/.ssh/build"]     # extra ssh arguments (ssh only)

The engine ``local`` is always there (``[docker] base_url``, a bind-mounted folder) and
cannot be redefined. Pure parsing and checking: no connection is made here; see
:mod:`vmuser_tui.core.engines` for the registry that talks to them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from vmuser_tui.core.errors import ConfigError

LOCAL = "local"
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
SCHEMES = ("ssh", "tcp", "unix")
KEYS = ("url", "context", "remote_socket", "timeout", "ssh_options", "helper_image")
DEFAULT_TIMEOUT = 10


@dataclass(frozen=True)
class EngineConfig:
    """One engine: ``name``; ``url`` (``ssh://user@host[:port]``, ``tcp://host:port``,
    ``unix:///path``) or ``context`` (a docker CLI context); ``remote_socket``: the engine's
    socket on the SSH host; ``timeout``: seconds an answer may take before the engine
    counts as unreachable; ``ssh_options``: extra arguments for ``ssh``; ``helper_image``:
    the image of the workspace helper container ("" = ``vmuser-busybox:local``, built there)."""

    name: str
    url: str = ""
    context: str = ""
    remote_socket: str = "/var/run/docker.sock"
    timeout: int = DEFAULT_TIMEOUT
    ssh_options: tuple[str, ...] = field(default_factory=tuple)
    helper_image: str = ""

    @property
    def scheme(self) -> str:
        """``ssh``, ``tcp``, ``unix``, or ``context``."""
        return "context" if self.context else self.url.split("://", 1)[0]

    def to_toml(self) -> dict[str, Any]:
        """The table as written in config (defaults left out)."""
        out: dict[str, Any] = {"url": self.url} if self.url else {"context": self.context}
        if self.scheme == "ssh" and self.remote_socket != EngineConfig.remote_socket:
            out["remote_socket"] = self.remote_socket
        if self.timeout != DEFAULT_TIMEOUT:
            out["timeout"] = self.timeout
        if self.ssh_options:
            out["ssh_options"] = list(self.ssh_options)
        if self.helper_image:
            out["helper_image"] = self.helper_image
        return out


def check_name(name: str) -> str:
    """``name`` if it can name an engine; ConfigError naming the rule otherwise."""
    if not NAME_RE.match(name):
        raise ConfigError(f"[engines.{name}]: an engine name is 1-40 lowercase letters, digits, '-' or '_', "
                          "starting with a letter or digit")
    return name


def _url(name: str, url: Any) -> str:
    where = f"[engines.{name}] url"
    if not isinstance(url, str) or "://" not in url:
        raise ConfigError(f"{where} must look like ssh://user@host, tcp://host:2375 or unix:///path/docker.sock")
    scheme, _, rest = url.partition("://")
    if scheme not in SCHEMES:
        raise ConfigError(f"{where}: unknown scheme {scheme!r}; use one of: {', '.join(SCHEMES)}")
    if not rest or any(c.isspace() for c in url):
        raise ConfigError(f"{where}: {url!r} names no host or path")
    if scheme == "unix" and not rest.startswith("/"):
        raise ConfigError(f"{where}: a unix socket path must be absolute (unix:///path/docker.sock)")
    if scheme == "ssh":
        from vmuser_tui.core.errors import UsageError
        from vmuser_tui.core.runtime.ssh_tunnel import parse_ssh_url

        try:
            parse_ssh_url(url)
        except UsageError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    return url


def parse_engines(table: Any) -> dict[str, EngineConfig]:
    """``[engines]`` -> ``{name: EngineConfig}``. Raises ConfigError naming the engine and
    key for: a non-table, a bad name, ``local`` (built in), unknown keys, neither or both of
    ``url`` and ``context``, a bad URL, a timeout outside 1-3600, non-string ssh options."""
    if not isinstance(table, dict):
        raise ConfigError("[engines] must hold one table per engine, e.g. [engines.build-box] url = \"ssh://me@host\"")
    out: dict[str, EngineConfig] = {}
    for name, spec in table.items():
        if name == LOCAL:
            raise ConfigError("[engines.local]: 'local' is the built-in engine ([docker] base_url); "
                              "give this one another name")
        check_name(name)
        if not isinstance(spec, dict):
            raise ConfigError(f"[engines.{name}] must be a table with url = \"...\" or context = \"...\"")
        unknown = sorted(set(spec) - set(KEYS))
        if unknown:
            raise ConfigError(f"[engines.{name}]: unknown key {unknown[0]}; known: {', '.join(KEYS)}")
        if ("url" in spec) == ("context" in spec):
            raise ConfigError(f"[engines.{name}]: give exactly one of url (ssh://, tcp://, unix://) or context")
        context = spec.get("context", "")
        if not isinstance(context, str) or ("context" in spec and not context.strip()):
            raise ConfigError(f"[engines.{name}] context must be the name of a docker context (docker context ls)")
        timeout = spec.get("timeout", DEFAULT_TIMEOUT)
        if isinstance(timeout, bool) or not isinstance(timeout, int) or not 1 <= timeout <= 3600:
            raise ConfigError(f"[engines.{name}] timeout must be a whole number of seconds from 1 to 3600")
        options = spec.get("ssh_options", [])
        if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
            raise ConfigError(f"[engines.{name}] ssh_options must be a list of strings, e.g. [\"-i\", \"~/.ssh/key\"]")
        socket_path = spec.get("remote_socket", EngineConfig.remote_socket)
        if not isinstance(socket_path, str) or not socket_path.startswith("/"):
            raise ConfigError(f"[engines.{name}] remote_socket must be an absolute path on the engine's host")
        helper = spec.get("helper_image", "")
        if not isinstance(helper, str):
            raise ConfigError(f"[engines.{name}] helper_image must be an image reference")
        out[name] = EngineConfig(
            name=name, url=_url(name, spec["url"]) if "url" in spec else "", context=context.strip(),
            remote_socket=socket_path, timeout=timeout, ssh_options=tuple(options), helper_image=helper,
        )
    return out
