"""`vmuser completion`: bash in tmux completes commands and values from the data dir, as a user types them.

A `vmuser` on PATH (a wrapper running this checkout) is what the script calls back for
values (`vmuser __complete KIND WORD`), as an installed vmuser would be.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(shutil.which("tmux") is None or shutil.which("bash") is None,
                                reason="needs tmux and bash")


@pytest.fixture
def world(tmp_path):
    """A data dir with project 'web' (one checkpoint), a `vmuser` wrapper on PATH, the env."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    wrapper = bindir / "vmuser"
    wrapper.write_text(f'#!/bin/sh\nPYTHONPATH={ROOT} exec {sys.executable} -m vmuser_tui "$@"\n')
    wrapper.chmod(0o755)
    env = dict(os.environ, VMUSER_DATA_DIR=str(tmp_path / "data"), VMUSER_CONFIG=str(tmp_path / "c.toml"),
               PATH=f"{bindir}:{os.environ['PATH']}")
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("a\n")

    def vm(*args: str) -> str:
        r = subprocess.run([str(wrapper), *args], env=env, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()

    pid = vm("project", "create", "web", "--import", str(src))
    cid = vm("checkpoint", "create", pid, "-m", "first")
    script = tmp_path / "vmuser.bash"
    script.write_text(vm("completion", "bash") + "\n")
    return {"env": env, "pid": pid, "cid": cid, "script": script, "vm": vm, "tmp": tmp_path}


class Bash:
    """An interactive bash in a tmux session of its own (unique name), no user rc files."""

    def __init__(self, env: dict[str, str], tmp: Path) -> None:
        self.name = f"i16cli-{uuid.uuid4().hex[:8]}"
        rc = tmp / "bashrc"
        rc.write_text("PS1='$ '\nbind 'set show-all-if-ambiguous on'\nbind 'set bell-style none'\n")
        subprocess.run(["tmux", "new-session", "-d", "-s", self.name, "-x", "160", "-y", "30",
                        (f"env -i HOME={tmp} TERM=xterm PATH='{env['PATH']}' "
                         f"VMUSER_DATA_DIR='{env['VMUSER_DATA_DIR']}' VMUSER_CONFIG='{env['VMUSER_CONFIG']}' "
                         f"bash --noprofile --rcfile {rc} -i")], check=True)

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def screen(self) -> str:
        return subprocess.run(["tmux", "capture-pane", "-p", "-t", self.name], capture_output=True, text=True,
                              check=True).stdout

    def wait_for(self, text: str, timeout: float = 20) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} not on screen:\n{self.screen()}")

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


@pytest.fixture
def bash(world):
    b = Bash(world["env"], world["tmp"])
    try:
        b.wait_for("$")  # (capture-pane drops the prompt's trailing space)
        b.keys(f"source {world['script']}", "Enter")
        yield b
    finally:
        b.close()


def test_tab_completes_a_command(bash):
    bash.keys("vmuser chec", "Tab")
    # `chec` is the start of `checkpoint` and `check`: bash completes the common part and lists both
    screen = bash.wait_for("checkpoint")
    assert "check" in screen
    bash.keys("C-u", "vmuser checkp", "Tab")
    bash.wait_for("$ vmuser checkpoint")


def test_tab_offers_project_names_and_ids(bash, world):
    bash.keys("vmuser checkpoint list ", "Tab", "Tab")
    screen = bash.wait_for(world["pid"])
    assert "web" in screen
    bash.keys("C-u", "vmuser checkpoint list we", "Tab")
    # 'web' (the name) and 'web-…' (the id) share 'web': completed that far
    bash.wait_for("$ vmuser checkpoint list web")


def test_tab_offers_checkpoint_ids_and_options(bash, world):
    bash.keys(f"vmuser checkpoint diff {world['cid'][:3]}", "Tab")
    bash.wait_for(f"$ vmuser checkpoint diff {world['cid']}")
    bash.keys("C-u", "vmuser checkpoint diff --name-s", "Tab")
    bash.wait_for("--name-status")


def test_values_come_from_the_data_dir_given_on_the_line(world, tmp_path):
    out = subprocess.run(["vmuser", "__complete", "projects", "--data-dir", str(tmp_path / "data"), "--", "w"],
                         env=dict(world["env"], VMUSER_DATA_DIR="/nonexistent"), capture_output=True, text=True)
    assert out.returncode == 0 and world["pid"] in out.stdout
    # a data dir that does not exist: no candidates, no error, nothing created
    empty = tmp_path / "nothing-here"
    out = subprocess.run(["vmuser", "__complete", "projects", "--data-dir", str(empty), "--", ""],
                         env=world["env"], capture_output=True, text=True)
    assert (out.returncode, out.stdout, out.stderr) == (0, "", "")
    assert not empty.exists()


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_scripts_name_the_commands_and_value_completers(world, shell):
    text = world["vm"]("completion", shell)
    assert "checkpoint" in text and "__complete" in text and "name-status" in text
    for syntax in ("zsh", "fish"):
        if shell == syntax and shutil.which(syntax):  # the shell parses it (when installed)
            check = ["zsh", "-n"] if syntax == "zsh" else ["fish", "--no-execute"]
            r = subprocess.run([*check], input=text, capture_output=True, text=True)
            assert r.returncode == 0, r.stderr


def test_completion_reads_the_database_file_the_service_writes():
    from vmuser_tui.core import completion, db

    assert completion.DB_NAME == db.DB_NAME
