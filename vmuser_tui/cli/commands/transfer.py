"""``vmuser project export`` and ``vmuser project import``: a project as one file.

Both print one line per phase on stderr when it is a terminal (silent when piped), then a
summary (or with ``--json`` one document for scripts). The work is in
:mod:`vmuser_tui.core.export` and :mod:`vmuser_tui.core.import_project`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from vmuser_tui.cli.output import emit_json, human_size

if TYPE_CHECKING:  # pragma: no cover - annotations only: no import at run time
    from argparse import Namespace

    from vmuser_tui.core.service import Vmuser

EXPORT_EPILOG = """\
examples:
  vmuser project export web -o web.vmuser                 everything: all checkpoints, log, content
  vmuser project export web -o web.vmuser --since 7d      only checkpoints of the last week
  vmuser project export web -o v1.vmuser --checkpoint 1c0e --checkpoint 77ab
  vmuser project export web -o web.vmuser --force --json  replace the file; print counts as JSON

The file is one SQLite database: the project, its checkpoints (tags, annotations), their
trees and file content, and the project's operation log, with a header (format, vmuser
version, time, host, counts, digest). Content other projects share is included once.
Sessions and container images stay on this host. Bring it in with: vmuser project import FILE
"""

IMPORT_EPILOG = """\
examples:
  vmuser project import web.vmuser                 same project id; refused if it is here already
  vmuser project import web.vmuser --as-new        a copy under new ids (name suffixed if taken)
  vmuser project import web.vmuser --name web-review --as-new --json

Everything in the file is verified before anything is written: SQLite's integrity check, the
header's counts and digest, every file's content against its hash, every tree (no '/', '..',
NUL or duplicate names, no missing objects, sizes that match, [limits]). A refused file leaves
nothing behind. The workspace is restored from the project's head checkpoint (or its newest).
"""


def _say(args: Namespace) -> Callable[[str], None]:
    """One stderr line per phase on a terminal, nothing when piped (scripts read --json)."""
    if not sys.stderr.isatty():
        return lambda line: None
    return lambda line: print(f"vmuser: {line}", file=sys.stderr, flush=True)


def cmd_export(args: Namespace, vm: Vmuser) -> int:
    from vmuser_tui.core.errors import UsageError

    if args.output in ("-", "") or not args.output.strip():  # `-o -` made a file named '-' in the current folder
        raise UsageError(f"-o {args.output!r}: give the name of the file to write, e.g. -o {args.project}.vmuser "
                         "(the export is an SQLite file: it cannot go to standard output)")
    result = vm.export_project(args.project, args.output, since=args.since, checkpoints=args.checkpoint,
                               force=bool(getattr(args, "force", False)), say=_say(args))
    if args.json:
        emit_json(result.to_json())
        return 0
    print(f"exported {result.project_id} to {result.path}: {result.checkpoints:,} checkpoint(s), "
          f"{result.blobs:,} blob(s) ({human_size(result.content_bytes)} of content), {result.log_entries:,} log "
          f"entries; {human_size(result.bytes)} in {result.seconds:.2f} s")
    return 0


def cmd_import(args: Namespace, vm: Vmuser) -> int:
    result = vm.import_project(args.file, name=args.name, as_new=args.as_new, say=_say(args))
    if args.json:
        emit_json(result.to_json())
        return 0
    copy = f" (a copy of {result.source_project_id})" if result.as_new else ""
    print(f"imported {result.project_id} ({result.name}){copy}: {result.checkpoints:,} checkpoint(s), "
          f"{result.blobs_new:,} new blob(s), {result.blobs_shared:,} already stored; workspace "
          f"{result.workspace} restored from {result.restored_from}")
    for note in result.notes:
        print(f"vmuser: {note}", file=sys.stderr)
    return 0
