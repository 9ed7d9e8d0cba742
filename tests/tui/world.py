"""A deterministic vmuser database for the TUI tests: fixed ids, fixed times, real files.

Ids are made predictable by replacing the id generators the service layer calls
(``new_project_id``, ``new_short_id``) for the duration of a test; times by setting
``VMUSER_FROZEN_TIME`` before each step. Everything else is the real service layer on
a real SQLite file and real workspace directories.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

from vmuser_tui.core.service import Vmuser

NOW = "2026-11-21T12:00:00Z"  # the frozen "now" the app runs at

# The files of the demo project at each checkpoint (path -> bytes).
FILES_1 = {
    "README.md": b"# demo\n\nA sample workspace for the TUI tests.\n",
    "src/app.py": b'"""The app."""\n\nfrom src import util\n\n\ndef main():\n    return util.greet("world")\n',
    "src/util.py": b'def greet(name):\n    return f"hello {name}"\n',
    "docs/guide.md": b"# Guide\n\nRead me first.\n",
    "data.bin": bytes(range(256)) * 4,
}
FILES_2 = {
    "README.md": FILES_1["README.md"] + b"\nEdited in the second checkpoint.\n",
    "NOTES.md": b"# Notes\n\n- try a restore\n- then undo it with u\n",
    "src/app.py": FILES_1["src/app.py"],
    "src/helpers.py": FILES_1["src/util.py"],  # renamed from src/util.py
    "data.bin": FILES_1["data.bin"],
}
FILES_3 = {
    **FILES_2,
    "src/app.py": FILES_1["src/app.py"] + b'\n\nif __name__ == "__main__":\n    print(main())\n',
    "build/STATUS": b"ok\n",
    "data.bin": bytes(range(255, -1, -1)) * 4,  # a binary change
}


@dataclass
class World:
    vm: Vmuser
    demo: str
    web: str
    scratch: str
    checkpoints: list[str] = field(default_factory=list)  # oldest first
    session: str = ""

    @property
    def workspace(self) -> Path:
        return Path(self.vm.projects.get(self.demo).workspace)


def fixed_ids(monkeypatch) -> None:
    """Project ids ``<prefix>-0000000N``, checkpoint ids ``c00000000N``, session ids ``5e5500000N``."""
    projects = itertools.count(1)
    checkpoints = itertools.count(1)
    sessions = itertools.count(1)
    monkeypatch.setattr("vmuser_tui.core.projects.new_project_id", lambda prefix: f"{prefix}-{next(projects):08x}")
    monkeypatch.setattr("vmuser_tui.core.checkpoints.new_short_id", lambda length=10: f"c{next(checkpoints):09d}")
    monkeypatch.setattr("vmuser_tui.core.ids.new_short_id", lambda length=10: f"5e55{next(sessions):06d}")


def write_tree(root: Path, files: dict[str, bytes]) -> None:
    """Make ``root`` hold exactly ``files`` (extra files and empty directories removed)."""
    for path in sorted(root.rglob("*"), reverse=True):
        rel = path.relative_to(root).as_posix()
        if rel == ".vmuser" or rel.startswith(".vmuser/"):
            continue
        if path.is_file() and rel not in files:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    for rel, data in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def read_tree(root: Path) -> dict[str, bytes]:
    out = {}
    for path in root.rglob("*"):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and not rel.startswith(".vmuser"):
            out[rel] = path.read_bytes()
    return out


def build_world(vm: Vmuser, monkeypatch) -> World:
    """Three projects; ``demo`` has three checkpoints and a workspace-only session."""
    fixed_ids(monkeypatch)

    def at(ts: str) -> None:
        monkeypatch.setenv("VMUSER_FROZEN_TIME", ts)

    at("2026-11-16T08:00:00Z")
    scratch = vm.projects.create("scratch", description="Throwaway experiments", tags=["tmp"]).id
    at("2026-11-19T10:00:00Z")
    web = vm.projects.create("web-app", description="The customer-facing web application",
                             tags=["web", "prod"]).id
    vm.projects.pin(web, True)

    at("2026-11-21T08:00:00Z")
    demo = vm.projects.create("demo", description="Sample project with three checkpoints", tags=["demo"]).id
    world = World(vm, demo, web, scratch)
    write_tree(world.workspace, FILES_1)
    at("2026-11-21T08:05:00Z")
    world.checkpoints.append(
        vm.checkpoints.create(demo, description="Import sample code", tags=["import"]).checkpoint.id)

    at("2026-11-21T09:30:00Z")
    write_tree(world.workspace, FILES_2)
    world.checkpoints.append(vm.checkpoints.create(
        demo, description="Add notes, rename util.py, drop the guide", tags=["edit"]).checkpoint.id)

    at("2026-11-21T11:00:00Z")
    world.session = vm.sessions.start(demo, runtime="none").session.id
    at("2026-11-21T11:40:00Z")
    write_tree(world.workspace, FILES_3)
    world.checkpoints.append(
        vm.checkpoints.create(world.session, description="Build output", tags=["build"]).checkpoint.id)
    at(NOW)
    return world
