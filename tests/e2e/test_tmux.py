"""End to end: the installed `vmuser` in tmux at 80x24, driven by keys, read back with capture-pane.

This is README's run path (`vmuser demo`), on a throwaway data dir: the demo is built
from real files (with a real container when Docker answers), the TUI opens on it, and an
operator diffs two checkpoints, restores one and undoes it with keys only.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")]


def _vmuser() -> str:
    local = Path(sys.executable).parent / "vmuser"
    return str(local) if local.exists() else (shutil.which("vmuser") or "vmuser")


class Tmux:
    """One tmux session running a command at a fixed size."""

    def __init__(self, name: str, command: str, env: dict[str, str], width: int = 80, height: int = 24):
        self.name = name
        exports = " ".join(f"{k}={v}" for k, v in env.items())
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)
        subprocess.run(
            ["tmux", "new-session", "-d", "-s", name, "-x", str(width), "-y", str(height),
             f"env {exports} {command}; sleep 30"],
            check=True,
        )

    def keys(self, *keys: str, pause: float = 0.25) -> None:
        for key in keys:
            subprocess.run(["tmux", "send-keys", "-t", self.name, key], check=True)
            time.sleep(pause)

    def screen(self, *, escapes: bool = False) -> str:
        args = ["tmux", "capture-pane", "-p", "-t", self.name] + (["-e"] if escapes else [])
        return subprocess.run(args, capture_output=True, text=True, check=True).stdout

    def wait_for(self, *texts: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if all(t in screen for t in texts):
                return screen
            time.sleep(0.2)
        raise AssertionError(f"waited {timeout}s for {texts!r}; the screen shows:\n{screen}")

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


def _colours(raw: str) -> list[tuple[int, ...]]:
    """Every 256-colour index ``(n,)`` and truecolour ``(r, g, b)`` in SGR sequences."""
    found = []
    for seq in re.findall(r"\x1b\[([0-9;]*)m", raw):
        parts = [int(x) for x in seq.split(";") if x]
        i = 0
        while i < len(parts):
            if parts[i] in (38, 48) and i + 2 < len(parts) + 1 and parts[i + 1:i + 2] == [5]:
                found.append((parts[i + 2],))
                i += 3
            elif parts[i] in (38, 48) and parts[i + 1:i + 2] == [2]:
                found.append(tuple(parts[i + 2:i + 5]))
                i += 5
            else:
                i += 1
    return found


def _is_grey(colour: tuple[int, ...]) -> bool:
    if len(colour) == 1:  # xterm-256: 0/7/8/15 are black/greys/white, 232-255 the grey ramp
        n = colour[0]
        return n in (0, 7, 8, 15, 16, 231) or n >= 232 or (16 <= n <= 231 and len({(n - 16) // 36, (n - 16) // 6 % 6, (n - 16) % 6}) == 1)
    return len(set(colour)) == 1


@pytest.fixture
def demo(tmp_path):
    env = {"VMUSER_DATA_DIR": str(tmp_path / "data"), "VMUSER_CONFIG": str(tmp_path / "none.toml"),
           "TERM": "xterm-256color", "LANG": "C.UTF-8", "PATH": os.environ.get("PATH", "")}
    if os.environ.get("DOCKER_HOST"):
        env["DOCKER_HOST"] = os.environ["DOCKER_HOST"]
    t = Tmux(f"vmuser-e2e-{os.getpid()}", f"{_vmuser()} demo", env)
    try:
        t.wait_for("Checkpoints", "[import]", timeout=120)
        workspaces = list((tmp_path / "data" / "workspaces").iterdir())
        assert len(workspaces) == 1
        yield t, workspaces[0], env
    finally:
        t.close()
        _stop_sessions(env)


def _stop_sessions(env: dict[str, str]) -> None:
    """Remove the demo's containers so tests leave nothing running."""
    listed = subprocess.run([_vmuser(), "session", "list", "--json"], env={**os.environ, **env},
                            capture_output=True, text=True)
    if listed.returncode == 0:
        import json

        for s in json.loads(listed.stdout):
            if s["status"] != "running":
                continue
            # the TUI gives its session lease back as it exits on the hangup: a moment after close()
            deadline = time.monotonic() + 15
            while subprocess.run([_vmuser(), "session", "stop", s["id"]], env={**os.environ, **env},
                                 capture_output=True, check=False).returncode and time.monotonic() < deadline:
                time.sleep(0.5)


def test_restore_and_undo_by_keys(demo):
    t, ws, _ = demo
    assert (ws / "NOTES.md").exists() and not (ws / "src" / "__main__.py").exists()
    t.keys("Down", "Down")  # the timeline has focus: move to the oldest checkpoint ("import")
    t.keys("r")
    screen = t.wait_for("Restore checkpoint", "pre-restore")
    assert "D NOTES.md" in screen and "A src/__main__.py" in screen
    t.keys("y")
    t.wait_for("restored", timeout=30)
    assert not (ws / "NOTES.md").exists()
    assert (ws / "src" / "__main__.py").exists()
    assert not (ws / "build").exists()
    t.keys("u")
    t.wait_for("Undo", timeout=10)
    t.keys("y")
    deadline = time.monotonic() + 30
    while not (ws / "NOTES.md").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert (ws / "NOTES.md").read_text().startswith("# Notes")
    assert not (ws / "src" / "__main__.py").exists()


def test_diff_two_checkpoints_by_keys(demo):
    t, _, _ = demo
    t.keys("Down", "Down", "space")  # mark the oldest
    t.keys("Up", "Up", "D")  # diff marked -> newest
    screen = t.wait_for("NOTES.md", "README.md", timeout=30)
    assert "+4" in screen  # NOTES.md's four added lines
    assert "src/core/timekeeping.py" in screen or "timekeeping" in screen  # the rename
    t.keys("escape")
    t.keys("f")
    t.wait_for("src", timeout=30)


def test_no_color_at_80x24(tmp_path):
    env = {"VMUSER_DATA_DIR": str(tmp_path / "data"), "VMUSER_CONFIG": str(tmp_path / "none.toml"),
           "TERM": "xterm-256color", "LANG": "C.UTF-8", "NO_COLOR": "1", "PATH": os.environ.get("PATH", "")}
    t = Tmux(f"vmuser-e2e-nc-{os.getpid()}", _vmuser(), env)
    try:
        t.wait_for("Filter", timeout=60)
        raw = t.screen(escapes=True)
        # Textual honours NO_COLOR by rendering monochrome: shades of grey, no hue at all.
        hues = [c for c in _colours(raw) if not _is_grey(c)]
        assert _colours(raw) and hues == []
    finally:
        t.close()


def test_files_screen_by_keys(demo):
    t, ws, _ = demo
    t.keys("f")  # the files of the selected (newest) checkpoint
    screen = t.wait_for("NOTES.md", "src", timeout=30)
    assert "README.md" in screen
    # Walk down the tree until the cursor is on NOTES.md: the preview shows its first line.
    deadline = time.monotonic() + 20
    while "# Notes" not in t.screen() and time.monotonic() < deadline:
        t.keys("Down", pause=0.3)
    assert "# Notes" in t.screen(), t.screen()
    t.keys("escape")
    t.wait_for("Checkpoints", timeout=10)


@pytest.mark.parametrize("term", ["screen-256color", "xterm-256color"])
def test_terms_tmux_users_have(tmp_path, term):
    """The projects screen and a second screen draw whole, with colour, under the TERMs of tmux
    and of a plain xterm; keys work (no mouse)."""
    env = {"VMUSER_DATA_DIR": str(tmp_path / "data"), "VMUSER_CONFIG": str(tmp_path / "none.toml"),
           "TERM": term, "LANG": "C.UTF-8", "PATH": os.environ.get("PATH", "")}
    subprocess.run([_vmuser(), "project", "create", "termcheck"], env={**os.environ, **env}, check=True,
                   capture_output=True)
    t = Tmux(f"vmuser-e2e-term-{os.getpid()}", _vmuser(), env)
    try:
        screen = t.wait_for("termcheck", timeout=60)
        assert "Traceback" not in screen and len(screen.splitlines()) >= 23
        assert [c for c in _colours(t.screen(escapes=True)) if not _is_grey(c)], "no colour at all"
        t.keys("?")
        t.wait_for("Help", timeout=10)
        t.keys("escape")
        t.keys("Enter")
        t.wait_for("Checkpoints", timeout=20)
    finally:
        t.close()


def test_a_closed_terminal_ends_the_tui_and_frees_its_session(tmp_path):
    """SSH gone or tmux killed (SIGHUP): the TUI ends within a few seconds, never lingers as an
    orphan, and gives its session lease back so nobody else stays read-only."""
    env = {"VMUSER_DATA_DIR": str(tmp_path / "data"), "VMUSER_CONFIG": str(tmp_path / "none.toml"),
           "TERM": "xterm-256color", "LANG": "C.UTF-8", "PATH": os.environ.get("PATH", "")}
    full = {**os.environ, **env}
    pid = subprocess.run([_vmuser(), "project", "create", "hangup"], env=full, capture_output=True, text=True,
                         check=True).stdout.strip()
    subprocess.run([_vmuser(), "session", "start", pid, "--runtime", "none"], env=full, check=True,
                   capture_output=True)
    t = Tmux(f"vmuser-e2e-hup-{os.getpid()}", _vmuser(), env)
    t.wait_for("hangup", timeout=60)
    t.keys("Enter")
    t.wait_for("attached", timeout=20)
    tui = [int(p) for p in subprocess.run(["pgrep", "-f", f"{_vmuser()}$"], capture_output=True,
                                          text=True).stdout.split()]
    assert tui, "the TUI process was not found"
    t.close()  # SIGHUP to everything in the pane
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{p}").exists() for p in tui) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(Path(f"/proc/{p}").exists() for p in tui), "the TUI outlived its terminal"
    import json

    sid = json.loads(subprocess.run([_vmuser(), "session", "list", "--json"], env=full, capture_output=True,
                                    text=True, check=True).stdout)[0]["id"]
    shown = json.loads(subprocess.run([_vmuser(), "session", "show", sid, "--json"], env=full,
                                      capture_output=True, text=True, check=True).stdout)
    assert shown["attached"] == []
