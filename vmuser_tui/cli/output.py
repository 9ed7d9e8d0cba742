"""Printing for the CLI: tables (rich, docker-ps style), JSON, sizes, progress, prompts.

rich is imported only when a table or progress line is printed, so ``vmuser --help``
stays fast.
"""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager

from vmuser_tui.core.units import human_size  # noqa: F401 (re-exported for commands)


def emit_json(doc) -> None:
    """Print one JSON document (lists are arrays of objects keyed like the table columns)."""
    json.dump(doc, sys.stdout, indent=2, sort_keys=False, default=str)
    sys.stdout.write("\n")


def table(columns: list[str], rows: list[list], *, empty: str = "nothing to show") -> None:
    """Print rows under column headings, no box, as docker ps does; ``empty`` when no rows."""
    if not rows:
        print(empty, file=sys.stderr)
        return
    from rich.console import Console
    from rich.table import Table

    t = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    for c in columns:
        t.add_column(c, overflow="fold")
    for r in rows:
        t.add_row(*["" if v is None else str(v) for v in r])
    Console(soft_wrap=False, width=None if sys.stdout.isatty() else 200).print(t)


def details(pairs: list[tuple[str, object]]) -> None:
    """Print ``key: value`` lines aligned."""
    width = max(len(k) for k, _ in pairs)
    for k, v in pairs:
        print(f"{k + ':':<{width + 1}} {'' if v is None else v}")


def confirm(question: str) -> bool:
    """Ask yes/no on the terminal. Without a terminal, refuses (scripts pass --yes)."""
    if not sys.stdin.isatty():
        return False
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


@contextmanager
def progress(label: str):
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
                  console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=None)

        def cb(files_done: int, files_total: int, bytes_done: int, bytes_total: int) -> None:
            bar.update(task, completed=bytes_done, total=bytes_total or None)

        yield cb
