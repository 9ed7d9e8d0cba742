"""``vmuser checkpoint rm`` and ``vmuser checkpoint annotate`` (issue 13, "the edits users
miss"). Dispatched through :mod:`vmuser_tui.cli.commands.checkpoints` (the ``checkpoint``
group's module), which re-exports the handlers."""

from __future__ import annotations

import contextlib
import sys
from typing import TYPE_CHECKING

from vmuser_tui.cli.output import confirm, emit_json, need_terminal, one_line, table
from vmuser_tui.core.errors import Aborted

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from argparse import Namespace

    from vmuser_tui.core.checkpoint_rm import RemoveResult
    from vmuser_tui.core.service import Vmuser


def annotation_text(note: dict) -> str:
    """``label [tag1,tag2]: note`` (the parts it has), for ``checkpoint show``."""
    text = str(note.get("label", ""))
    if note.get("tags"):
        text += f" [{','.join(note['tags'])}]"
    if note.get("note"):
        text += f": {note['note']}"
    return text


def cmd_annotate(args: Namespace, vm: Vmuser) -> int:
    if args.remove is not None:
        cp = vm.checkpoints.remove_annotation(args.checkpoint, args.remove)
        done = f"{cp.id}: annotation {one_line(args.remove)!r} removed"
    else:
        cp = vm.checkpoints.annotate(args.checkpoint, args.label, args.note, args.tag)
        done = f"{cp.id}: annotated {one_line(args.label.strip())!r}"
    if args.json:
        emit_json(cp.to_json())
        return 0
    print(done)
    return 0


def _describe_removal(plan: RemoveResult, heads: dict[str, str]) -> None:
    """The preview (on stderr, beside the prompt): what goes, what re-parents, where the head moves."""
    with contextlib.redirect_stdout(sys.stderr):
        table(["ID", "CREATED", "KIND", "DESCRIPTION"],
              [[c.id + (" (head)" if c.id in heads.values() else ""), c.created_at[:19].replace("T", " "), c.kind,
                c.description] for c in plan.removed])
    for child, parent in plan.reparented.items():
        print(f"  {child} re-parents to {parent or '(none: it becomes a root)'}", file=sys.stderr)
    for project, head in plan.heads.items():
        print(f"  project {project}: the head moves to {head or '(none)'}", file=sys.stderr)


def cmd_rm(args: Namespace, vm: Vmuser) -> int:
    force = bool(getattr(args, "force", False))
    # every id resolved and every rule checked before the question (core: nothing half done)
    plan = vm.checkpoints.remove(args.checkpoints, force=force, dry_run=True)
    if not args.yes:
        need_terminal()
        old_heads = {c.project_id: c.id for c in plan.removed if c.project_id in plan.heads}
        _describe_removal(plan, old_heads)
        print("Their stored data stays until `vmuser gc` frees it.", file=sys.stderr)
        if not confirm(f"Remove {len(plan.removed)} checkpoint(s)?"):
            raise Aborted("nothing removed (confirm at the prompt, or pass --yes)")
    result = vm.checkpoints.remove(plan.ids, force=force)
    if args.json:
        emit_json(result.to_json())
        return 0
    print(f"removed {len(result.removed)} checkpoint(s): {', '.join(result.ids)}")
    for child, parent in result.reparented.items():
        print(f"{child} re-parented to {parent or '(none: now a root)'}")
    for project, head in result.heads.items():
        print(f"project {project}: head moved to {head or '(none)'}")
    print("their data stays stored until: vmuser gc", file=sys.stderr)
    return 0

