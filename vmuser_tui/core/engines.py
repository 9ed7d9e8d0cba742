"""The Docker engines sessions run on, by name: ``local`` plus ``[engines.NAME]`` (issue 14).

An engine is "a Docker engine by name" (design.md section 10). ``local`` is the engine
of ``[docker] base_url``, where a project's workspace is a folder on this host,
bind-mounted. Every other engine keeps the workspace in a named volume there and is
reached through:

- ``unix://`` and ``tcp://``: the docker SDK directly;
- ``ssh://``: one OpenSSH tunnel per engine, supervised by vmuser
  (:mod:`vmuser_tui.core.runtime.ssh_tunnel`), forwarding a local socket in the runtime
  directory to the engine's socket. docker-py's own ssh modes are not used: measured here,
  ``use_ssh_client`` starts one ``ssh`` per API request (~1 s per exec, over 40 s hung on a
  stalled host) and paramiko ignores much of ``~/.ssh/config``;
- a docker CLI ``context``: its endpoint, read from ``~/.docker/contexts`` (the CLI itself
  is not needed).

An engine that does not answer within its ``timeout`` is *unreachable*: its sessions are
marked so (not failed) and nothing else waits on it; :meth:`Engines.statuses` asks all
engines in parallel with a bounded wait.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vmuser_tui.core.engine_config import LOCAL, EngineConfig
from vmuser_tui.core.errors import NotFoundError, UsageError, VmuserError

if TYPE_CHECKING:  # pragma: no cover
    from vmuser_tui.core.context import Context
    from vmuser_tui.core.runtime.docker_runtime import DockerRuntime

#: Label every container vmuser makes on any engine carries: the engine's name in config.
LABEL_ENGINE = "vmuser.engine"


@dataclass
class EngineStatus:
    """What ``engine list`` shows for one engine: ``reachable``; the engine's ``version``
    ("" when unreachable); ``sessions`` active on it per the database; ``rtt_ms`` the
    round trip of one ping in milliseconds (None when unreachable); ``error`` one line."""

    name: str
    url: str
    reachable: bool
    version: str = ""
    sessions: int = 0
    rtt_ms: float | None = None
    error: str = ""
    warning: str = ""  # e.g. the engine's CPU differs from this host's (the helper image would not run)

    def to_json(self) -> dict:
        """``{"name", "url", "reachable", "version", "sessions", "rtt_ms", "error", "warning"}``."""
        return {"name": self.name, "url": self.url, "reachable": self.reachable, "version": self.version,
                "sessions": self.sessions, "rtt_ms": self.rtt_ms, "error": self.error, "warning": self.warning}


#: ``uname -m`` -> Docker's architecture names.
_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le", "s390x": "s390x"}


def arch_warning(name: str, version: str, helper_image: str) -> str:
    """One line when the engine's CPU (from its version line, ``linux/arm64``) differs from
    this host's and no ``helper_image`` is set: the helper image is built from this host's
    static busybox, which would not run there. "" otherwise."""
    import platform

    here = _ARCH.get(platform.machine(), platform.machine())
    there = version.rsplit("/", 1)[-1].rstrip(")") if "/" in version else ""
    if not there or there == here or helper_image:
        return ""
    return (f"engine {name} runs on {there}, this host on {here}: set [engines.{name}] helper_image to a busybox "
            f"image for {there} (the default helper is built from this host's busybox and would not run there)")


def context_endpoint(name: str, docker_config: Path | None = None) -> str:
    """The Docker endpoint (``Host``) of the docker CLI context ``name``, read from
    ``$DOCKER_CONFIG/contexts/meta/<sha256 of name>/meta.json`` (the CLI's own layout).
    Raises NotFoundError naming ``docker context ls`` when there is no such context."""
    base = docker_config or Path(os.environ.get("DOCKER_CONFIG") or Path.home() / ".docker")
    meta = base / "contexts" / "meta" / hashlib.sha256(name.encode()).hexdigest() / "meta.json"
    try:
        data = json.loads(meta.read_text(encoding="utf-8"))
        host = data["Endpoints"]["docker"]["Host"]
    except (OSError, ValueError, KeyError, TypeError):
        raise NotFoundError(f"no docker context {name!r} (looked in {base / 'contexts'}); "
                            "list them with: docker context ls") from None
    if not isinstance(host, str) or "://" not in host:
        raise NotFoundError(f"docker context {name!r} has no usable endpoint; fix it with: docker context update")
    return host


class Engines:
    """Name -> engine for one :class:`~vmuser_tui.core.context.Context`: its config, its
    :class:`DockerRuntime` (created on first use; SSH tunnels started then), its status."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._runtimes: dict[str, DockerRuntime] = {}
        self._tunnels: dict[str, Any] = {}
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        """``local`` first, then the configured engines in config order."""
        return [LOCAL, *self.ctx.config.engines]

    def config(self, name: str) -> EngineConfig | None:
        """The engine's table (None for ``local``). UsageError for an unknown name, listing the known ones."""
        if name == LOCAL:
            return None
        try:
            return self.ctx.config.engines[name]
        except KeyError:
            known = ", ".join(self.names())
            raise UsageError(f"unknown engine {name!r}; known: {known} (add one as [engines.{name}] in config: "
                             "url = \"ssh://user@host\")") from None

    def check(self, name: str) -> str:
        """``name`` if the engine exists in config (or is ``local``); UsageError otherwise."""
        self.config(name)
        return name

    def url(self, name: str) -> str:
        """The address shown to users: ``[docker] base_url`` (or the default socket) for
        ``local``; the configured url, or ``context:<name>``."""
        cfg = self.config(name)
        if cfg is None:
            from vmuser_tui.core.runtime.docker_runtime import DEFAULT_URL

            return self.ctx.config.get("docker", "base_url") or os.environ.get("DOCKER_HOST") or DEFAULT_URL
        return cfg.url or f"context:{cfg.context}"

    def timeout(self, name: str) -> int:
        """Seconds an answer of the engine may take before it counts as unreachable."""
        cfg = self.config(name)
        return self.ctx.config.get("docker", "timeout") if cfg is None else cfg.timeout

    def runtime(self, name: str) -> DockerRuntime:
        """The engine's runtime. For ``local`` the context's ``docker`` runtime; for SSH
        the tunnel is (re)started here (RuntimeUnavailableError when ssh cannot reach the
        host: the line says ssh's reason); docker calls then go through its socket."""
        cfg = self.config(name)
        if cfg is None:
            return self.ctx.runtime("docker")  # type: ignore[return-value]
        from vmuser_tui.core.runtime.docker_runtime import DockerRuntime

        base_url = self._base_url(cfg)
        with self._lock:
            rt = self._runtimes.get(name)
            if rt is None or rt.base_url != base_url:
                rt = self._runtimes[name] = DockerRuntime(base_url=base_url, timeout=cfg.timeout)
                rt.engine = name
            return rt

    def _base_url(self, cfg: EngineConfig) -> str:
        if cfg.context:
            return context_endpoint(cfg.context)
        if cfg.scheme != "ssh":
            return cfg.url
        from vmuser_tui.core.runtime.ssh_tunnel import SshTunnel, parse_ssh_url

        with self._lock:
            tunnel = self._tunnels.get(cfg.name)
            if tunnel is None:
                target, port = parse_ssh_url(cfg.url)
                options = [os.path.expanduser(o) if o.startswith("~") else o for o in cfg.ssh_options]
                tunnel = self._tunnels[cfg.name] = SshTunnel(
                    cfg.name, f"{target}:{port}" if port else target, remote_socket=cfg.remote_socket,
                    runtime_dir=self.runtime_dir(), ssh_options=options)
        return "unix://" + tunnel.ensure(timeout=float(cfg.timeout))

    def runtime_dir(self) -> Path:
        """Where SSH tunnel sockets live: ``$XDG_RUNTIME_DIR/vmuser`` or ``<data dir>/run`` (0700)."""
        base = os.environ.get("XDG_RUNTIME_DIR")
        path = Path(base) / "vmuser" if base and os.path.isdir(base) else self.ctx.data_dir / "run"
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        return path

    def status(self, name: str) -> EngineStatus:
        """Ping the engine once and ask its version; never raises for an engine that does
        not answer (that is ``reachable: False`` with the reason in ``error``)."""
        url = self.url(name)
        sessions = self._active_sessions().get(name, 0)
        started = time.monotonic()
        try:
            rt = self.runtime(name)
            rt.ping()
            rtt = (time.monotonic() - started) * 1000
            version = rt.version()
        except VmuserError as exc:
            return EngineStatus(name, url, False, sessions=sessions, error=str(exc))
        cfg = self.config(name)
        warning = arch_warning(name, version, cfg.helper_image) if cfg is not None else ""
        return EngineStatus(name, url, True, version=version, sessions=sessions, rtt_ms=round(rtt, 1),
                            warning=warning)

    def statuses(self, names: list[str] | None = None, *, wait_s: float | None = None) -> list[EngineStatus]:
        """:meth:`status` of each engine, asked in parallel; one that has not answered within
        ``wait_s`` seconds (default: its own timeout, at most 10) is reported unreachable
        ("no answer within N s") without waiting longer."""
        from vmuser_tui.core.engine_reconcile import in_parallel

        names = names or self.names()
        for name in names:
            self.check(name)
        limit = wait_s if wait_s is not None else min(10.0, max(self.timeout(n) for n in names))
        answers = in_parallel(self.status, names, limit)
        sessions = self._active_sessions()
        out = []
        for name in names:
            answer = answers.get(name)
            if isinstance(answer, EngineStatus):
                out.append(answer)
            else:
                why = str(answer) if isinstance(answer, Exception) else f"no answer within {limit:g} s"
                out.append(EngineStatus(name, self.url(name), False, sessions=sessions.get(name, 0), error=why))
        return out

    def _active_sessions(self) -> dict[str, int]:
        rows = self.ctx.db.query("SELECT engine, COUNT(*) AS n FROM sessions "
                                 "WHERE status IN ('created','running','paused','unreachable') GROUP BY engine")
        return {r["engine"]: r["n"] for r in rows}

    def close(self) -> None:
        """Stop the SSH tunnels this process started."""
        for tunnel in self._tunnels.values():
            try:
                tunnel.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass
        self._tunnels.clear()
        for rt in self._runtimes.values():
            rt.close()
        self._runtimes.clear()

