"""Custom commands' core (issue 16, item 4): placeholders filled inside their own argv word,
never split or turned into shell syntax; a missing value refuses; config.example.toml's
example, uncommented, is a valid entry."""

from __future__ import annotations

import tomllib

import pytest

from vmuser_tui.core import config as cfg
from vmuser_tui.core.custom_commands import CommandContext, expand, parse_commands
from vmuser_tui.core.errors import UsageError

NASTY = ["a b", "it's", '"q"', "x; rm -rf /", "$(touch pwned)", "`id`", "a\nb", "--flag", "{project}", ""]


def one(command: str, scope: str = "file") -> object:
    [cmd] = parse_commands([{"name": "t", "key": "ctrl+t", "scope": scope, "command": command}])
    return cmd


@pytest.mark.parametrize("value", NASTY)
def test_a_value_is_always_one_word(value):
    cmd = one("grep -n -- TODO {path} pre{path}post")
    argv = expand(cmd, CommandContext(path=value))  # type: ignore[arg-type]
    assert argv == ["grep", "-n", "--", "TODO", value, f"pre{value}post"]


def test_literal_braces_and_quoted_words():
    cmd = one("""printf '{{%s}} in %s\\n' "{project} x" {workspace}""", scope="project")
    assert expand(cmd, CommandContext(project="p q", workspace="/w")) == ["printf", "{%s} in %s\\n", "p q x", "/w"]  # type: ignore[arg-type]


def test_a_placeholder_without_a_value_refuses():
    cmd = one("echo {checkpoint}", scope="checkpoint")
    with pytest.raises(UsageError, match=r"\{checkpoint\} has no value here"):
        expand(cmd, CommandContext(project="p"))  # type: ignore[arg-type]


def test_sh_c_takes_values_as_arguments():
    cmd = one("""sh -c 'grep -n TODO "$1"' sh {path}""")
    assert expand(cmd, CommandContext(path="a; b")) == ["sh", "-c", 'grep -n TODO "$1"', "sh", "a; b"]  # type: ignore[arg-type]


def test_the_example_uncommented_is_a_valid_entry():
    text = cfg.commented_default()
    block = text[text.index("# [[commands]]"):].splitlines()
    toml = "\n".join(line[2:] for line in block if line.startswith("# "))
    [cmd] = parse_commands(tomllib.loads(toml)["commands"])
    assert cmd.name == "tests" and cmd.where == "container" and cmd.placeholders == ("workspace",)
    assert expand(cmd, CommandContext(workspace="/workspace"))[-1] == "/workspace"  # type: ignore[arg-type]


def test_a_host_command_streams_and_cancels(tmp_path):
    """run_host: output arrives while it runs; a cancel stops it (TERM to its group)."""
    import sys
    import threading

    from vmuser_tui.core.command_run import run_host
    from vmuser_tui.core.runtime.exec_control import ExecControl

    control = ExecControl()
    seen: list[tuple[str, bytes]] = []

    def sink(stream, data):
        seen.append((stream, data))
        if b"started" in data:
            threading.Timer(0.05, control.cancel).start()

    code = "import sys,time; print('started', flush=True); print('err', file=sys.stderr, flush=True); time.sleep(60)"
    outcome = run_host([sys.executable, "-c", code], str(tmp_path), sink, control)
    control.close()
    assert outcome.cancelled and outcome.signal == "TERM" and outcome.exit_code == -15
    # a pipe may hand the line over in pieces ("started", then "\n")
    assert b"".join(d for s, d in seen if s == "stdout") == b"started\n" and outcome.duration < 30
