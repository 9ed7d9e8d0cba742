"""``vmuser checkpoint ...``."""

from __future__ import annotations

import contextlib
import sys
from typing import Any

from vmuser_tui.cli.commands.checkpoint_edits import annotation_text, cmd_annotate, cmd_rm
from vmuser_tui.cli.output import (
    confirm,
    details,
    emit_json,
    human_size,
    need_terminal,
    one_line,
    progress,
    table,
)
from vmuser_tui.core import clock
from vmuser_tui.core.errors import Aborted, NotFoundError, UsageError

__all__ = ["cmd_annotate", "cmd_rm"]  # (and the cmd_* below): dispatch finds them here


def cmd_create(args, vm) -> int:
    with progress("capturing") as cb:
        outcome = vm.checkpoints.create(args.target, description=args.message, tags=args.tag, progress=cb,
                                        allow_empty=args.allow_empty)
    cp = outcome.checkpoint
    for path, why in outcome.skipped[:10]:
        print(f"vmuser: skipped {one_line(path)}: {why}", file=sys.stderr)
    for note in outcome.notes:  # e.g. "3 files vanished while the checkpoint was taken (left out)"
        print(f"vmuser: {note}", file=sys.stderr)
    if not outcome.created:
        print(f"vmuser: nothing changed since checkpoint {cp.id}; no new checkpoint", file=sys.stderr)
        if args.message:  # never drop typed text silently
            print(f"vmuser: description {one_line(args.message)!r} not recorded; --allow-empty takes a checkpoint "
                  "with it anyway", file=sys.stderr)
    else:
        print(f"vmuser: {cp.file_count} files, {human_size(cp.total_size)}; "
              f"{human_size(outcome.new_bytes)} new data stored", file=sys.stderr)
    print(cp.id)
    return 0


def cmd_list(args, vm) -> int:
    if args.search is not None:
        return _list_search(args, vm)
    cps = vm.checkpoints.list(args.target, tag=args.tag, annotation_tag=args.annotation_tag)
    if args.json:
        emit_json([c.to_json() for c in cps])
        return 0
    table(
        ["ID", "CREATED", "KIND", "SESSION", "FILES", "SIZE", "TAGS", "DESCRIPTION"],
        [[c.id, c.created_at[:19].replace("T", " "), c.kind, c.session_id or "-", c.file_count,
          human_size(c.total_size), ",".join(c.tags), c.description] for c in cps],
        empty="no checkpoints: vmuser checkpoint create PROJECT -m 'first'", fmt=args.format,
    )
    return 0


def _list_search(args, vm) -> int:
    """``checkpoint list --search WORDS``: best match first, with where it matched."""
    from vmuser_tui.core.search_query import with_marks

    matches = vm.checkpoints.search(args.target, args.search, tags=[args.tag] if args.tag else [],
                                    annotation_tag=args.annotation_tag)
    if args.json:
        emit_json([m.to_json() for m in matches])
        return 0
    table(
        ["ID", "CREATED", "KIND", "TAGS", "IN", "MATCH"],
        [[m.checkpoint.id, m.checkpoint.created_at[:19].replace("T", " "), m.checkpoint.kind,
          ",".join(m.checkpoint.tags), m.column, with_marks(m.snippet)] for m in matches],
        empty=f"no checkpoint matches {one_line(args.search)!r}", fmt=args.format,
    )
    return 0


def cmd_show(args, vm) -> int:
    c = vm.checkpoints.get(args.checkpoint)
    if args.json:
        emit_json(c.to_json())
        return 0
    details([
        ("id", c.id), ("project", c.project_id), ("session", c.session_id or "-"), ("parent", c.parent_id or "-"),
        ("kind", c.kind), ("created", f"{c.created_at} ({clock.ago(c.created_at)})"),
        ("description", c.description or "-"), ("tags", ", ".join(c.tags) or "-"),
        ("files", c.file_count), ("size", human_size(c.total_size)), ("tree", c.root_tree),
        ("annotations", "; ".join(annotation_text(a) for a in c.annotations) or "-"),
    ])
    return 0


def _stat_line(change) -> str:
    if change.binary:
        return "binary"
    if change.large:
        return "large"
    return f"+{change.additions} -{change.deletions}"


def cmd_diff(args, vm) -> int:
    try:
        result = vm.checkpoints.diff(args.from_ref, args.to_ref, paths=args.paths or None)
    except NotFoundError as exc:
        if args.to_ref and repr(args.to_ref) in str(exc):  # TO was not a checkpoint: maybe a path
            raise NotFoundError(f"{exc} (to limit the diff to a path, put it after --: "
                                f"vmuser checkpoint diff {args.from_ref} -- {args.to_ref})") from None
        raise
    # git's --exit-code: 1 when anything changed (errors exit 2: see cli.main)
    code = 1 if (args.exit_code or args.quiet) and result.changes else 0
    if args.quiet:
        return code
    if args.json:
        emit_json(result.to_json())
        return code
    if not result.changes:
        print(f"no changes between {result.from_id} and {result.to_id or 'the workspace'}", file=sys.stderr)
        return code
    if args.name_only or args.name_status:
        for c in result.changes:
            # one_line: a tab or line feed in a name is shown as an escape, so each line stays one path
            if not args.name_status:
                print(one_line(c.path))
            elif c.status == "R":  # exact renames only: git's R100 (100% similar)
                print(f"R100\t{one_line(c.old_path)}\t{one_line(c.path)}")
            else:
                print(f"{c.status}\t{one_line(c.path)}")
        return code
    if args.stat:
        width = max(len(c.label('->')) for c in result.changes)
        for c in result.changes:
            print(f" {c.status} {c.label('->'):<{width}} | {_stat_line(c)}")
        s = result.stat()
        print(f" {s['files']} file(s) changed, {s['additions']} insertion(s)(+), {s['deletions']} deletion(s)(-)")
        return code
    for c in result.changes:
        print(f"{c.status} {c.label('->')}")
        sys.stdout.write(vm.checkpoints.file_diff(result, c))
    return code


def _left_alone(paths: list[str]) -> str:
    """One line naming the ignored paths a restore leaves as they are."""
    n = len(paths)
    shown = ", ".join(one_line(p) for p in paths[:5]) + (f" and {n - 5} more" if n > 5 else "")
    return (f"{n} ignored path{'s are' if n != 1 else ' is'} left as {'they are' if n != 1 else 'it is'} "
            f"(.vmuserignore or [snapshots] ignore): {shown}")


def cmd_restore(args, vm) -> int:
    cp = vm.checkpoints.get(args.checkpoint)
    if not args.yes:
        # core refuses a container restore it cannot do (no image, or paths) before the prompt
        preview = vm.restores.preview(cp.id, paths=args.path or None, container=args.container)
        if not preview.changes and not args.container:
            print(f"the workspace already matches {cp.id}; nothing to restore", file=sys.stderr)
            return 0
        need_terminal()
        from vmuser_tui.core.restoring import restore_summary

        print(f"Restoring {cp.id} ({one_line(cp.description or cp.kind)}): {restore_summary(preview.changes)}",
              file=sys.stderr)
        for c in preview.changes[:15]:
            print(f"  {c.status} {c.label('->')}", file=sys.stderr)
        if len(preview.changes) > 15:
            print(f"  ... and {len(preview.changes) - 15} more", file=sys.stderr)
        if preview.left_alone:
            print(_left_alone(preview.left_alone), file=sys.stderr)
        print("A pre-restore checkpoint is taken first, so this can be undone.", file=sys.stderr)
        if args.container:
            print(f"The project's running container is replaced by one from {cp.image_id}.", file=sys.stderr)
        if not confirm("Restore?"):
            raise Aborted("not restored (confirm at the prompt, or pass --yes)")
    with progress("restoring") as cb:
        outcome = vm.restores.restore(cp.id, paths=args.path or None, progress=cb, container=args.container)
    r = outcome.result
    for note in outcome.notes:
        print(f"vmuser: {note}", file=sys.stderr)
    for path, why in r.refused:
        print(f"vmuser: refused {one_line(path)}: {why}", file=sys.stderr)
    for path in r.kept:
        print(f"vmuser: kept folder {one_line(path)}/: it holds files the checkpoint does not have (ignored ones, ones "
              "vmuser cannot take, or ones made during the restore)", file=sys.stderr)
    for path, why in r.failed:
        print(f"vmuser: not restored {one_line(path)}: {why}", file=sys.stderr)
    if outcome.left_alone:
        print(_left_alone(outcome.left_alone), file=sys.stderr)
    if outcome.changes or outcome.container is not None:
        print(f"restored {cp.id}: {outcome.summary()}; "
              f"undo with: vmuser checkpoint restore {outcome.pre_restore.id}")
    else:  # nothing to undo: the old hint named a restore that changes nothing
        print(f"restored {cp.id}: no paths change (the workspace already matched it)")
    if r.failed:
        print(f"vmuser: {len(r.failed)} path{'s' if len(r.failed) != 1 else ''} could not be restored (why is said "
              f"above); stop what changes the workspace, move away what is in the way, and restore {cp.id} again",
              file=sys.stderr)
        return 1
    if outcome.container_error is not None:  # the workspace restore stands; the error says what failed
        raise outcome.container_error
    if outcome.container is not None:
        for note in outcome.container.notes:
            print(f"vmuser: {note}", file=sys.stderr)
        print(f"container recreated from {cp.image_id}: session {outcome.container.session.id}")
    return 0


def cmd_tag(args, vm) -> int:
    if args.remove:
        cp = vm.checkpoints.tag(args.checkpoint, [], args.tags)
    else:
        cp = vm.checkpoints.tag(args.checkpoint, args.tags)
    print(f"{cp.id}: {', '.join(cp.tags) or '(no tags)'}")
    return 0


def _count(option: str, text: str) -> int:
    """A --keep-* count: a whole number from 0 to MAX_COUNT, or -1 / 'all' / 'unlimited'
    for every bucket. Raises UsageError (exit 2)."""
    from vmuser_tui.core.bounds import MAX_COUNT, clip

    if text.strip().lower() in ("all", "unlimited"):
        return -1
    try:
        value = int(text) if len(text) <= 40 else None  # int() refuses over 4300 digits
    except ValueError:
        value = None
    if value is None or not -1 <= value <= MAX_COUNT:
        raise UsageError(f"{option} needs a whole number from 0 to {MAX_COUNT} (or -1 for all), got {clip(text)!r}")
    return value


def _policy(args, vm):
    """The policy for this run: the --keep-* options if any is given (restic's way: the
    options are the whole policy), else the config's [retention]; --include-* on top."""
    from vmuser_tui.core.retention import COUNT_RULES, RetentionPolicy

    flags: dict[str, Any] = {f"include_{k}": getattr(args, f"include_{k}")
                             for k in ("manual", "pre_restore", "tagged", "annotated")}
    given: dict[str, Any] = {name: _count("--" + name.replace("_", "-"), getattr(args, name))
             for name, _ in COUNT_RULES if getattr(args, name) is not None}
    if args.keep_within is not None:
        from vmuser_tui.core.retention import parse_duration

        try:
            parse_duration(args.keep_within)
        except UsageError as exc:  # name the option, as the --keep-* counts do
            raise UsageError(f"--keep-within: {exc}") from None
        given["keep_within"] = args.keep_within
    if given:
        return RetentionPolicy(**given, **flags)
    return RetentionPolicy.from_config(vm.config, **flags)


def cmd_forget(args, vm) -> int:
    policy = _policy(args, vm)
    plan = vm.forget(args.project, policy, dry_run=True)
    if plan.forgotten and not args.dry_run and not args.yes:
        need_terminal()  # a script gets one error line, not a preview it cannot answer
        with contextlib.redirect_stdout(sys.stderr):  # the preview, as restore's, goes beside the prompt
            _forget_table(plan)
        print(f"{policy.describe()}: {_forget_summary(plan)}", file=sys.stderr)
        if not confirm(f"Forget {len(plan.forgotten)} checkpoint(s)?"):
            raise Aborted("nothing forgotten (confirm at the prompt, or pass --yes)")
        shown = True
    else:
        shown = False
    result = plan if args.dry_run else vm.forget(args.project, policy, only=[c.id for c in plan.forgotten])
    gc = None
    if args.prune and not args.dry_run:
        gc = vm.gc()
    if args.json:
        doc = result.to_json()
        doc["gc"] = None if gc is None else {"blobs": gc.blobs, "trees": gc.trees, "bytes": gc.bytes}
        emit_json(doc)
        return 0
    if not shown:
        _forget_table(result)
    if args.dry_run:
        print(f"{policy.describe()}: {_forget_summary(result)} (dry run: nothing changed)", file=sys.stderr)
        if args.prune:
            print("vmuser: --prune does nothing in a dry run", file=sys.stderr)
        return 0
    n = len(result.forgotten)
    if n:
        print(f"forgot {n} checkpoint(s) of {result.project_id}; {len(result.kept)} kept")
    else:
        print(f"nothing to forget: all {len(result.kept)} checkpoint(s) of {result.project_id} are kept")
    if gc is not None:
        print(f"gc: removed {gc.blobs} blob(s) and {gc.trees} tree(s), {human_size(gc.bytes)} freed")
    elif n:
        print("their data stays stored until: vmuser gc", file=sys.stderr)
    return 0


def _forget_summary(result) -> str:
    n, k = len(result.forgotten), len(result.kept)
    verb = "would forget" if result.dry_run else "forgetting"
    return f"{verb} {n} of {n + k} checkpoint(s), keeping {k}"


def _forget_table(result) -> None:
    rows = [(c, "keep", ", ".join(why)) for c, why in result.kept] + [(c, "forget", "") for c in result.forgotten]
    rows.sort(key=lambda r: r[0].created_at, reverse=True)
    table(["ID", "CREATED", "KIND", "ACTION", "REASONS", "DESCRIPTION"],
          [[c.id, c.created_at[:19].replace("T", " "), c.kind, action, why, c.description] for c, action, why in rows],
          empty="this project has no checkpoints")
