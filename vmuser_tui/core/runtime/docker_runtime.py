"""The Docker runtime, on the ``docker`` SDK.

``docker`` (and with it ``requests``) is imported on first use, not at module import,
so commands that never touch the engine start fast. Every docker/requests/socket
exception is translated into a one-line :class:`VmuserError` that names the fix.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from vmuser_tui.core.errors import (
    NotFoundError,
    RuntimeUnavailableError,
    StateError,
    UsageError,
    VmuserError,
)
from vmuser_tui.core.redact import redact_argv
from vmuser_tui.core.runtime.base import (
    LABEL_PROJECT,
    LABEL_SESSION,
    WORKSPACE_MOUNT,
    ContainerInfo,
    ContainerSpec,
    ExecOptions,
    ExecOutcome,
    ExecResult,
    ImageChoice,
    OutputSink,
)
from vmuser_tui.core.runtime.docker_answers import (
    buffered_output,
    container_info,
    cpu_percent,
    demux,
    memory_bytes,
    read_all,
)
from vmuser_tui.core.runtime.exec_control import ExecControl
from vmuser_tui.core.runtime.images import FALLBACK_IMAGE, PULL_TIMEOUT, one_line
from vmuser_tui.core.runtime.logs import LogStream

DEFAULT_URL = "unix:///var/run/docker.sock"
# The first contact (API version handshake) gets at most this many seconds, so an
# unreachable or wedged engine is reported quickly rather than after the full timeout.
CONNECT_TIMEOUT = 5
# PID 1 of every session container: idles, and exits at once on SIGTERM so `stop` takes
# milliseconds instead of the kill timeout (a shell as PID 1 ignores TERM without a trap).
KEEPALIVE = ["sh", "-c", "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done"]
# Interactive shells prefer bash when the image has it (busybox has only sh).
SHELL = ["sh", "-c", "if command -v bash >/dev/null 2>&1; then exec bash; else exec sh; fi"]
START_HINT = "start the session first: vmuser session start <session>"
# Where to look when the engine fails: its own log, found the way the engine was set up.
ENGINE_LOG_HINT = ("the engine's own log says more (where it is depends on how the engine runs: "
                   "`docker info` names it; with Docker Desktop, its Troubleshoot page)")
# Every capability is dropped. A container running as an unprivileged user (the default,
# see core/container_user.py) gets none back: it needs none, and no-new-privileges keeps a
# set-uid program or file capability from granting one. A container configured to run as
# root ([docker] user = "root") gets these back, each for a reason:
#   CHOWN             package managers (dpkg, apk) and `tar -p` give files their owners
#   DAC_OVERRIDE      root works on files it does not own (a workspace of the host user's)
#   FOWNER            chmod/touch of those files (`chmod +x` on a script the user made)
#   KILL              signal processes of another uid in the container (its own pid namespace)
#   NET_BIND_SERVICE  dev servers on ports below 1024 (its own network namespace)
# Left out: SETUID and SETGID (no process may become another user: `su`, and apt's _apt
# sandbox, which then needs -o APT::Sandbox::User=root), FSETID (set-uid/set-gid bits stay
# cleared when a file is written or re-owned), MKNOD (device files in the workspace),
# NET_RAW, SETFCAP, SETPCAP, SYS_CHROOT, AUDIT_WRITE. None of this stops root from setting
# the set-uid bit of a file it owns: only a non-root user does, hence the default.
CAP_ADD = ("CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL", "NET_BIND_SERVICE")


def default_user() -> str:
    """The ``"uid:gid"`` of a container whose spec names none: this process's, or
    65534:65534 (nobody) when that is root, so the container is never root by accident."""
    from vmuser_tui.core.container_user import UNPRIVILEGED

    uid, gid = (os.getuid(), os.getgid()) if os.getuid() != 0 else UNPRIVILEGED
    return f"{uid}:{gid}"


def _short(container_id: str) -> str:
    """Docker's 12-character short id (names pass through unchanged)."""
    return container_id[:12] if re.fullmatch(r"[0-9a-f]{64}", container_id) else container_id


def _hostname(name: str) -> str:
    """A valid hostname (RFC 1123 label, at most 63 characters) derived from ``name``."""
    label = re.sub(r"[^a-z0-9-]+", "-", name.lower())[:63].strip("-")
    return label or "vmuser"


def _not_running(container_id: str, why: str) -> str:
    """The line for an exec the engine refused with 409: paused (say resume) or not running."""
    if "paused" in why:
        return (f"session container {_short(container_id)} is paused: "
                "resume it first: vmuser session resume <session>")
    return f"session container {_short(container_id)} is not running: {START_HINT}"


def _extra_mounts(spec: ContainerSpec) -> list[Any]:
    """``docker.types.Mount`` objects for ``spec.mounts``, plus the workspace again at
    ``spec.workdir`` when a devcontainer.json puts it elsewhere than /workspace (the
    workspace stays at /workspace too: captures, restores and exec defaults rely on it)."""
    from docker.types import Mount

    # A named volume the engine creates for this mount carries the project's label, so
    # `project delete` finds and removes it (a volume that already exists keeps its own labels).
    owner = {LABEL_PROJECT: spec.labels[LABEL_PROJECT]} if LABEL_PROJECT in spec.labels else None
    mounts = [Mount(m.target, m.source, type=m.kind, read_only=m.read_only,
                    labels=owner if m.kind == "volume" else None) for m in spec.mounts]
    wd = spec.workdir.rstrip("/") or "/"
    if wd != WORKSPACE_MOUNT and not wd.startswith(WORKSPACE_MOUNT + "/"):
        if spec.workspace_volume:
            mounts.append(Mount(wd, spec.workspace_volume, type="volume"))
        else:
            mounts.append(Mount(wd, spec.workspace, type="bind"))
    return mounts


class DockerRuntime:
    """Session containers on a Docker engine.

    ``base_url`` e.g. ``unix:///var/run/docker.sock`` or ``tcp://host:2375``; empty means
    ``DOCKER_HOST`` or the default socket. ``timeout`` is the seconds to wait for each
    engine answer; ``pull_timeout`` the seconds of silence after which a pull is given up.
    Connects on first use. Raises only :class:`VmuserError` subclasses.
    """

    name = "docker"
    #: The engine's name in config (``local`` unless :class:`~vmuser_tui.core.engines.Engines` says otherwise).
    engine = "local"

    def __init__(self, base_url: str = "", timeout: int = 30, *, pull_timeout: float = PULL_TIMEOUT) -> None:
        self.base_url = base_url
        self.timeout = timeout
        self.pull_timeout = pull_timeout
        self._client: Any = None
        self._lock = threading.Lock()  # TUI thread workers share one runtime
        #: The engine's answer when the last container start failed ("" since one succeeded):
        #: the status line shows it (``Vmuser.docker_status``) while a ping still succeeds.
        self.last_error = ""

    # -- connection and error translation ---------------------------------------------

    @property
    def url(self) -> str:
        """The engine address used, for messages."""
        return self.base_url or os.environ.get("DOCKER_HOST") or DEFAULT_URL

    def _docker(self) -> Any:
        """The connected ``docker.DockerClient``, created on first use."""
        with self._lock:
            if self._client is None:
                import docker

                kwargs = {"timeout": min(CONNECT_TIMEOUT, self.timeout)}
                try:
                    if self.base_url:
                        client = docker.DockerClient(base_url=self.base_url, **kwargs)
                    else:
                        client = docker.from_env(**kwargs)
                except Exception as err:  # DockerException wrapping requests/socket errors
                    raise RuntimeUnavailableError(self._unreachable(err)) from err
                client.api.timeout = self.timeout  # later calls may take longer than the handshake
                self._client = client
            return self._client

    def _unreachable(self, err: BaseException) -> str:
        """One line explaining why the engine cannot be reached, with the fix."""
        text = str(err)
        where = f"cannot reach the Docker engine at {self.url}"
        if "Permission denied" in text or "PermissionError" in text:
            return (f"{where}: permission denied; add your user to the docker group "
                    "(sudo usermod -aG docker $USER, then log in again)")
        if "Invalid bind address" in text or "Invalid URL" in text or "No connection adapters" in text:
            return f"{where}: not a valid engine address; fix docker.base_url (e.g. unix:///var/run/docker.sock or tcp://host:2375)"
        if "FileNotFoundError" in text or "No such file" in text:
            why = "no such socket"
        elif "timed out" in text.lower() or "timeout" in type(err).__name__.lower():
            why = f"no answer within {min(CONNECT_TIMEOUT, self.timeout)} s"
        elif "refused" in text.lower():
            why = "connection refused"
        else:
            why = one_line(text, 120)
        return f"{where}: {why}; is dockerd running? (start it the way it was installed; `docker info` checks)"

    @contextlib.contextmanager
    def _errors(
        self,
        action: str,
        *,
        missing: str | None = None,
        conflict: str | Callable[[str], str] | None = None,
        rejected: str | Callable[[str], str] | None = None,
    ) -> Iterator[None]:
        """Translate docker/requests/socket exceptions raised inside the block.

        ``missing`` is the message for 404, ``conflict`` for 409 (StateError), ``rejected``
        for 400 (UsageError); callables receive the engine's one-line explanation.
        """
        import docker.errors
        import requests.exceptions

        try:
            yield
        except VmuserError:
            raise
        except docker.errors.APIError as err:
            why = one_line(err.explanation or err)
            status = err.status_code
            if status == 404:
                raise NotFoundError(missing or f"cannot {action}: {why}") from err
            for code, handler, cls in ((409, conflict, StateError), (400, rejected, UsageError)):
                if status == code:
                    message = handler(why) if callable(handler) else handler
                    raise cls(message or f"cannot {action}: {why}") from err
            # Where the engine logs depends on how it runs (a system service, Docker Desktop,
            # rootless, another host): name the engine, guess no service manager.
            raise RuntimeUnavailableError(
                f"the Docker engine at {self.url} failed to {action}: {why}; {ENGINE_LOG_HINT}"
            ) from err
        except (requests.exceptions.Timeout, TimeoutError) as err:
            raise RuntimeUnavailableError(
                f"the Docker engine did not answer within {self.timeout} s while trying to {action}: "
                "retry, or raise docker.timeout (VMUSER_DOCKER_TIMEOUT)"
            ) from err
        except (requests.exceptions.RequestException, docker.errors.DockerException, OSError) as err:
            raise RuntimeUnavailableError(self._unreachable(err)) from err
        except Exception as err:  # urllib3 errors raised while streaming, and anything else
            if "timeout" in type(err).__name__.lower():
                raise RuntimeUnavailableError(
                    f"the Docker engine did not answer within {self.timeout} s while trying to {action}: "
                    "retry, or raise docker.timeout (VMUSER_DOCKER_TIMEOUT)"
                ) from err
            raise RuntimeUnavailableError(self._unreachable(err)) from err

    def _missing(self, container_id: str) -> str:
        return (f"container {_short(container_id)} no longer exists: it was removed outside vmuser; "
                "start the session again")

    # -- ContainerRuntime -------------------------------------------------------------

    def ping(self) -> None:
        """Raise :class:`RuntimeUnavailableError` unless the engine answers."""
        with self._errors("answer a ping"):
            self._docker().api.ping()

    def version(self) -> str:
        """``"20.10.24 (API 1.41, linux/amd64)"``: the engine's version line."""
        with self._errors("tell its version"):
            info = self._docker().api.version()
        platform = f", {info.get('Os', '?')}/{info.get('Arch', '?')}" if info.get("Os") else ""
        return f"{info.get('Version', '?')} (API {info.get('ApiVersion', '?')}{platform})"

    def close(self) -> None:
        """Close the connection pool (a new one opens on next use)."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()

    def ensure_image(self, image: str) -> ImageChoice:
        """Use ``image`` if local, else pull it, else build/reuse ``vmuser-busybox:local``.

        See :func:`vmuser_tui.core.runtime.images.ensure_image`. Raises ``UsageError``
        (bad name) or ``RuntimeUnavailableError`` (engine down, no fallback possible).
        """
        from vmuser_tui.core.runtime import images

        with self._errors(f"prepare image '{image}'"):
            return images.ensure_image(self._docker(), image, pull_timeout=self.pull_timeout)

    def start(self, spec: ContainerSpec) -> ContainerInfo:
        """Create and start the session container; return its state.

        Runs as ``spec.user`` (empty: :func:`default_user`) with ``no-new-privileges`` and
        every capability dropped (:data:`CAP_ADD` back only for uid 0), unprivileged, the
        workspace bind-mounted at /workspace (plus ``spec.mounts``, and the workspace again at
        ``spec.workdir`` when that is elsewhere), ``spec.ports`` published, HOME=/tmp unless
        ``spec.environment`` sets it, limits from ``spec`` (0 = unlimited). Commands run by
        :meth:`exec` and :meth:`shell_argv` run as the same user. Raises ``UsageError`` (bad
        spec or limits), ``NotFoundError`` (image or workspace missing), ``StateError`` (name taken).
        A container created but not started is removed, so a failed start leaves none; the
        engine's error is kept in :attr:`last_error` until a start succeeds.
        """
        if spec.workspace_volume:
            pass  # a named volume on the engine (a non-local engine): nothing on this host to check
        elif not os.path.isabs(spec.workspace):
            raise UsageError(f"workspace must be an absolute path, got '{spec.workspace}'")
        elif not os.path.isdir(spec.workspace):
            # Docker would create a missing bind source as an empty root-owned directory.
            raise NotFoundError(f"workspace {spec.workspace} does not exist: "
                                "create it or restore the project's checkpoint into it")
        if spec.memory < 0 or spec.cpus < 0 or spec.pids_limit < 0:
            raise UsageError("memory, cpus and pids_limit must be >= 0 (0 = unlimited): "
                             "fix docker.memory, docker.cpus, docker.pids_limit")
        try:
            info = self._start(spec)
        except VmuserError as err:
            self.last_error = str(err)
            raise
        self.last_error = ""
        return info

    def _start(self, spec: ContainerSpec) -> ContainerInfo:
        """:meth:`start` past the checks that need no engine: create, start, inspect."""
        import docker.errors

        from vmuser_tui.core import ports
        user = spec.user or default_user()
        api = self._docker().api
        with self._errors(
            f"create container {spec.name}",
            missing=(
                f"image '{spec.image}' is not available locally: docker pull/load it, or prepare it with ensure_image "
                f"so vmuser falls back to '{FALLBACK_IMAGE}' built from busybox-static"
            ),
            conflict=f"a container named {spec.name} already exists: remove it (docker rm -f {spec.name}) "
                     "and start again",
            rejected=lambda why: (f"Docker rejected container {spec.name}: {why}; "
                                  "check docker.memory, docker.cpus and docker.pids_limit"),
        ):
            port_bindings: dict[str, list[tuple]] = {}
            for p in spec.ports:
                binding = (p.host_ip, p.host) if p.host else (p.host_ip,)
                port_bindings.setdefault(f"{p.container}/{p.protocol}", []).append(binding)
            host_config = api.create_host_config(
                binds={spec.workspace_volume or spec.workspace: {"bind": WORKSPACE_MOUNT, "mode": "rw"}},
                mounts=_extra_mounts(spec) or None,
                port_bindings=port_bindings or None,
                **spec.run_options,
                mem_limit=spec.memory or None,
                nano_cpus=int(round(spec.cpus * 1e9)) or None,
                pids_limit=spec.pids_limit or None,
                security_opt=["no-new-privileges"],
                cap_drop=["ALL"],
                cap_add=list(CAP_ADD) if user.split(":")[0] == "0" else None,
                privileged=False,
            )
            created = api.create_container(
                spec.image, command=KEEPALIVE, name=spec.name, hostname=_hostname(spec.name),
                user=user, environment={"HOME": "/tmp", **spec.environment},
                ports=[(p.container, p.protocol) for p in spec.ports] or None,
                working_dir=spec.workdir, labels=dict(spec.labels), host_config=host_config,
                detach=True, stdin_open=False, tty=False,
            )
        container_id = created["Id"]
        try:
            with self._errors(
                f"start container {spec.name}",
                rejected=lambda why: (f"container {spec.name} did not start: {why}; "
                                      f"the image needs /bin/sh (try '{FALLBACK_IMAGE}')"),
            ):
                try:
                    api.start(container_id)
                except docker.errors.APIError as err:  # a taken host port: one line naming it (core/ports.py)
                    taken = ports.in_use_message(str(err.explanation or err), spec.ports)
                    if taken is None:
                        raise
                    raise StateError(taken) from err
        except VmuserError:
            self.remove(container_id)  # don't leave a created-but-dead container behind
            raise
        return self.inspect(container_id) or ContainerInfo(
            container_id, spec.name, spec.image, "removing", dict(spec.labels))

    def stop(self, container_id: str, timeout: int = 5) -> None:
        """Stop: SIGTERM, then SIGKILL after ``timeout`` seconds. Stopping a stopped one is fine."""
        with self._errors(f"stop container {_short(container_id)}", missing=self._missing(container_id)):
            self._docker().api.stop(container_id, timeout=timeout)

    def pause(self, container_id: str) -> None:
        """Freeze the container. Raises ``StateError`` unless it is running."""
        with self._errors(
            f"pause container {_short(container_id)}", missing=self._missing(container_id),
            conflict=lambda why: f"cannot pause: {why}; only a running session can be paused",
        ):
            self._docker().api.pause(container_id)

    def unpause(self, container_id: str) -> None:
        """Thaw the container. Raises ``StateError`` unless it is paused."""
        with self._errors(
            f"unpause container {_short(container_id)}", missing=self._missing(container_id),
            conflict=lambda why: f"cannot unpause: {why}; only a paused session can be resumed",
        ):
            self._docker().api.unpause(container_id)

    def remove(self, container_id: str) -> None:
        """Force-remove the container and its anonymous volumes; gone already is fine."""
        import docker.errors

        with self._errors(f"remove container {_short(container_id)}"):
            try:
                self._docker().api.remove_container(container_id, force=True, v=True)
            except docker.errors.NotFound:
                pass
            except docker.errors.APIError as err:
                if err.status_code != 409 or "in progress" not in str(err.explanation):
                    raise  # 409 "removal already in progress" means it is going away anyway

    def inspect(self, container_id: str) -> ContainerInfo | None:
        """Current state of the container, or None when it no longer exists."""
        import docker.errors

        with self._errors(f"inspect container {_short(container_id)}"):
            try:
                return container_info(self._docker().api.inspect_container(container_id))
            except docker.errors.NotFound:
                return None

    def environment(self, container_id: str) -> dict[str, str]:
        """The container's environment variables (``Config.Env``: the image's and the
        session's) as ``{name: value}``. Values may be secrets: callers mask them before
        showing (:func:`vmuser_tui.core.session_env.masked`) and never store them.
        NotFoundError when the container is gone."""
        with self._errors(f"inspect container {_short(container_id)}", missing=self._missing(container_id)):
            attrs = self._docker().api.inspect_container(container_id)
        out: dict[str, str] = {}
        for item in (attrs.get("Config") or {}).get("Env") or []:
            name, _, value = item.partition("=")
            out[name] = value
        return out

    def list_managed(self, label: str = LABEL_SESSION) -> list[ContainerInfo]:
        """Every container (any state) that carries ``label`` (a key or ``key=value``;
        default the ``vmuser.session`` label)."""
        with self._errors("list containers"):
            rows = self._docker().api.containers(all=True, filters={"label": label})
        return [
            ContainerInfo(
                id=row["Id"], name=(row.get("Names") or ["/"])[0].lstrip("/"), image=row.get("Image", ""),
                status=row.get("State", "unknown"), labels=dict(row.get("Labels") or {}),
            )
            for row in rows
        ]

    def exec(
        self,
        container_id: str,
        argv: list[str],
        *,
        workdir: str = WORKSPACE_MOUNT,
        environment: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> ExecResult:
        """Run ``argv`` (no shell) as the container's user and wait for it to end.

        Returns exit code, stdout+stderr interleaved and wall time in seconds. ``timeout``
        (seconds, None = wait as long as it runs) bounds the wait; the command keeps
        running in the container afterwards. Raises ``StateError`` when the container is
        not running or the timeout passes, ``NotFoundError`` when it is gone.
        """
        if not argv:
            raise UsageError("empty command: give the program to run, e.g. ['sh', '-c', 'make']")
        api = self._docker().api
        started = time.monotonic()
        deadline = None if timeout is None else started + timeout

        with self._errors(f"run a command in container {_short(container_id)}", missing=self._missing(container_id),
                          conflict=lambda why: _not_running(container_id, why)):
            exec_id = api.exec_create(
                container_id, argv, stdout=True, stderr=True, stdin=False, tty=False,
                environment=environment, workdir=workdir,  # no user: the container's own
            )["Id"]
            sock = api.exec_start(exec_id, socket=True)
            try:
                # what the HTTP client read past the headers is output too (over an SSH
                # tunnel the first output often comes with them: see exec_stream._buffered)
                first = buffered_output(sock, getattr(sock, "_sock", sock))
                rest = read_all(sock, deadline)
                raw = None if rest is None else first + rest
            finally:
                sock.close()
            if raw is None:
                raise StateError(
                    f"command {one_line(' '.join(redact_argv(argv)), 60)!r} still running after {timeout:g} s; "
                    "it goes on in the container: wait longer, or stop the session to end it"
                )
            # The stream can close a moment before the engine records the exit code.
            for _ in range(250):
                result = api.exec_inspect(exec_id)
                if not result.get("Running") and result.get("ExitCode") is not None:
                    break
                time.sleep(0.02)
        exit_code = result.get("ExitCode")
        return ExecResult(exit_code=-1 if exit_code is None else int(exit_code), output=demux(raw),
                          duration=time.monotonic() - started)

    def exec_stream(
        self,
        container_id: str,
        argv: list[str],
        options: ExecOptions,
        on_output: OutputSink,
        *,
        stdin_fd: int | None = None,
        control: ExecControl | None = None,
    ) -> ExecOutcome:
        """Run ``argv`` with output streamed to ``on_output`` as it arrives (stdout and
        stderr apart without a TTY), ``stdin_fd`` forwarded, a TTY, detached: see
        :mod:`vmuser_tui.core.runtime.exec_stream`. Raises ``UsageError`` (empty argv),
        ``StateError`` (container not running or paused), ``NotFoundError`` (gone)."""
        from vmuser_tui.core.runtime.exec_stream import DockerExec

        if not argv:
            raise UsageError("empty command: give the program to run, e.g. ['sh', '-c', 'make']")

        def errors(action: str) -> contextlib.AbstractContextManager[None]:
            return self._errors(f"{action} in container {_short(container_id)}", missing=self._missing(container_id),
                                conflict=lambda why: _not_running(container_id, why))

        run = DockerExec(self._docker().api, errors, container_id, argv, options)
        run.start()
        return run.pump(on_output, stdin_fd=stdin_fd, control=control)

    def logs(self, container_id: str, tail: int = 200) -> str:
        """The container's last ``tail`` lines of output (stdout and stderr), UTF-8 decoded."""
        with self._errors(f"read logs of container {_short(container_id)}", missing=self._missing(container_id)):
            data = self._docker().api.logs(container_id, stdout=True, stderr=True, tail=max(0, int(tail)),
                                           timestamps=False)
        return data.decode("utf-8", errors="replace")

    def stream_logs(self, container_id: str, *, follow: bool = False, since: float | None = None,
                    tail: int | None = None) -> LogStream:
        """The container's output as timestamped lines, followed or not; see
        :func:`vmuser_tui.core.runtime.docker_logs.open_logs` (``since``: UNIX seconds; ``tail``: None = all)."""
        from vmuser_tui.core.runtime.docker_logs import open_logs

        return open_logs(self, container_id, follow=follow, since=since, tail=tail)

    def commit(self, container_id: str, repository: str, tag: str, labels: dict[str, str]) -> str:
        """``docker commit`` the container's filesystem (what a user installed outside
        /workspace; the bind-mounted workspace itself is not in it) as ``repository:tag``
        with ``labels``; returns that reference. The container keeps running (paused for
        the copy, as docker commit does by default). Secret-looking variables of the
        container (:func:`vmuser_tui.core.session_env.looks_secret`) are emptied in the
        image's config: a checkpoint keeps no secret (the engine merges ``Env`` by name, so
        ``NAME=`` replaces the value and the other variables stay)."""
        from vmuser_tui.core.session_env import looks_secret

        emptied = [f"{k}=" for k, v in self.environment(container_id).items() if looks_secret(k, v)]
        with self._errors(f"commit container {_short(container_id)}", missing=self._missing(container_id)):
            self._docker().api.commit(container_id, repository=repository, tag=tag,
                                      conf={"Labels": dict(labels), **({"Env": emptied} if emptied else {})})
        return f"{repository}:{tag}"

    def images(self, label: str) -> list[tuple[str, dict[str, str]]]:
        """``[(reference, labels)]`` of the local images carrying ``label`` (a key or ``key=value``)."""
        with self._errors("list images"):
            rows = self._docker().api.images(filters={"label": label})
        out = []
        for row in rows:
            for ref in row.get("RepoTags") or [row["Id"]]:
                out.append((ref, dict(row.get("Labels") or {})))
        return out

    def volumes(self, label: str) -> list[str]:
        """Names of the volumes carrying ``label`` (a key or ``key=value``)."""
        with self._errors("list volumes"):
            answer = self._docker().api.volumes(filters={"label": label})
        return sorted(v["Name"] for v in (answer or {}).get("Volumes") or [])

    def remove_volume(self, name: str) -> None:
        """Remove a volume; gone already is fine. StateError while a container uses it."""
        import docker.errors

        with self._errors(f"remove volume {name}",
                          conflict=lambda why: f"volume {name} is in use: {why}; stop the container using it"):
            try:
                self._docker().api.remove_volume(name)
            except docker.errors.NotFound:
                pass

    def remove_image(self, reference: str) -> None:
        """Remove an image by reference; gone already is fine."""
        import docker.errors

        with self._errors(f"remove image {reference}"):
            try:
                self._docker().api.remove_image(reference, force=True)
            except docker.errors.NotFound:
                pass

    def stats(self, container_id: str) -> dict:
        """One sample: ``{"cpu_percent": float, "memory_bytes": int, "memory_limit": int}``.

        ``cpu_percent`` is relative to one core (200.0 = two cores busy), as in `docker
        stats`; memory in bytes, page cache excluded. A stopped container reports zeros.
        Takes about a second: the engine waits for a second CPU reading to compute a delta.
        """
        with self._errors(f"read stats of container {_short(container_id)}", missing=self._missing(container_id)):
            sample = self._docker().api.stats(container_id, stream=False)
        mem = sample.get("memory_stats") or {}
        return {"cpu_percent": cpu_percent(sample), "memory_bytes": memory_bytes(sample),
                "memory_limit": int(mem.get("limit", 0))}

    def shell_argv(self, container_id: str, workdir: str = WORKSPACE_MOUNT) -> list[str]:
        """argv for an interactive shell (bash if present, else sh) in /workspace.

        Needs the ``docker`` CLI; raises ``RuntimeUnavailableError`` when it is missing.
        """
        if shutil.which("docker") is None:
            raise RuntimeUnavailableError(
                "the docker CLI is needed to open a shell: install it (apt-get install docker.io or docker-ce-cli)"
            )
        host = ["-H", self.base_url] if self.base_url else []
        return ["docker", *host, "exec", "-it", "-w", workdir, container_id, *SHELL]  # as the container's user
