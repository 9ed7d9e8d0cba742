"""A project's workspace on an engine other than ``local``: a named volume there (issue 14).

On ``local`` the workspace is a folder of this host, bind-mounted. On any other engine it
is the volume ``vmuser-ws-<project id>`` on that engine, never a bind mount (a path of
this host means nothing there). vmuser reaches it through a small helper container that
mounts it (:class:`~vmuser_tui.core.runtime.engine_workspace.EngineWorkspace`): listing,
tar streams of changed files, restores and file edits all run there, so they work with
any session image and while no session runs. The first start on an engine fills the new
volume from the project's head checkpoint (one ``put_archive``), so a project can move
between engines carrying only its history.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vmuser_tui.core import ignore

if TYPE_CHECKING:  # pragma: no cover
    from vmuser_tui.core.context import Context
    from vmuser_tui.core.models import Project
    from vmuser_tui.core.runtime.engine_workspace import EngineWorkspace

UNPRIVILEGED_OWNER = "65534:65534"


def workspace(ctx: Context, project_id: str, engine: str, *, owner: str = "") -> EngineWorkspace:
    """The engine workspace of ``project_id`` on ``engine`` (nothing is created yet).
    ``owner`` ("uid:gid"): who files vmuser writes there belong to ("" = the configured
    ``[docker] user``, else 65534:65534, as the session containers there run)."""
    from vmuser_tui.core import container_user
    from vmuser_tui.core.runtime.engine_workspace import EngineWorkspace
    from vmuser_tui.core.runtime.images import FALLBACK_IMAGE

    if not owner:
        owner = container_user.for_engine(ctx.config.get("docker", "user"))[0].spec
    cfg = ctx.engines.config(engine)
    helper = (cfg.helper_image if cfg is not None else "") or FALLBACK_IMAGE
    return EngineWorkspace(ctx.engine_runtime(engine), project_id, helper_image=helper,
                           owner=owner)


def prepare(ctx: Context, project: Project, engine: str, *, owner: str) -> tuple[str, list[str]]:
    """Make sure the project's volume exists on ``engine`` (and its helper runs); a volume
    created now is filled from the head checkpoint. Returns ``(volume name, notes for the
    user)``. Raises RuntimeUnavailableError (engine down), StoreError (a blob missing)."""
    ws = workspace(ctx, project.id, engine, owner=owner)
    created = ws.ensure()
    if not created:
        return ws.volume, []
    if not project.head_checkpoint_id:
        return ws.volume, [f"workspace volume {ws.volume} created on engine {engine} (empty: no checkpoint yet)"]
    from vmuser_tui.core.store.engine_restore import materialize_engine

    row = ctx.db.query_one("SELECT root_tree FROM checkpoints WHERE id = ?", (project.head_checkpoint_id,))
    files = materialize_engine(ctx.store, ws, row["root_tree"]) if row else 0
    note = (f"workspace volume {ws.volume} created on engine {engine} and filled from checkpoint "
            f"{project.head_checkpoint_id} ({files} files)")
    return ws.volume, [note]


def ignore_rules(ws: EngineWorkspace, extra: list[str]) -> ignore.IgnoreRules:
    """The ignore rules of an engine workspace: ``extra`` plus its ``.vmuserignore``, read
    through the helper. Raises ConfigError for a malformed rule."""
    path = f"/workspace/{ignore.IGNORE_FILE}"
    script = f'if [ -f {path} ] && [ ! -L {path} ]; then head -c 1048576 {path}; fi'
    result = ws.exec(["sh", "-c", script])
    text = result.output.decode("utf-8", errors="replace") if result.exit_code == 0 else ""
    return ignore.parse(text, extra)
