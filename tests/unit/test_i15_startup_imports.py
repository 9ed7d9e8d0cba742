"""One-shot commands import only what they use (issue 15, item 2).

Each command family runs as a real process (``python -X importtime -m vmuser_tui ...``) on a
tiny data dir (one project over a few files, one checkpoint, no config file, no session) and
the modules it loaded are read from the import-time report. Whatever a family does not need
must be absent: the TUI (textual), the docker SDK (no session is active, so nothing asks the
engine), rich where no table is printed, the capture/restore machinery for reads, the TOML
parser without a config file, platformdirs on Linux (the XDG rule is computed), argparse's
parsers of other commands (the per-command builders are not observable here: the timing is
in benchmarks/cli_floor.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: never loaded by any of these one-shot commands (``session`` loads vmuser's runtime package for
#: Sessions, never the docker SDK: no session is active, so the engine is not asked)
EVERYWHERE = {"textual", "docker", "requests", "vmuser_tui.tui", "vmuser_tui.core.restoring",
              "vmuser_tui.core.store.restore", "vmuser_tui.core.runtime.docker_runtime",
              "vmuser_tui.core.engines", "vmuser_tui.cli.exec_cmd", "tomllib", "secrets", "fractions",
              "socket", "shutil"}  # (~2 ms each: the host name is uname's, rmtree is loaded to remove)
if sys.platform == "linux":
    EVERYWHERE.add("platformdirs")


def _env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ, VMUSER_DATA_DIR=str(tmp / "data"), VMUSER_CONFIG=str(tmp / "none.toml"),
               PYTHONPATH=str(ROOT))
    env.pop("VMUSER_FROZEN_TIME", None)
    return env


def _vmuser(tmp: Path, *args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "vmuser_tui", *args], env=_env(tmp), capture_output=True,
                          text=True, check=True)
    return proc.stdout.strip()


def _loaded(tmp: Path, *args: str) -> set[str]:
    """The modules ``vmuser ARGS`` imports (exit status checked)."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "vmuser_tui", *args], env=_env(tmp),
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    names = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name != "imported package":
                names.add(name)
    return names


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str, str]:
    """(tmp, project id, checkpoint A, checkpoint B)."""
    tmp = tmp_path_factory.mktemp("startup")
    ws = tmp / "ws"
    (ws / "src").mkdir(parents=True)
    (ws / "src" / "a.py").write_text("print('a')\n")
    (ws / "README").write_text("hello\n")
    project = _vmuser(tmp, "project", "create", "tiny", "--workspace", str(ws))
    a = _vmuser(tmp, "checkpoint", "create", project)
    (ws / "src" / "a.py").write_text("print('b')\n")
    b = _vmuser(tmp, "checkpoint", "create", project)
    return tmp, project, a, b


def _absent(loaded: set[str], banned: set[str]) -> list[str]:
    """Banned modules (or submodules of banned packages) that were loaded."""
    return sorted(m for m in loaded if any(m == b or m.startswith(b + ".") for b in banned))


#: what reading rows never needs: the object store, its hashing (OpenSSL's hashlib, ~2 ms) and codecs
ROWS_ONLY = {"vmuser_tui.core.store.objects", "vmuser_tui.core.store.cdc", "hashlib"}

FAMILIES = {
    "project": (lambda p, a, b: ["project", "list", "--json"],
                {"rich", "vmuser_tui.core.runtime", "vmuser_tui.core.sessions", "vmuser_tui.core.checkpoints",
                 "vmuser_tui.core.store.capture", "vmuser_tui.core.vfs", *ROWS_ONLY}),
    "checkpoint list": (lambda p, a, b: ["checkpoint", "list", p, "--json"],
                        {"rich", "vmuser_tui.core.runtime", "vmuser_tui.core.sessions", "vmuser_tui.core.store.capture",
                         "vmuser_tui.core.store.scan", "vmuser_tui.core.vfs", "difflib", *ROWS_ONLY}),
    "checkpoint diff": (lambda p, a, b: ["checkpoint", "diff", a, b, "--stat"],
                        {"rich", "vmuser_tui.core.runtime", "vmuser_tui.core.sessions", "vmuser_tui.core.store.capture",
                         "vmuser_tui.core.store.scan", "vmuser_tui.core.vfs"}),
    "session": (lambda p, a, b: ["session", "list", "--json"],
                {"rich", "vmuser_tui.core.checkpoints", "vmuser_tui.core.store.capture", "vmuser_tui.core.vfs"}),
    "fs": (lambda p, a, b: ["fs", "ls", p, "src", "--at", b, "--json"],
           {"rich", "vmuser_tui.core.runtime", "vmuser_tui.core.sessions", "vmuser_tui.core.store.capture"}),
    "log": (lambda p, a, b: ["log", "--json", "--limit", "5"],
            {"rich", "vmuser_tui.core.runtime", "vmuser_tui.core.sessions", "vmuser_tui.core.checkpoints",
             "vmuser_tui.core.store.capture", "vmuser_tui.core.vfs", *ROWS_ONLY}),
}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_a_command_family_imports_only_what_it_uses(data: tuple[Path, str, str, str], family: str) -> None:
    tmp, project, a, b = data
    argv, banned = FAMILIES[family]
    loaded = _loaded(tmp, *argv(project, a, b))
    assert "vmuser_tui.cli.main" in loaded  # the report was read
    assert _absent(loaded, EVERYWHERE | banned) == []


def test_a_table_loads_rich_only_for_its_cell_widths(data: tuple[Path, str, str, str]) -> None:
    """A listing printed as a table measures cells with rich.cells, nothing more of rich."""
    tmp, project, _, _ = data
    loaded = _loaded(tmp, "checkpoint", "list", project)
    assert _absent(loaded, EVERYWHERE | {"rich.console", "rich.text", "rich.table"}) == []


def test_a_checkpoint_with_nothing_changed_starts_no_pool(tmp_path: Path) -> None:
    """Nothing to read: no thread pool nor hashing processes (concurrent.futures loads logging,
    ~4 ms), no socket to ask for a worker when none runs. (The files are an hour old: a file
    written within the racy window is read again, as git's racy-git rule says.)"""
    ws = tmp_path / "ws"
    (ws / "src").mkdir(parents=True)
    for name in ("src/a.py", "README"):
        (ws / name).write_text(f"{name}\n")
        os.utime(ws / name, (1_700_000_000, 1_700_000_000))
    project = _vmuser(tmp_path, "project", "create", "quiet", "--workspace", str(ws))
    first = _vmuser(tmp_path, "checkpoint", "create", project)
    loaded = _loaded(tmp_path, "checkpoint", "create", project)
    assert _absent(loaded, EVERYWHERE | {"concurrent.futures", "logging", "subprocess", "rich"}) == []
    assert _vmuser(tmp_path, "checkpoint", "list", project, "--json").count('"id"') == 1  # nothing new
    assert first
