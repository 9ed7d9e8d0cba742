"""``vmuser project ...``."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from vmuser_tui.cli.output import confirm, details, emit_json, need_terminal, table
from vmuser_tui.core import clock
from vmuser_tui.core.errors import Aborted

if TYPE_CHECKING:  # pragma: no cover - annotations only: no import at run time
    from argparse import Namespace

    from vmuser_tui.core.models import Project
    from vmuser_tui.core.service import Vmuser


def _due(project: Project) -> str:
    if project.pinned:
        return "pinned"
    if not project.cleanup_due_at:
        return "-"
    seconds = (clock.parse(project.cleanup_due_at) - clock.now()).total_seconds()
    return f"in {max(0, int(seconds // 86400))}d"


def cmd_create(args: Namespace, vm: Vmuser) -> int:
    project = vm.projects.create(
        args.name, prefix=args.prefix, workspace=args.workspace, import_dir=args.import_dir,
        image=args.image, description=args.description, tags=args.tag,
    )
    print(project.id)
    return 0


def cmd_list(args: Namespace, vm: Vmuser) -> int:
    projects = vm.projects.list(tag=args.tag, prefix=args.prefix)
    if args.json:
        emit_json([p.to_json() for p in projects])
        return 0
    table(
        ["ID", "NAME", "STATUS", "SESSIONS", "CHECKPOINTS", "LAST ACTIVE", "CLEANUP", "TAGS"],
        [[p.id, p.name, p.status, f"{p.running_sessions}/{p.sessions}", p.checkpoints,
          clock.ago(p.last_active_at), _due(p), ",".join(p.tags)] for p in projects],
        empty="no projects yet: vmuser project create NAME (or vmuser demo)", fmt=args.format,
    )
    return 0


def _show(project: Project, as_json: bool) -> None:
    if as_json:
        emit_json(project.to_json())
        return
    details([
        ("id", project.id), ("name", project.name), ("description", project.description),
        ("workspace", f"{project.workspace} ({'managed' if project.managed else 'in place'})"
         if project.engine == "local" else f"the volume vmuser-ws-{project.id} on engine {project.engine}"),
        ("engine", project.engine),
        ("image", project.image or "(default)"), ("status", project.status),
        ("sessions", f"{project.running_sessions} running / {project.sessions}"),
        ("checkpoints", project.checkpoints), ("head", project.head_checkpoint_id or "-"),
        ("pinned", "yes" if project.pinned else "no"), ("tags", ", ".join(project.tags) or "-"),
        ("created", project.created_at),
        ("last active", f"{project.last_active_at} ({clock.ago(project.last_active_at)})"),
        ("cleanup", "never (pinned)" if project.pinned else (project.cleanup_due_at or "disabled")),
    ])


def cmd_show(args: Namespace, vm: Vmuser) -> int:
    _show(vm.projects.get(args.project), args.json)
    return 0


def cmd_pin(args: Namespace, vm: Vmuser) -> int:
    _show(vm.projects.pin(args.project, True), args.json)
    return 0


def cmd_unpin(args: Namespace, vm: Vmuser) -> int:
    _show(vm.projects.pin(args.project, False), args.json)
    return 0


def cmd_update(args: Namespace, vm: Vmuser) -> int:
    _show(vm.projects.update(args.project, name=args.name, description=args.description, image=args.image,
                             add_tags=args.add_tag, remove_tags=args.remove_tag), args.json)
    return 0


def cmd_extend(args: Namespace, vm: Vmuser) -> int:
    project = vm.projects.extend(args.project, args.days)
    print(f"{project.id}: cleanup clock reset; due {project.cleanup_due_at or 'never'}")
    return 0


def cmd_delete(args: Namespace, vm: Vmuser) -> int:
    project = vm.projects.get(args.project)
    if not args.yes:
        need_terminal()
        lost = [f"{project.checkpoints} checkpoint(s)", f"{project.sessions} session(s) and their containers"]
        if project.managed:
            lost.append(f"the workspace {project.workspace}")
        print(f"Deleting {project.id} ({project.name}) removes: " + ", ".join(lost) + ".", file=sys.stderr)
        if not confirm("Delete it?"):
            raise Aborted("not deleted (confirm at the prompt, or pass --yes)")
    result = vm.projects.delete(project.id, sessions=vm.sessions)
    images = f"{len(result['images'])} image(s) removed, " if result.get("images") else ""
    volumes = f"{len(result['volumes'])} volume(s) removed, " if result.get("volumes") else ""
    print(f"deleted {result['id']}: {result['containers']} container(s) removed, {images}{volumes}"
          f"{'workspace removed, ' if result['workspace_removed'] else ''}"
          f"{result['gc']['bytes']:,} bytes of stored data freed")
    return 0


# export and import live in their own module (one job each); dispatch finds them here.
from vmuser_tui.cli.commands.transfer import cmd_export, cmd_import  # noqa: E402,F401
