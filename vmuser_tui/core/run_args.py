"""A devcontainer.json's ``runArgs``: the few ``docker run`` options a workspace may ask for.

The file lives in the workspace, and the workspace is writable from inside the session's
container: whatever it asks for, a process in the container can ask for. So ``runArgs`` is an
allow-list, not a deny-list; every option not listed is refused before anything is created,
with one line naming it and the list. Allowed, and why each is harmless to the host:

- ``--init``: tini as PID 1's helper, reaping zombies inside the container.
- ``--shm-size SIZE``: the size of /dev/shm (charged to the container's memory limit).
- ``--ulimit nofile|nproc|core|stack=SOFT[:HARD]``: per-process limits inside the container;
  ``[docker] pids_limit`` and ``memory`` still bound the whole. Others (``memlock``,
  ``rtprio``...) touch host-wide resources and are refused.
- ``--tmpfs PATH[:OPTIONS]``: a memory file system inside the container (charged to it).
- ``--add-host NAME:IP``: a line in the container's /etc/hosts.
- ``-e``/``--env K=V``: an environment variable, as ``containerEnv``.

Never (each reaches past the container, or past what the config decides): ``--privileged``,
``--cap-add`` and ``--device`` (host kernel and devices), ``--security-opt`` (seccomp or
AppArmor off), ``--network``/``--net host`` (the host's own services and ports), ``--pid``,
``--ipc``, ``--uts``, ``--userns``, ``--cgroupns`` (the host's namespaces), ``-v``/``--volume``/
``--mount`` (host folders: use ``mounts``, named volumes only unless the config allows binds),
``-u``/``--user`` and ``--group-add`` (the user is the config's: see :mod:`~vmuser_tui.core.
devcontainer`), ``-p``/``--publish``/``-P`` (every interface: use ``forwardPorts``, loopback),
``--memory``/``--cpus``/``--pids-limit`` (the budget is ``[docker]``'s), ``--runtime``,
``--gpus``, ``--sysctl``, ``--name``, ``--label``, ``--hostname`` (vmuser names and labels its
containers; its reconciliation relies on them).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from vmuser_tui.core.errors import ConfigError

ALLOWED = ("--init", "--shm-size", "--ulimit", "--tmpfs", "--add-host", "-e/--env")
ULIMITS = ("nofile", "nproc", "core", "stack")
_TAKES_VALUE = {"--shm-size", "--ulimit", "--tmpfs", "--add-host", "-e", "--env"}
_SIZE_RE = re.compile(r"[0-9]+[bkmgBKMG]?")
_ULIMIT_RE = re.compile(r"([a-z]+)=(-?[0-9]+)(?::(-?[0-9]+))?")
_HOST_RE = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]{0,252})")


@dataclass
class RunArgs:
    """What allowed ``runArgs`` add: ``run_options`` (host-config keyword arguments of the
    docker SDK: ``init``, ``shm_size``, ``ulimits``, ``tmpfs``, ``extra_hosts``) and ``env``."""

    run_options: dict[str, object] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)


def _refuse(where: str, arg: str, why: str = "") -> ConfigError:
    reason = why or "is not allowed"
    return ConfigError(f"{where} runArgs: {arg!r} {reason}; allowed: {', '.join(ALLOWED)} "
                       "(the others reach past the container; see README, Your own dev container)")


def parse(args: object, where: str) -> RunArgs:
    """Check and translate a ``runArgs`` list (``["--init", "--shm-size=1g", "-e", "A=1"]``).
    ``where`` names the file in messages. Raises ConfigError (one line) for anything not on
    the allow-list, a missing or malformed value."""
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise ConfigError(f"{where} runArgs: expected a list of strings, e.g. [\"--init\"]")
    out = RunArgs()
    i = 0
    while i < len(args):
        arg = args[i]
        name, eq, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if name not in _TAKES_VALUE and name != "--init":
            raise _refuse(where, arg)
        if name == "--init":
            if eq:
                raise _refuse(where, arg, "takes no value")
            out.run_options["init"] = True
            i += 1
            continue
        if not eq:
            if i + 1 >= len(args):
                raise _refuse(where, arg, "needs a value")
            value = args[i + 1]
            i += 1
        i += 1
        _apply(out, name, value, where)
    return out


def _apply(out: RunArgs, name: str, value: str, where: str) -> None:
    shown = f"{name} {value}"
    if name == "--shm-size":
        if not _SIZE_RE.fullmatch(value):
            raise _refuse(where, shown, "needs a size such as 256m")
        out.run_options["shm_size"] = value.lower()
    elif name == "--ulimit":
        m = _ULIMIT_RE.fullmatch(value)
        if not m:
            raise _refuse(where, shown, "needs NAME=SOFT[:HARD], e.g. nofile=4096:8192")
        if m.group(1) not in ULIMITS:
            raise _refuse(where, shown, f"names a limit that is not allowed (allowed: {', '.join(ULIMITS)})")
        soft = int(m.group(2))
        hard = int(m.group(3)) if m.group(3) is not None else soft
        ulimits = out.run_options.setdefault("ulimits", [])
        assert isinstance(ulimits, list)
        ulimits.append({"name": m.group(1), "soft": soft, "hard": hard})
    elif name == "--tmpfs":
        path, _, opts = value.partition(":")
        if not path.startswith("/") or ".." in path.split("/") or path.rstrip("/") in ("", "/workspace"):
            raise _refuse(where, shown, "needs an absolute path other than / and /workspace")
        tmpfs = out.run_options.setdefault("tmpfs", {})
        assert isinstance(tmpfs, dict)
        tmpfs[path] = opts
    elif name == "--add-host":
        host, _, ip = value.partition(":")
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            raise _refuse(where, shown, "needs NAME:IP") from None
        if not _HOST_RE.fullmatch(host):
            raise _refuse(where, shown, "needs NAME:IP")
        hosts = out.run_options.setdefault("extra_hosts", {})
        assert isinstance(hosts, dict)
        hosts[host] = ip
    else:  # -e / --env
        key, eq, val = value.partition("=")
        if not eq or not key:
            raise _refuse(where, f"{name} {key}", "needs KEY=VALUE")
        out.env[key] = val
