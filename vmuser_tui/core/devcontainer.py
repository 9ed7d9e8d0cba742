"""A workspace's own ``devcontainer.json`` (the containers.dev spec), read into a launch plan.

Read at each ``session start`` from ``.devcontainer/devcontainer.json``, else
``.devcontainer.json`` (JSON with comments and trailing commas, parsed by ``json5``), unless
``--no-devcontainer``. A broken file is refused with one line: the file, line and column.
Supported: ``image``; ``build.dockerfile``/``context``/``args``/``target`` (and the older
top-level ``dockerFile``/``context``; paths relative to the file's folder, as in the spec);
``containerEnv``, ``remoteEnv``; ``forwardPorts``, ``appPort``; ``mounts``; ``containerUser``,
``remoteUser``; ``workspaceFolder``; ``postCreateCommand``, ``postStartCommand``; ``runArgs``
(an allow-list: :mod:`vmuser_tui.core.run_args`). Anything else is listed once, in one note,
as ignored (``features``, ``customizations``, ``initializeCommand``, which would run on the
host...). ``--dockerfile PATH`` builds a Dockerfile-only project the same way.

The file lives in the workspace, and the workspace is writable from inside the session's
container: a devcontainer.json is untrusted input and never gets more than the config allows.

- **User.** The container runs as the user vmuser picks from ``[docker] user``
  (:mod:`vmuser_tui.core.container_user`: never root unless the config says ``"root"``).
  ``containerUser``/``remoteUser`` cannot change it: a name is looked up in the image's own
  /etc/passwd, which a workspace Dockerfile writes, so even ``"vscode"`` may be uid 0; and
  any other uid could leave set-uid files of that uid on the host. A value that names the
  configured user (``root`` when ``[docker] user = "root"``, or the same ``uid[:gid]``) is
  accepted quietly; any other is ignored with a note saying how to change the user.
- **Mounts.** Named volumes only, and each name is given the project's prefix
  (``cache`` -> ``vmuser-<project id>-cache``), so one project's file cannot mount another's
  volume or any other volume on the engine. Bind mounts (host folders) are refused unless
  ``[devcontainer] allow_bind_mounts = true``.
- **Host environment.** ``${localEnv:NAME}`` is never filled from vmuser's environment (a file
  the container writes would copy the host's secrets into it): it becomes its default
  (``${localEnv:NAME:default}``) or empty, with a note. ``${localWorkspaceFolder}``,
  ``${containerWorkspaceFolder}`` (and their ``Basename``) and ``${devcontainerId}`` are filled.
- **Ports** are published on 127.0.0.1 only (:mod:`vmuser_tui.core.ports`).

``remoteEnv`` is set on the container like ``containerEnv`` (after it, so it wins): vmuser
keeps no variable's value on record (only names), so it cannot add them to each exec later;
every exec, shell and hook sees them. ``${containerEnv:NAME}`` in it is filled from
``containerEnv``; a variable that refers to a name only the image sets (e.g. ``PATH``) is left
out with a note.
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass, field
from typing import Any

from vmuser_tui.core import run_args
from vmuser_tui.core.errors import ConfigError, InvalidPathError, UsageError, VmuserError
from vmuser_tui.core.hooks import Hook
from vmuser_tui.core.pathcheck import normalize
from vmuser_tui.core.ports import parse_publish
from vmuser_tui.core.runtime.base import WORKSPACE_MOUNT, MountSpec, PortBinding
from vmuser_tui.core.runtime.build import BuildSpec, open_under

FILES = (".devcontainer/devcontainer.json", ".devcontainer.json")
MAX_BYTES = 1 << 20
KNOWN = frozenset({
    "name", "$schema", "image", "build", "dockerFile", "dockerfile", "context", "containerEnv", "remoteEnv",
    "forwardPorts", "appPort", "mounts", "containerUser", "remoteUser", "workspaceFolder",
    "postCreateCommand", "postStartCommand", "runArgs",
})
BUILD_KEYS = frozenset({"dockerfile", "dockerFile", "context", "args", "target"})
# Folders a workspace must not be mounted over (the container would not work, or the
# workspace would hide the kernel's views).
_SYSTEM = ("/proc", "/sys", "/dev")
_VOLUME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_VAR_RE = re.compile(r"\$\{([A-Za-z]+)(?::([^}:]*))?(?::([^}]*))?\}")
_JSON5_ERR = re.compile(r"<string>:(\d+) (.*) at column (\d+)")
FIX = "fix it, or start without it: --no-devcontainer"


@dataclass
class Devcontainer:
    """What one devcontainer.json asks for, checked. ``path``: the file, workspace-relative;
    ``env``: ``containerEnv`` then ``remoteEnv`` (then ``-e`` of ``runArgs``); ``notes``: lines
    for the user."""

    path: str
    image: str | None = None
    build: BuildSpec | None = None
    env: dict[str, str] = field(default_factory=dict)
    ports: list[PortBinding] = field(default_factory=list)
    mounts: list[MountSpec] = field(default_factory=list)
    workdir: str = WORKSPACE_MOUNT
    hooks: list[Hook] = field(default_factory=list)
    run_options: dict[str, object] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def find(workspace: str) -> str | None:
    """The workspace-relative path of the devcontainer.json to use, or None."""
    for rel in FILES:
        if os.path.lexists(os.path.join(workspace, rel)):
            return rel
    return None


def parse_text(text: str, where: str) -> dict[str, Any]:
    """The object in ``text`` (JSON with comments and trailing commas). Raises ConfigError:
    ``<where>: line L, column C: <what>; fix it, ...``."""
    import json5

    try:
        doc = json5.loads(text)
    except ValueError as exc:
        m = _JSON5_ERR.match(str(exc))
        if m:
            raise ConfigError(f"{where}: line {m.group(1)}, column {m.group(3)}: "
                              f"{m.group(2).lower()}: not valid JSON; {FIX}") from None
        raise ConfigError(f"{where}: {str(exc).lower()}: not valid JSON; {FIX}") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{where}: expected an object {{...}} at the top; {FIX}")
    return doc


def read(workspace: str, rel: str) -> dict[str, Any]:
    """Parse the file ``rel`` of ``workspace``, reached without symlinks, at most
    :data:`MAX_BYTES`. Raises ConfigError (one line) when unreadable or broken."""
    try:
        fd = open_under(workspace, rel, directory=False, what="devcontainer file")
    except UsageError as exc:
        raise ConfigError(f"{exc}; {FIX}") from None
    try:
        with os.fdopen(fd, "rb") as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{rel}: cannot read it ({exc.strerror}); {FIX}") from None
    if len(data) > MAX_BYTES:
        raise ConfigError(f"{rel}: larger than {MAX_BYTES // 1024} KiB; {FIX}")
    return parse_text(data.decode("utf-8", errors="replace"), rel)


class _Subst:
    """``${...}`` variables of the spec, filled as the module text says."""

    def __init__(self, workspace: str, workdir: str, project_id: str) -> None:
        self.values = {
            "localWorkspaceFolder": workspace, "localWorkspaceFolderBasename": os.path.basename(workspace),
            "containerWorkspaceFolder": workdir, "containerWorkspaceFolderBasename": posixpath.basename(workdir),
            "devcontainerId": project_id,
        }
        self.local_env: set[str] = set()

    def __call__(self, text: str, container_env: dict[str, str] | None = None) -> str:
        missing: list[str] = []

        def one(m: re.Match[str]) -> str:
            kind, name, default = m.group(1), m.group(2), m.group(3)
            if kind == "localEnv" and name:
                self.local_env.add(name)
                return default or ""
            if kind == "containerEnv" and name:
                if container_env is not None and name in container_env:
                    return container_env[name]
                missing.append(name)
                return m.group(0)
            return self.values.get(kind, m.group(0)) if name is None else m.group(0)

        out = _VAR_RE.sub(one, text)
        if missing:
            raise LookupError(missing[0])
        return out


def _str_map(doc: dict, key: str, where: str) -> dict[str, str]:
    value = doc.get(key) or {}
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise ConfigError(f"{where} {key}: expected an object of NAME: \"value\"; {FIX}")
    out = {}
    for k, v in value.items():
        if v is None:
            continue  # the spec's way to unset a variable
        if not isinstance(v, str | int | float | bool):
            raise ConfigError(f"{where} {key}.{k}: expected a string; {FIX}")
        out[k] = str(v).lower() if isinstance(v, bool) else str(v)
    return out


def commands(value: object, stage: str, where: str) -> list[Hook]:
    """The hooks of one lifecycle property: a string (run by ``sh -c``), an array (argv, no
    shell) or an object of named commands (each a string or an array; run in order)."""
    key = f"{stage}Command"

    def one(v: object, name: str) -> Hook | None:
        if isinstance(v, str):
            return Hook(stage, ["sh", "-c", v], name) if v.strip() else None
        if isinstance(v, list) and v and all(isinstance(a, str) for a in v):
            return Hook(stage, list(v), name)
        label = f"{key}.{name}" if name else key
        raise ConfigError(f"{where} {label}: expected a command string or a non-empty array of strings; {FIX}")

    if value is None:
        return []
    if isinstance(value, dict):
        hooks = [one(v, str(k)) for k, v in value.items()]
    else:
        hooks = [one(value, "")]
    return [h for h in hooks if h is not None]


def _mount(item: object, where: str, subst: _Subst, *, project_id: str, allow_binds: bool,
           workdir: str) -> MountSpec:
    if isinstance(item, str):
        fields: dict[str, Any] = {}
        for part in item.split(","):
            k, eq, v = part.strip().partition("=")
            fields[k.strip().lower()] = v.strip() if eq else True
    elif isinstance(item, dict):
        fields = {str(k).lower(): v for k, v in item.items()}
    else:
        raise ConfigError(f"{where} mounts: expected \"source=...,target=...,type=volume\" or an object; {FIX}")
    kind = fields.get("type", "volume")
    source = fields.get("source", fields.get("src", ""))
    target = fields.get("target", fields.get("destination", fields.get("dst", "")))
    read_only = fields.get("readonly", fields.get("ro", False)) in (True, "true", "1")
    if not all(isinstance(x, str) for x in (kind, source, target)):
        raise ConfigError(f"{where} mounts: source, target and type must be strings; {FIX}")
    source, target = subst(source), subst(target)
    shown = f"{source or '?'} -> {target or '?'}"
    norm = posixpath.normpath(target) if target else ""
    if not target.startswith("/") or norm != target.rstrip("/") or norm in ("/", WORKSPACE_MOUNT, workdir):
        raise ConfigError(f"{where} mounts ({shown}): the target must be an absolute path other than /, "
                          f"{WORKSPACE_MOUNT} and the workspace folder; {FIX}")
    if kind == "bind":
        if not allow_binds:
            raise ConfigError(f"{where} mounts ({shown}): bind mounts of host folders are refused; use a named "
                              "volume (type=volume), or allow them: [devcontainer] allow_bind_mounts = true")
        if not source.startswith("/"):
            raise ConfigError(f"{where} mounts ({shown}): a bind mount needs an absolute host path; {FIX}")
        return MountSpec("bind", source, norm, read_only)
    if kind != "volume":
        raise ConfigError(f"{where} mounts ({shown}): type {kind!r} is not supported (volume, or bind when "
                          "allowed); {FIX}")
    if not _VOLUME_RE.fullmatch(source):
        raise ConfigError(f"{where} mounts ({shown}): a volume needs a name of letters, digits, '_', '.', '-'; {FIX}")
    return MountSpec("volume", f"vmuser-{project_id}-{source}", norm, read_only)


def _ports(doc: dict, where: str) -> tuple[list[PortBinding], list[str]]:
    out: list[PortBinding] = []
    skipped: list[str] = []
    forward = doc.get("forwardPorts") or []
    if not isinstance(forward, list):
        raise ConfigError(f"{where} forwardPorts: expected a list of port numbers; {FIX}")
    for item in forward:
        text = str(item)
        if isinstance(item, bool) or not (isinstance(item, int) or (isinstance(item, str) and text.isdigit())):
            skipped.append(text)  # "db:5432": a port of another container (compose), not this one
            continue
        out.append(_publish(text, where, "forwardPorts"))
    app = doc.get("appPort")
    for item in app if isinstance(app, list) else ([] if app is None else [app]):
        if isinstance(item, bool) or not isinstance(item, int | str):
            raise ConfigError(f"{where} appPort: expected a port number or \"HOST:CONTAINER\"; {FIX}")
        text = str(item)
        # a bare number publishes the same port number on the host, as VS Code does
        out.append(_publish(f"{text}:{text}" if text.isdigit() else text, where, "appPort"))
    return out, skipped


def _publish(spec: str, where: str, key: str) -> PortBinding:
    try:
        return parse_publish(spec)
    except UsageError as exc:
        raise ConfigError(f"{where} {key}: {str(exc).removeprefix('--publish ')}") from None


def _rel(folder: str, value: object, where: str, key: str) -> str:
    """``value`` (relative to the devcontainer.json's ``folder``) as a workspace-relative
    path ('' for the workspace itself). Raises ConfigError when it leaves the workspace."""
    if not isinstance(value, str) or not value or value.startswith("/"):
        raise ConfigError(f"{where} {key}: expected a path relative to the file's folder; {FIX}")
    joined = posixpath.normpath(posixpath.join(folder, value)) if folder else posixpath.normpath(value)
    if joined == ".." or joined.startswith("../"):
        raise ConfigError(f"{where} {key}: {value!r} is outside the workspace; the build context and the "
                          f"Dockerfile must be inside it")
    try:
        return normalize(joined, allow_root=True)
    except InvalidPathError as exc:
        raise ConfigError(f"{where} {key}: {exc}") from None


def _user_note(doc: dict, setting: str) -> str | None:
    """A note for ``containerUser``/``remoteUser`` values that do not name the configured
    user (``[docker] user``): those are ignored, as the module text explains."""
    if setting == "root":
        same = {"root", "0", "0:0"}
    elif setting:
        same = {setting, setting.split(":")[0]}
    else:
        same = set()  # the default: the host user's uid:gid, chosen at start; nothing to match
    ignored = [f"{key} {str(doc[key])!r}" for key in ("containerUser", "remoteUser")
               if doc.get(key) is not None and str(doc[key]) not in same]
    if not ignored:
        return None
    now = (f'[docker] user = "{setting}"' if setting
           else "your uid:gid (or an unprivileged one when vmuser runs as root)")
    return (f"{' and '.join(ignored)} ignored: a devcontainer.json cannot choose the container's user; it runs as "
            f"{now}; set [docker] user to change it")


def load(workspace: str, rel: str, *, project_id: str, allow_binds: bool, user_setting: str) -> Devcontainer:
    """Read and check the devcontainer.json ``rel`` of ``workspace``. Raises ConfigError
    (one line, naming the file and the property) for anything refused."""
    doc = read(workspace, rel)
    where = rel
    folder = posixpath.dirname(rel)
    dc = Devcontainer(path=rel)
    workdir = doc.get("workspaceFolder", WORKSPACE_MOUNT)
    subst = _Subst(workspace, WORKSPACE_MOUNT, project_id)
    if not isinstance(workdir, str):
        raise ConfigError(f"{where} workspaceFolder: expected an absolute path; {FIX}")
    workdir = subst(workdir)
    norm = posixpath.normpath(workdir) if workdir.startswith("/") else ""
    if (not norm or norm == "/" or norm != workdir.rstrip("/")
            or any(norm == s or norm.startswith(s + "/") for s in _SYSTEM)):
        raise ConfigError(f"{where} workspaceFolder: {workdir!r} must be an absolute path such as "
                          f"/workspaces/app (not /, /proc, /sys, /dev); {FIX}")
    dc.workdir = norm
    subst = _Subst(workspace, norm, project_id)

    build = doc.get("build")
    legacy = doc.get("dockerFile") or doc.get("dockerfile")
    if build is not None and not isinstance(build, dict):
        raise ConfigError(f"{where} build: expected an object with dockerfile, context, args, target; {FIX}")
    build = dict(build or {})
    if legacy and "dockerfile" not in build and "dockerFile" not in build:
        build["dockerfile"] = legacy
        build.setdefault("context", doc.get("context", "."))
    if build:
        dockerfile = build.get("dockerfile", build.get("dockerFile"))
        if dockerfile is None:
            raise ConfigError(f"{where} build: names no dockerfile; {FIX}")
        args = _str_map(build, "args", f"{where} build")
        target = build.get("target") or ""
        if not isinstance(target, str):
            raise ConfigError(f"{where} build.target: expected a stage name; {FIX}")
        dc.build = BuildSpec(
            workspace=workspace, context=_rel(folder, build.get("context", "."), where, "build.context"),
            dockerfile=_rel(folder, dockerfile, where, "build.dockerfile"), project_id=project_id, source=rel,
            args={k: subst(v) for k, v in args.items()}, target=target)
        extra = sorted(set(build) - BUILD_KEYS)
        if extra:
            dc.notes.append(f"{rel}: build.{', build.'.join(extra)} ignored (not supported by vmuser)")
        if doc.get("image"):
            dc.notes.append(f"{rel}: both image and build are set; the image is built, {doc['image']!r} is not used")
    elif doc.get("image") is not None:
        if not isinstance(doc["image"], str) or not doc["image"].strip():
            raise ConfigError(f"{where} image: expected an image name; {FIX}")
        dc.image = doc["image"].strip()

    container_env = {k: subst(v) for k, v in _str_map(doc, "containerEnv", where).items()}
    dc.env.update(container_env)
    dropped = []
    for k, v in _str_map(doc, "remoteEnv", where).items():
        try:
            dc.env[k] = subst(v, container_env)
        except LookupError as missing:
            dropped.append(f"{k} (uses ${{containerEnv:{missing.args[0]}}})")
    if dropped:
        dc.notes.append(f"{rel}: remoteEnv {', '.join(dropped)} left out: vmuser sets remoteEnv on the container, "
                        "where only containerEnv's values are known")

    dc.ports, skipped = _ports(doc, where)
    if skipped:
        dc.notes.append(f"{rel}: forwardPorts {', '.join(skipped)} ignored (ports of other hosts; only this "
                        "container's port numbers are published)")
    mounts = doc.get("mounts") or []
    if not isinstance(mounts, list):
        raise ConfigError(f"{where} mounts: expected a list; {FIX}")
    dc.mounts = [_mount(m, where, subst, project_id=project_id, allow_binds=allow_binds, workdir=norm)
                 for m in mounts]
    for stage in ("postCreate", "postStart"):
        dc.hooks.extend(commands(doc.get(f"{stage}Command"), stage, where))
    if doc.get("runArgs") is not None:
        ra = run_args.parse([subst(a) if isinstance(a, str) else a for a in doc["runArgs"]]
                            if isinstance(doc["runArgs"], list) else doc["runArgs"], where)
        dc.run_options = ra.run_options
        dc.env.update(ra.env)
    note = _user_note(doc, user_setting)
    if note:
        dc.notes.append(f"{rel}: {note}")
    if subst.local_env:
        dc.notes.append(f"{rel}: ${{localEnv:{', '.join(sorted(subst.local_env))}}} not filled from vmuser's "
                        "environment (a workspace file must not copy host variables into the container): "
                        "use --env or [session.env]")
    unknown = sorted(set(doc) - KNOWN)
    if unknown:
        dc.notes.append(f"{rel}: ignored (not supported by vmuser): {', '.join(unknown)}")
    return dc


def for_dockerfile(workspace: str, path: str, *, project_id: str) -> BuildSpec:
    """The build of ``--dockerfile PATH`` (relative to the workspace; the workspace is the
    build context). Raises UsageError for a path outside the workspace."""
    try:
        rel = _rel("", path, "--dockerfile", "path")
    except VmuserError as exc:
        raise UsageError(str(exc).replace(f"; {FIX}", "")) from None
    if not rel:
        raise UsageError("--dockerfile: give the Dockerfile's path relative to the workspace, e.g. Dockerfile")
    return BuildSpec(workspace=workspace, context="", dockerfile=rel, project_id=project_id, source="--dockerfile")
