"""Printing for the CLI: tables (rich, docker-ps style), JSON, sizes, progress, prompts.

rich is imported only when a table or progress line is printed, so ``vmuser --help``
stays fast.

Every text line the CLI writes is safe for a terminal (issue 11, case 12): see
:mod:`vmuser_tui.cli.terminal` for the filter on ``sys.stdout``/``sys.stderr``; table
cells, ``key: value`` details and names in one-line messages are also kept on one line
(:func:`one_line`).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from vmuser_tui.cli.terminal import terminal  # noqa: F401 (re-exported for commands)
from vmuser_tui.core.text import printable
from vmuser_tui.core.units import human_size  # noqa: F401 (re-exported for commands)

one_line = printable  # a value inside a one-line message: a name, a description, an error


def emit_json(doc: Any) -> None:
    """Print one JSON document (lists are arrays of objects keyed like the table columns).
    Indented on a terminal; compact when piped, where CPython's C encoder does it (the
    indenting encoder is pure Python: 10x slower on a 10,000-checkpoint timeline)."""
    indent = 2 if sys.stdout.isatty() else None
    sys.stdout.write(json.dumps(doc, indent=indent, default=str))
    sys.stdout.write("\n")


def table(columns: list[str], rows: list[list], *, empty: str = "nothing to show", fmt: str = "table") -> None:
    """Print rows under column headings, docker-ps style: every column at its natural
    width, one line per row. On a terminal each line is cut at its right edge with "…"
    (as ``less -S`` does), so ids on the left are always whole; piped output is never cut.
    ``empty`` goes to stderr when there are no rows. ``fmt="csv"``: the same columns and
    cells as CSV (stdlib csv, RFC 4180 quoting), header row first, even with no rows.
    """
    if fmt == "csv":
        _csv(columns, rows)
        return
    if not rows:
        print(empty, file=sys.stderr)
        return
    from rich.cells import cell_len, set_cell_size

    cells = [[("" if v is None else printable(v)) for v in r] for r in [columns, *rows]]
    widths = [max(cell_len(r[i]) for r in cells) for i in range(len(columns))]
    tty = sys.stdout.isatty()
    if tty:  # (imported here: shutil pulls in bz2 and lzma, which a piped listing does not need)
        import shutil

        limit: int | None = shutil.get_terminal_size((10_000, 24)).columns
    else:
        limit = None
    bold = tty and not os.environ.get("NO_COLOR")
    for n, r in enumerate(cells):
        # every row has one value per column (the widths above index each row by column)
        line = "  ".join(set_cell_size(v, w) for v, w in zip(r, widths, strict=True)).rstrip()
        if limit is not None and cell_len(line) > limit:
            line = set_cell_size(line, limit - 1) + "…"
        if bold and n == 0:
            terminal(sys.stdout).write(f"\x1b[1m{line}\x1b[0m\n")
        else:
            print(line)


def _csv(columns: list[str], rows: list[list]) -> None:
    """CSV for spreadsheets and ``csvkit``: never cut, no padding, None as an empty cell.
    Control characters in a cell are still shown as escapes by the terminal filter
    (line feeds inside a quoted cell stay line feeds, as CSV allows)."""
    import csv

    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([["" if v is None else v for v in r] for r in rows])


def details(pairs: list[tuple[str, object]]) -> None:
    """Print ``key: value`` lines aligned."""
    width = max(len(k) for k, _ in pairs)
    for k, v in pairs:
        print(f"{k + ':':<{width + 1}} {'' if v is None else printable(v)}")


def need_terminal() -> None:
    """Raise :class:`Aborted` (pass ``--yes``) when standard input is not a terminal, so
    that no one can answer a confirmation: called before printing what would change, so
    a script sees one error line, not a preview followed by one."""
    if not sys.stdin.isatty():
        from vmuser_tui.core.errors import Aborted

        raise Aborted("not confirmed: standard input is not a terminal; pass --yes to go ahead")


def confirm(question: str) -> bool:
    """Ask yes/no on the terminal. Without one (piped, cron), raises :class:`Aborted`
    saying to pass ``--yes``: a piped "y" is too easy to send by accident."""
    need_terminal()
    try:
        answer = input(f"{printable(question)} [y/N] ")  # input() may write its prompt past sys.stdout
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


@contextmanager
def progress(label: str) -> Iterator[Callable[[int, int, int, int], None] | None]:
    """A rich progress line on a terminal (silent when stderr is piped). Yields a callback
    ``cb(files_done, files_total, bytes_done, bytes_total)``."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
    )

    with Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), DownloadColumn(),
                  console=Console(file=terminal(sys.stderr)), transient=True) as bar:
        task = bar.add_task(label, total=None)

        def cb(files_done: int, files_total: int, bytes_done: int, bytes_total: int) -> None:
            bar.update(task, completed=bytes_done, total=bytes_total or None)

        yield cb
