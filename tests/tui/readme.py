"""README's generated blocks: the key table and the 80x24 screen captures.

Each block sits between ``<!-- generated: NAME ... -->`` and ``<!-- end generated: NAME -->``
in README.md and is made here, so README cannot drift from the screens:

- ``keys``: :func:`vmuser_tui.tui.readme_keys.key_table` (the bindings of every screen);
- ``captures``: the demo project of the snapshot tests' world (tests/tui/world.py: fixed
  ids, frozen clock) at 80x24, its oldest checkpoint marked, then ``D`` diffing it
  against the newest: the text a Pilot run puts on the screen.

Regenerate after a change to keys or screens (one command, from the repository root)::

    PYTHONPATH=$PWD python -m tests.tui.readme          # rewrites README.md
    PYTHONPATH=$PWD python -m tests.tui.readme --check  # exit 1 when README differs

``tests/tui/test_i12_app_readme.py`` fails when README differs from what this makes.
"""

from __future__ import annotations

import asyncio
import fcntl
import io
import re
import shutil
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
#: The captures' data dir: its path shows on the project screen ("workspace ..."), so fixed.
DATA_DIR = Path("/tmp/readme-demo")
SIZE = (80, 24)
BLOCK = re.compile(r"(<!-- generated: (?P<name>[a-z]+)[^\n]*-->\n)(?P<body>.*?)(<!-- end generated: (?P=name) -->)",
                   re.DOTALL)


def screen_text(app) -> list[str]:
    """The lines the terminal shows (no colours), trailing blanks cut; a run of three or
    more identical blank-looking lines (empty, or only a pane's edge) becomes one ``⋮`` line."""
    from rich.console import Console

    console = Console(width=app.size.width, height=app.size.height, file=io.StringIO(), force_terminal=True,
                      color_system=None, record=True, legacy_windows=False, safe_box=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    lines = [line.rstrip() for line in console.export_text().splitlines()]
    out: list[str] = []
    i = 0
    while i < len(lines):
        j = i
        while j < len(lines) and lines[j] == lines[i]:
            j += 1
        if j - i >= 3 and not lines[i].strip(" ▕│"):
            edge = len(lines[i]) - 1 if lines[i].strip() else 2
            out.append(" " * edge + "⋮")
        else:
            out.extend(lines[i:j])
        i = j
    return out


async def _captures() -> str:
    import pytest

    from vmuser_tui.core.service import Vmuser

    from .conftest import make_app, settle
    from .world import build_world

    shutil.rmtree(DATA_DIR, ignore_errors=True)
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.delenv("VMUSER_CONFIG", raising=False)
        vm = Vmuser.open(data_dir=str(DATA_DIR), config_path=DATA_DIR / "no-config.toml")
        try:
            build_world(vm, monkeypatch)
            app = make_app(vm)
            async with app.run_test(size=SIZE) as pilot:
                await settle(pilot)
                await pilot.press("enter")  # the demo project (newest first)
                await settle(pilot)
                await pilot.press("down", "down", "space", "up", "up")  # mark the oldest checkpoint
                await settle(pilot)
                project = screen_text(app)
                await pilot.press("D")
                await settle(pilot)
                diff = screen_text(app)
        finally:
            vm.close()
            shutil.rmtree(DATA_DIR, ignore_errors=True)
    return "```\n" + "\n".join(project) + "\n\n" + "\n".join(diff) + "\n```\n"


def captures() -> str:
    """The ``captures`` block: a fenced text block with both screens (one run at a time:
    the data dir is fixed)."""
    with open(f"{DATA_DIR}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return asyncio.run(_captures())


def blocks() -> dict[str, str]:
    from vmuser_tui.tui.readme_keys import key_table

    return {"keys": key_table(), "captures": captures()}


def regenerate(text: str, made: dict[str, str] | None = None) -> str:
    """``text`` (README) with each generated block replaced; KeyError for a block this
    module does not make."""
    made = blocks() if made is None else made
    return BLOCK.sub(lambda m: m.group(1) + made[m.group("name")] + m.group(4), text)


def main(argv: list[str]) -> int:
    text = README.read_text(encoding="utf-8")
    new = regenerate(text)
    if "--check" in argv:
        if new != text:
            print(f"{README} differs from the screens: run python -m tests.tui.readme", file=sys.stderr)
            return 1
        return 0
    if new != text:
        README.write_text(new, encoding="utf-8")
        print(f"rewrote {README}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
