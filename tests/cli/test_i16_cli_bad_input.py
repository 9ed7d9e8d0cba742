"""Bad input for completion, formats, diff conventions, version and help (issue 16 items 3, 5, 6):
one line on stderr naming the fix, no traceback, the exit code; nothing written."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys

import pytest

# fmt: off
ROWS = [
    ("unknown-shell", "completion tcsh", 2, "SHELL: invalid choice: 'tcsh' (choose from 'bash', 'zsh', 'fish')"),
    ("missing-shell", "completion", 2, "the following arguments are required: SHELL"),
    ("format-bad", "project list --format yaml", 2, "argument --format: invalid choice: 'yaml'"),
    ("format-json-disagrees", "checkpoint list P --json --format csv", 2, "--json and --format csv disagree"),
    ("format-on-show", "project show P --format csv", 2, "unrecognized arguments: --format csv"),
    ("stat-and-name-only", "checkpoint diff A --stat --name-only", 2, "--name-only: not allowed with argument --stat"),
    ("name-status-and-json", "checkpoint diff A --json --name-status", 2, "not allowed with argument"),
    ("exit-code-error-is-2", "checkpoint diff --exit-code nope", 2, "no checkpoint matches 'nope'"),
    ("quiet-error-is-2", "checkpoint diff -q nope", 2, "no checkpoint matches 'nope'"),
    ("help-unknown-command", "help frobnicate", 2, "vmuser has no command 'frobnicate'; see vmuser --help"),
    ("help-unknown-subcommand", "help checkpoint frob", 2, "vmuser checkpoint has no command 'frob'"),
    ("help-man-with-command", "help --man project", 2, "--man prints the whole manual; leave out COMMAND"),
    ("version-extra", "version --yaml", 2, "unrecognized arguments: --yaml"),
    ("complete-unknown-kind", "__complete frobs -- x", 2, "vmuser __complete: give one of projects"),
]
# fmt: on


@pytest.mark.parametrize(("argv", "code", "message"), [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_bad_input(tmp_path, argv, code, message):
    env = dict(os.environ, VMUSER_DATA_DIR=str(tmp_path / "data"), VMUSER_CONFIG=str(tmp_path / "c.toml"))
    r = subprocess.run([sys.executable, "-m", "vmuser_tui", *shlex.split(argv)], env=env, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == code, r.stderr
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr, r.stderr
    assert message in r.stderr
    assert r.stdout == ""
