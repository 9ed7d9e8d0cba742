"""The Textual adapter: ``vmuser`` with no arguments opens it.

Importing this package stays cheap; Textual is imported only when :func:`run_tui` runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from vmuser_tui.core.service import Vmuser


def run_tui(vm: Vmuser, *, read_only: bool = False, open_project: str | None = None) -> None:
    """Run the TUI on an opened :class:`~vmuser_tui.core.service.Vmuser` until the user quits."""
    from vmuser_tui.tui.app import run_tui as _run

    _run(vm, read_only=read_only, open_project=open_project)


__all__ = ["run_tui"]
