"""Projects: create (managed, in place, or imported), list, show, pin, extend, delete."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from vmuser_tui.core import clock, oplog, workspace_guard, workspace_orphans
from vmuser_tui.core.context import Context
from vmuser_tui.core.errors import AmbiguousError, LimitError, NotFoundError, UsageError, VmuserError
from vmuser_tui.core.ids import (  # validate_tag: with the other pure validators, for adapters too
    new_project_id,
    prefix_from_name,
    validate_prefix,
    validate_tag,
)
from vmuser_tui.core.models import Project

_LIST_SQL = """
SELECT p.*,
  (SELECT COUNT(*) FROM sessions s WHERE s.project_id = p.id) AS n_sessions,
  (SELECT COUNT(*) FROM sessions s WHERE s.project_id = p.id AND s.status IN ('running','paused')) AS n_running,
  (SELECT COUNT(*) FROM sessions s WHERE s.project_id = p.id AND s.status = 'paused') AS n_paused,
  (SELECT COUNT(*) FROM sessions s WHERE s.project_id = p.id AND s.status = 'unreachable') AS n_unreachable,
  (SELECT COUNT(*) FROM checkpoints c WHERE c.project_id = p.id) AS n_checkpoints
FROM projects p
"""

def validate_name(name: str) -> str:
    """A project's display name, stripped: 1-200 printable characters. Raises UsageError."""
    name = name.strip()
    if not name or len(name) > 200 or not name.isprintable():
        raise UsageError("a project name needs 1-200 printable characters")
    return name


class Projects:
    """Project operations. Every change writes its operation-log entry in the same transaction."""

    def __init__(self, ctx: Context):
        self.ctx = ctx

    @property
    def db(self):
        return self.ctx.db

    def _decorate(self, project: Project) -> Project:
        cleanup = self.ctx.config.values["cleanup"]
        if not project.pinned and cleanup["enabled"]:
            due = clock.parse(project.last_active_at) + timedelta(days=cleanup["after_days"])
            if project.keep_until:
                due = max(due, clock.parse(project.keep_until))
            project.cleanup_due_at = clock.iso(due)
        return project

    def resolve(self, ref: str) -> str:
        """A project id from, in this order: the full id, an exact name, a unique id prefix.

        An exact name wins over an id prefix, so ``web`` means the project named "web" even
        when another project's id starts with ``web``. Two projects with the name: an
        :class:`AmbiguousError` naming their ids.
        """
        try:
            return self.db.resolve("projects", ref, what="project", exact_only=True)
        except NotFoundError:
            pass
        rows = self.db.query("SELECT id FROM projects WHERE name = ? ORDER BY id LIMIT 6", (ref.strip(),))
        if len(rows) == 1:
            return rows[0]["id"]
        if len(rows) > 1:
            raise AmbiguousError(
                f"{len(rows)} projects are named {ref!r} ({', '.join(r['id'] for r in rows)}); use an id"
            )
        return self.db.resolve("projects", ref, what="project")

    def get(self, ref: str) -> Project:
        """The project ``ref`` names. Raises NotFoundError / AmbiguousError."""
        pid = self.resolve(ref)
        row = self.db.query_one(_LIST_SQL + " WHERE p.id = ?", (pid,))
        if row is None:
            raise NotFoundError(f"project {ref!r} was deleted")
        return self._decorate(Project.from_row(row))

    def workspace_dir(self, project: Project) -> Path:
        """The project's workspace directory. Raises :class:`NotFoundError` naming the
        project, the path and the fix when it is gone (deleted or moved outside vmuser), and
        StateError when a folder given with ``--workspace`` was replaced by a link to one
        vmuser refuses (:func:`workspace_guard.check_in_use`)."""
        ws = Path(project.workspace)
        if not ws.is_dir():
            raise NotFoundError(
                f"the workspace of project {project.id} is missing ({ws}); re-create it (mkdir -p {ws}) "
                f"and restore a checkpoint into it, or delete the project"
            )
        if not project.managed:  # (a managed one is vmuser's own folder, in the private data dir)
            def rows() -> list[tuple[str, str, str]]:
                return [(r["id"], r["name"], r["workspace"])
                        for r in self.db.query("SELECT id, name, workspace FROM projects")]

            workspace_guard.check_in_use(ws, self.ctx.data_dir, project.id, rows)
        return ws

    def list(self, *, tag: str | None = None, prefix: str | None = None) -> list[Project]:
        """All projects, most recently active first, optionally those with ``tag`` or whose
        id starts with ``prefix``."""
        where, params = [], []
        if tag:
            where.append("EXISTS (SELECT 1 FROM json_each(p.tags) WHERE value = ?)")
            params.append(tag)
        if prefix:
            where.append("p.id LIKE ? ESCAPE '\\'")
            params.append(prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
        sql = _LIST_SQL + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY p.last_active_at DESC"
        return [self._decorate(Project.from_row(r)) for r in self.db.query(sql, tuple(params))]

    def head_sizes(self) -> dict[str, int]:
        """Project id -> total bytes of its head checkpoint (projects without one are left
        out): one cheap figure of a project's size, one query for every project."""
        rows = self.db.query("SELECT p.id, c.total_size FROM projects p "
                             "JOIN checkpoints c ON c.id = p.head_checkpoint_id")
        return {r["id"]: r["total_size"] for r in rows}

    def create(
        self,
        name: str,
        *,
        prefix: str | None = None,
        workspace: str | Path | None = None,
        import_dir: str | Path | None = None,
        image: str | None = None,
        description: str = "",
        tags: Sequence[str] = (),
    ) -> Project:
        """Create a project and its workspace.

        Workspace: ``workspace`` uses an existing directory in place; ``import_dir`` copies
        a directory into a managed workspace; neither makes an empty managed one under
        ``<data dir>/workspaces/<id>``. Raises UsageError for bad names, prefixes, tags
        or directories and LimitError past ``[limits] max_projects``. An import is judged
        whole before anything is copied (:mod:`vmuser_tui.core.import_dir`): LimitError
        past ``max_file_size``, ``max_entries_per_dir`` or ``max_import_size``, UsageError
        for a fifo, socket or device, a name vmuser cannot store, or a symlink pointing
        outside (unless ``[limits] outside_symlinks = "store"``). ReadOnlyError for a
        read-only client.
        """
        self.ctx.access.check(None, what="create a project")
        name = validate_name(name)
        if workspace and import_dir:
            raise UsageError("give either a workspace to use in place or a directory to import (copy), not both")
        prefix = validate_prefix(prefix) if prefix is not None else prefix_from_name(name)
        tags = sorted({validate_tag(t) for t in tags})
        limit = self.ctx.config.get("limits", "max_projects")
        count = self.db.conn.execute("SELECT COUNT(*) FROM projects").fetchone()[0]
        if count >= limit:
            raise LimitError(f"this data directory holds {count} projects, the limit ([limits] max_projects); "
                             "delete some first")
        pid = new_project_id(prefix)
        while self.db.query_one("SELECT 1 FROM projects WHERE id = ?", (pid,)):
            pid = new_project_id(prefix)
        managed = workspace is None
        imported = None
        if workspace is not None:
            try:
                ws = Path(workspace).expanduser().resolve()
            except RuntimeError:  # pathlib's word for ELOOP
                raise UsageError(f"workspace {workspace} is a loop of symlinks; give a real folder") from None
            if not ws.is_dir():
                raise UsageError(f"workspace {workspace} is not a directory; create it first, or import a copy instead")
            # system folders, the data dir, nesting (see workspace_guard for refuse vs exclude)
            others = self.db.query("SELECT id, name, workspace FROM projects")
            ws = workspace_guard.check_workspace(workspace, self.ctx.data_dir,
                                                 [(r["id"], r["name"], r["workspace"]) for r in others])
        else:
            ws = self.ctx.workspaces_dir / pid
            if import_dir is not None:
                src = Path(import_dir).expanduser()
                if not src.is_dir():
                    raise UsageError(f"import directory {import_dir} is not a directory")
                workspace_guard.check_import_source(src, self.ctx.data_dir)  # its live vmuser.db and -wal
                from vmuser_tui.core import import_dir as imp

                limits = self.ctx.config.values["limits"]
                # judged whole before the first byte is written: a refused import leaves nothing
                imported = imp.plan_import(
                    src, max_file_size=limits["max_file_size"], max_entries_per_dir=limits["max_entries_per_dir"],
                    max_total=limits["max_import_size"], outside_symlinks=limits["outside_symlinks"])
                # under a name that says who copies, so a copy killed half-way is known
                # for an orphan (vmuser gc, start-up recovery: core/workspace_orphans.py)
                temp = self.ctx.workspaces_dir / workspace_orphans.temp_name(pid)
                imp.copy_import(src, temp, imported, max_file_size=limits["max_file_size"])
                workspace_orphans.finish(temp, ws)
            else:
                ws.mkdir(parents=True, exist_ok=False)
        now = clock.now_iso()
        try:
            with self.db.write() as conn:
                conn.execute(
                    "INSERT INTO projects(id, name, description, workspace, managed, image, tags, created_at, "
                    "updated_at, last_active_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (pid, name, description, str(ws), int(managed), image, json.dumps(tags), now, now, now),
                )
                extra: dict[str, Any] = {}
                if imported is not None:
                    extra["imported"] = {"files": len(imported.files), "bytes": imported.total_bytes,
                                         "symlinks_as_files": [rel for rel, _ in imported.as_files]}
                oplog.record(conn, "project.create", project_id=pid, name=name, workspace=str(ws),
                             managed=managed, imported_from=str(import_dir) if import_dir else None, tags=tags, **extra)
        except BaseException:
            if managed:
                import shutil

                shutil.rmtree(ws, ignore_errors=True)
            raise
        return self.get(pid)

    def _update(self, ref: str, operation: str, sql_set: str, params: tuple, **details) -> Project:
        pid = self.resolve(ref)
        self.ctx.access.check(pid, what=f"{operation.split('.')[-1]} this project")
        with self.db.write() as conn:
            conn.execute(f"UPDATE projects SET {sql_set}, updated_at = ? WHERE id = ?", (*params, clock.now_iso(), pid))
            oplog.record(conn, operation, project_id=pid, **details)
        return self.get(pid)

    def pin(self, ref: str, pinned: bool = True) -> Project:
        """Pin (never cleaned up) or unpin a project."""
        return self._update(ref, "project.pin" if pinned else "project.unpin", "pinned = ?", (int(pinned),))

    def extend(self, ref: str, days: int | None = None) -> Project:
        """Reset the idle-cleanup clock; with ``days``, also keep it at least that many days from now."""
        now = clock.now()
        if days is not None:
            if days < 1 or days > 3650:
                raise UsageError("--days must be between 1 and 3650")
            keep = clock.iso(now + timedelta(days=days))
            return self._update(ref, "project.extend", "last_active_at = ?, keep_until = ?", (clock.iso(now), keep),
                                days=days)
        return self._update(ref, "project.extend", "last_active_at = ?", (clock.iso(now),))

    def tag(self, ref: str, add: Sequence[str] = (), remove: Sequence[str] = ()) -> Project:
        """Add and remove project tags."""
        project = self.get(ref)
        tags = (set(project.tags) | {validate_tag(t) for t in add}) - set(remove)
        return self._update(ref, "project.tag", "tags = ?", (json.dumps(sorted(tags)),),
                            add=list(add), remove=list(remove))

    def update(
        self,
        ref: str,
        *,
        name: str | None = None,
        description: str | None = None,
        image: str | None = None,
        add_tags: Sequence[str] = (),
        remove_tags: Sequence[str] = (),
    ) -> Project:
        """Change a project's name, description, image (``""``: back to ``[docker] image``)
        and tags in one transaction and one ``project.update`` log entry listing the fields
        changed (old and new values). None leaves a field as it is. Raises UsageError for a
        bad name or tag, or when nothing would change (with what to pass);
        NotFoundError/AmbiguousError for ``ref``; ReadOnlyError for a read-only client."""
        project = self.get(ref)
        self.ctx.access.check(project.id, what="update this project")
        new: dict[str, object] = {}
        if name is not None and (name := validate_name(name)) != project.name:
            new["name"] = name
        if description is not None and description != project.description:
            new["description"] = description
        if image is not None and (image.strip() or None) != project.image:
            new["image"] = image.strip() or None
        tags = sorted((set(project.tags) | {validate_tag(t) for t in add_tags}) - set(remove_tags))
        if tags != sorted(project.tags):
            new["tags"] = tags
        if not new:
            raise UsageError(f"nothing to change in project {project.id}: give --name, --description, --image, "
                             "--add-tag or --remove-tag with a new value")
        old = {"name": project.name, "description": project.description, "image": project.image,
               "tags": sorted(project.tags)}
        columns = ", ".join(f"{k} = ?" for k in new)
        values = tuple(json.dumps(v) if k == "tags" else v for k, v in new.items())
        with self.db.write() as conn:
            conn.execute(f"UPDATE projects SET {columns}, updated_at = ? WHERE id = ?",
                         (*values, clock.now_iso(), project.id))
            oplog.record(conn, "project.update", project_id=project.id,
                         changed={k: {"from": old[k], "to": v} for k, v in new.items()})
        return self.get(project.id)

    def touch(self, conn, project_id: str) -> None:
        """Mark activity (inside a caller's transaction); resets the cleanup clock."""
        conn.execute("UPDATE projects SET last_active_at = ? WHERE id = ?", (clock.now_iso(), project_id))

    def delete(self, ref: str, *, sessions=None, reason: str = "") -> dict:
        """Delete a project: stop and remove its containers (every container and image on the
        engine labelled ``vmuser.project=<id>``, see :func:`lifecycle.purge_project`), its
        managed workspace, its rows, then unreachable objects. ``reason`` goes to the
        operation log (e.g. "idle cleanup"). Returns ``{"id", "images", "volumes", "containers",
        "workspace_removed", "gc"}``."""
        project = self.get(ref)
        self.ctx.access.check(project.id, what="delete this project")
        removed = 0
        engine: dict[str, list[str]] = {"containers": [], "images": [], "volumes": []}
        if sessions is not None:
            from vmuser_tui.core.lifecycle import purge_project

            removed = sessions.remove_containers(project.id)
            engine = purge_project(self.ctx, project.id)  # kept or stray containers, its images
            # other engines it ran on (issue 14): containers, its workspace volume and helper there
            others = {r["engine"] for r in self.db.query("SELECT DISTINCT engine FROM sessions WHERE project_id = ?",
                                                         (project.id,))} | {project.engine}
            for name in sorted(others - {"local"}):
                try:
                    there = purge_project(self.ctx, project.id, name)
                except VmuserError as exc:  # a dead host must not block the delete: say what stays there
                    engine.setdefault("left_on", []).append(f"{name}: {exc}")
                    continue
                for key in ("containers", "images", "volumes"):
                    engine[key] += there[key]
        with self.db.write() as conn:
            conn.execute("DELETE FROM stat_cache WHERE project_id = ?", (project.id,))
            conn.execute("DELETE FROM stat_dirs WHERE project_id = ?", (project.id,))
            conn.execute("DELETE FROM checkpoints WHERE project_id = ?", (project.id,))
            conn.execute("DELETE FROM sessions WHERE project_id = ?", (project.id,))
            conn.execute("DELETE FROM projects WHERE id = ?", (project.id,))
            oplog.record(conn, "project.delete", project_id=project.id, name=project.name,
                         workspace=project.workspace, managed=project.managed, containers=removed,
                         engine=engine, reason=reason or "requested")
        self.ctx.forget_live(project.id)
        workspace_removed = False
        if project.managed:
            import shutil

            shutil.rmtree(project.workspace, ignore_errors=True)
            workspace_removed = True
        from vmuser_tui.core.store.gc import collect

        result = collect(self.db, self.ctx.store)
        images = []
        if self.db.query_one("SELECT 1 FROM operation_log WHERE operation = 'checkpoint.image' AND project_id = ? "
                             "LIMIT 1", (project.id,)):
            from vmuser_tui.core import container_images

            images = container_images.prune(self.ctx)  # its checkpoints' container images
        images = sorted(set(images) | set(engine["images"]))
        removed = max(removed, len(engine["containers"]))
        return {"id": project.id, "images": images, "volumes": engine["volumes"], "containers": removed,
                "workspace_removed": workspace_removed,
                "gc": {"blobs": result.blobs, "trees": result.trees, "bytes": result.bytes}}
