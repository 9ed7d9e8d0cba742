"""``vmuser check``."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING

from vmuser_tui.cli.output import emit_json, terminal

if TYPE_CHECKING:  # pragma: no cover - annotations only: no import at run time
    from argparse import Namespace

    from vmuser_tui.core.service import Vmuser


SHOWN = 50  # damaged objects listed in the text report (--json lists all)


class _ProgressLine:
    """``checking blobs 1200/5000`` rewritten in place on a terminal's stderr, at most
    ten times a second; silent when stderr is not a terminal."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last = 0.0
        self.shown = False

    def __call__(self, phase: str, done: int, total: int) -> None:
        now = time.monotonic()
        if not self.tty or now - self.last < 0.1:
            return
        self.last = now
        count = f" {done}/{total}" if total else (f" {done}" if done else "")
        terminal(sys.stderr).write(f"\r\x1b[Kchecking {phase}{count}")  # vmuser's own sequence: not escaped
        sys.stderr.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            terminal(sys.stderr).write("\r\x1b[K")
            sys.stderr.flush()


def cmd_check(args: Namespace, vm: Vmuser) -> int:
    line = _ProgressLine()
    try:
        report = vm.check(progress=line)
    finally:
        line.clear()
    if args.json:
        emit_json(report.to_json())
        return 0 if report.ok else 1
    checked = (
        f"{report.blobs} blob(s) ({report.packs} pack(s)), {report.trees} tree(s), {report.checkpoints} checkpoint(s)"
    )
    if report.ok:
        print(f"no damage: the database, {checked} verified")
        return 0
    for d in report.damaged[:SHOWN]:
        ident = d.id[:12] if d.kind in ("blob", "tree") else d.id
        print(f"damaged {d.kind:<8} {ident:<12}  {d.problem}")
    if len(report.damaged) > SHOWN:
        print(f"... and {len(report.damaged) - SHOWN} more (vmuser check --json lists all)")
    if report.affected:
        print(f"affected checkpoints ({len(report.affected)} of {report.checkpoints}):")
        for a in report.affected:
            paths = ", ".join(a.paths[:5]) + (", ..." if len(a.paths) > 5 else "") or "-"
            print(f"  {a.id}  {a.project_id}  {a.kind}  {a.created_at[:19].replace('T', ' ')}  {paths}")
    n, m = len(report.damaged), len(report.affected)
    print(
        f"vmuser: error: {n} damaged object(s) in {vm.db_path}, {m} checkpoint(s) affected; "
        "see vmuser check --help for what to do",
        file=sys.stderr,
    )
    return 1
