"""The demo project: real files, a real container where Docker is reachable, real checkpoints.

Built once per data directory (its id is remembered in ``system_config``). The sample
workspace is a copy of vmuser's own Python source, a real directory that exists wherever
vmuser is installed; three checkpoints with different content give the timeline, a diff
and a restore something to show.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from vmuser_tui.core import clock
from vmuser_tui.core.errors import NotFoundError, VmuserError

DEMO_KEY = "demo_project_id"


@dataclass
class DemoOutcome:
    """The demo project id, whether it was just built, and lines telling the user what happened."""

    project_id: str
    created: bool
    notes: list[str] = field(default_factory=list)


def _source_dir() -> Path:
    import vmuser_tui

    return Path(vmuser_tui.__file__).parent


def _remembered(vm) -> str | None:
    row = vm.db.query_one("SELECT value FROM system_config WHERE key = ?", (DEMO_KEY,))
    if not row:
        return None
    try:
        return vm.projects.resolve(row["value"])
    except NotFoundError:
        return None


def ensure_demo(vm, *, say=lambda line: None) -> DemoOutcome:
    """Return the demo project, building it first if this data directory has none.

    ``say(line)`` reports progress. When the demo exists but has no running session and
    Docker is reachable, a new session is started so the operator has a live container.
    """
    existing = _remembered(vm)
    if existing:
        return DemoOutcome(existing, False, _ensure_session(vm, existing, say))
    notes: list[str] = []
    say("building the demo project from vmuser's own source...")
    project = vm.projects.create(
        "demo", prefix="demo", description="Sample project: vmuser's own source, with a few checkpoints",
        tags=["demo"],
    )
    ws = Path(project.workspace)
    shutil.copytree(
        _source_dir(), ws / "src", dirs_exist_ok=True,
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "styles"),
    )
    (ws / "README.md").write_text(
        "# demo\n\nA sample workspace made by `vmuser demo` from vmuser's own source.\n"
        "Try: diff two checkpoints (space, then D), restore one (r), browse files (f).\n"
    )
    first = vm.checkpoints.create(project.id, description="Import vmuser's source as sample code", tags=["import"])
    say(f"checkpoint {first.checkpoint.id}: {first.checkpoint.file_count} files")
    # Second state: an edit, a new file, a rename and a deletion, made through the VFS.
    vm.fs.write(project.id, "NOTES.md", b"# Notes\n\n- try a restore\n- then undo it with u\n")
    readme = vm.fs.read(project.id, "README.md")
    vm.fs.write(project.id, "README.md", readme + b"\nEdited in the second checkpoint.\n")
    vm.fs.mv(project.id, "src/core/clock.py", "src/core/timekeeping.py")
    vm.fs.rm(project.id, "src/__main__.py")
    second = vm.checkpoints.create(project.id, description="Add notes, rename clock.py, drop __main__.py",
                                   tags=["edit"])
    say(f"checkpoint {second.checkpoint.id}: notes and a rename")
    notes += _ensure_session(vm, project.id, say, build=True)
    with vm.db.write() as conn:
        conn.execute(
            "INSERT OR REPLACE INTO system_config(key, value, updated_at) VALUES (?,?,?)",
            (DEMO_KEY, project.id, clock.now_iso()),
        )
    return DemoOutcome(project.id, True, notes)


def _ensure_session(vm, project_id: str, say, *, build: bool = False) -> list[str]:
    """Start a session on the demo (Docker if reachable, else workspace-only); with
    ``build``, run a real command in it and checkpoint the result."""
    notes: list[str] = []
    running = [s for s in vm.sessions.list(project_id) if s.status == "running"]
    if running and not build:
        return notes
    reachable, why = vm.docker_status()
    if reachable:
        say("starting a Docker session (the first time may build a small local image)...")
        try:
            outcome = vm.sessions.start(project_id, runtime="docker")
            notes += outcome.notes
            session = outcome.session
            notes.append(f"demo session {session.id} runs in container {session.container_name} ({session.image})")
        except VmuserError as exc:
            notes.append(f"Docker session failed ({exc}); using a workspace-only session instead")
            session = vm.sessions.start(project_id, runtime="none").session
    else:
        notes.append(f"{why} — the demo uses a workspace-only session (runtime none)")
        session = vm.sessions.start(project_id, runtime="none").session
    if build:
        if session.runtime == "docker":
            result = vm.sessions.exec(
                session.id,
                ["sh", "-c", ("mkdir -p build && find src -name '*.py' | sort > build/manifest.txt && "
                               "wc -l < build/manifest.txt > build/COUNT && echo ok > build/STATUS")],
            )
            if result.exit_code != 0:
                output = result.output.decode(errors="replace")[:200]
                notes.append(f"demo build command exited {result.exit_code}: {output}")
            desc = "Build manifest inside the container"
        else:
            listing = "\n".join(sorted(f.path for f in _walk_py(vm, project_id))) + "\n"
            vm.fs.write(project_id, "build/manifest.txt", listing.encode())
            vm.fs.write(project_id, "build/STATUS", b"ok\n")
            desc = "Build manifest (workspace-only session)"
        third = vm.checkpoints.create(session.id, description=desc, tags=["build"])
        say(f"checkpoint {third.checkpoint.id}: build output")
    return notes


def _walk_py(vm, project_id: str, path: str = ""):
    for info in vm.fs.ls(project_id, path):
        if info.kind == "dir":
            yield from _walk_py(vm, project_id, info.path)
        elif info.name.endswith(".py"):
            yield info
