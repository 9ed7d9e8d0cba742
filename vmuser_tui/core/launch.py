"""What a session is started with, gathered before anything is recorded or created.

``session start`` takes more than a project: environment variables, published ports, the
user's metadata, and (issue 13) what the workspace's own ``devcontainer.json`` or
Dockerfile asks for. :func:`plan` reads and checks all of it first, so bad input (a port
that is not a number, a broken devcontainer.json) is refused before a session row, an
image or a container exists; :class:`~vmuser_tui.core.sessions.Sessions` then carries the
:class:`LaunchPlan` out.

Precedence, lowest first (as ``docker run`` and VS Code dev containers layer them): the
image's own ``ENV`` < ``[session.env]`` in config < the project's
``[projects."<id or name>".env]`` (by name, then by id) < the devcontainer.json's
``containerEnv``/``remoteEnv`` < ``--env-file`` files, in the order given < ``--env``
(the last of a name wins). Reading and checking them: :mod:`vmuser_tui.core.session_env`;
only the names are kept with the session (values may be secrets). Ports: the devcontainer's
``forwardPorts``/``appPort`` plus ``--publish``; a container port published twice keeps the
``--publish`` one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from vmuser_tui.core.hooks import Hook
from vmuser_tui.core.ports import parse_publish
from vmuser_tui.core.runtime.base import WORKSPACE_MOUNT, MountSpec, PortBinding

if TYPE_CHECKING:
    from vmuser_tui.core.context import Context
    from vmuser_tui.core.models import Project
    from vmuser_tui.core.runtime.build import BuildSpec


@dataclass
class StartOptions:
    """What the user asked of one ``session start`` besides the project and runtime.

    ``env``: ``--env K=V`` pairs (already split); ``env_files``: ``--env-file`` paths on
    this host, in order; ``publish``: ``--publish`` specs as typed
    (``[HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]``); ``meta``: ``--meta K=V`` pairs,
    stored with the session and shown by ``session show``; ``dockerfile``: build the image
    from this Dockerfile (a path relative to the workspace) when there is no
    devcontainer.json; ``devcontainer``: False ignores the workspace's devcontainer.json;
    ``output``: called with each line of progress while the session starts (image build
    output, lifecycle commands being run), from the thread that runs the start.
    """

    env: dict[str, str] = field(default_factory=dict)
    env_files: list[str] = field(default_factory=list)
    publish: list[str] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)
    dockerfile: str | None = None
    devcontainer: bool = True
    output: Callable[[str], None] | None = None


@dataclass
class LaunchPlan:
    """Everything :meth:`Sessions.start` needs past the project, checked.

    ``image``: the image to run (None: the project's, then ``[docker] image``);
    ``build``: a build to run first (a :class:`~vmuser_tui.core.devcontainer` build spec,
    None when the image is used as is); ``environment``: the container's variables;
    ``ports``/``mounts``/``run_options``: for :class:`~vmuser_tui.core.runtime.base.ContainerSpec`;
    ``workdir``: where the workspace is seen and commands start; ``container_user``: the
    ``uid:gid`` or name the container runs as (None: vmuser's choice, see
    :mod:`~vmuser_tui.core.container_user`); ``exec_user``: who exec and shells run as (None:
    the container's user); ``hooks``: lifecycle commands run after the start; ``notes``: lines
    for the user (e.g. ignored properties, listed once); ``setup``: the JSON summary kept with
    the session (never a variable's value).
    """

    image: str | None = None
    build: BuildSpec | None = None
    environment: dict[str, str] = field(default_factory=dict)
    ports: list[PortBinding] = field(default_factory=list)
    mounts: list[MountSpec] = field(default_factory=list)
    run_options: dict[str, object] = field(default_factory=dict)
    workdir: str = WORKSPACE_MOUNT
    container_user: str | None = None
    exec_user: str | None = None
    hooks: list[Hook] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    setup: dict = field(default_factory=dict)


def merge_ports(low: list[PortBinding], high: list[PortBinding]) -> list[PortBinding]:
    """``low`` then ``high``, where a container port/protocol in ``high`` replaces ``low``'s."""
    taken = {(p.container, p.protocol) for p in high}
    return [p for p in low if (p.container, p.protocol) not in taken] + list(high)


def plan(ctx: Context, project: Project, options: StartOptions | None = None) -> LaunchPlan:
    """The checked :class:`LaunchPlan` for starting a session on ``project``.

    Reads nothing but the config, the options and the workspace's own files; contacts no
    engine. Raises UsageError for a bad ``--env``/``--publish``/``--meta`` and ConfigError
    for a broken devcontainer.json (with its line and column).
    """
    import os

    from vmuser_tui.core import session_env

    options = options or StartOptions()
    result = LaunchPlan()
    session_env.parse_meta(f"{k}={v}" for k, v in options.meta.items())  # (the CLI parsed them; others did not)
    dc_ports = _devcontainer(ctx, project, options, result)
    # config < the devcontainer.json's containerEnv/remoteEnv < env files < --env
    environment = {**session_env.config_env(ctx.config, project), **result.environment}
    for path in options.env_files:
        environment.update(session_env.read_env_file(path, os.environ))
    environment.update(session_env.check_env(options.env))
    result.environment = environment
    result.ports = merge_ports(dc_ports, [parse_publish(spec) for spec in options.publish])
    if result.environment:
        result.setup["env_keys"] = sorted(result.environment)
    return result


def _devcontainer(ctx: Context, project: Project, options: StartOptions, result: LaunchPlan) -> list[PortBinding]:
    """Fill ``result`` from the workspace's devcontainer.json (unless ``--no-devcontainer``)
    and ``--dockerfile``; return the devcontainer's ports (the lowest layer under
    ``--publish``). See :mod:`vmuser_tui.core.devcontainer` for what is read and refused."""
    from vmuser_tui.core import devcontainer

    rel = devcontainer.find(project.workspace) if options.devcontainer else None
    ports: list[PortBinding] = []
    if rel is not None:
        dc = devcontainer.load(project.workspace, rel, project_id=project.id,
                               allow_binds=bool(ctx.config.get("devcontainer", "allow_bind_mounts")),
                               user_setting=ctx.config.get("docker", "user"))
        result.image, result.build = dc.image, dc.build
        result.environment = dict(dc.env)
        ports, result.mounts, result.workdir = dc.ports, dc.mounts, dc.workdir
        result.run_options, result.hooks = dict(dc.run_options), list(dc.hooks)
        result.notes.extend(dc.notes)
        result.setup["devcontainer"] = rel
    if options.dockerfile:
        if result.build is not None or result.image:
            result.notes.append(f"--dockerfile {options.dockerfile} is built instead of the image {rel} names")
        result.image = None
        result.build = devcontainer.for_dockerfile(project.workspace, options.dockerfile, project_id=project.id)
    if result.build is not None:
        result.setup["build"] = result.build.to_json()
    if result.hooks:
        from vmuser_tui.core.hooks import label

        result.setup["hooks"] = [label(h) for h in result.hooks]
    return ports


def has_devcontainer(workspace: str) -> bool:
    """Whether ``workspace`` has a devcontainer.json that a Docker session would read."""
    from vmuser_tui.core import devcontainer

    return devcontainer.find(workspace) is not None
