"""Bad ``[[commands]]`` entries (issue 16, item 4), as one table in the style of
tests/test_bad_input.py: ``vmuser config validate`` in a subprocess on a config file
holding the entry, exactly one line on stderr naming the entry and the key, no traceback,
exit 1. A good entry validates; loading refuses the same entries (``config show``)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PY = [sys.executable, "-m", "vmuser_tui"]
GOOD = 'name = "t"\nkey = "ctrl+t"\nscope = "session"\ncommand = "make test"\n'

# fmt: off
ROWS = [
    ("missing-key", 'name = "t"\nscope = "project"\ncommand = "ls"', '[[commands]] #1 "t": missing key key'),
    ("missing-command", 'name = "t"\nkey = "ctrl+t"\nscope = "project"', '[[commands]] #1 "t": missing key command'),
    ("unknown-scope", 'name = "t"\nkey = "ctrl+t"\nscope = "box"\ncommand = "ls"',
     "scope: expected one of project, session, checkpoint, file, got 'box'"),
    ("unknown-placeholder", 'name = "t"\nkey = "ctrl+t"\nscope = "file"\ncommand = "cat {file}"',
     '[[commands]] #1 "t": command: unknown placeholder {file}; known: {project}'),
    ("shell-variable-braces", 'name = "t"\nkey = "ctrl+t"\nscope = "file"\ncommand = "echo ${HOME}"',
     "unknown placeholder {HOME}"),
    ("lone-brace", 'name = "t"\nkey = "ctrl+t"\nscope = "file"\ncommand = "echo {"', "write {{ for a literal brace"),
    ("placeholder-in-sh-c", 'name = "t"\nkey = "ctrl+t"\nscope = "file"\ncommand = "sh -c \\"cat {path}\\""',
     "a placeholder inside the sh -c script would be shell syntax; pass it as an argument"),
    ("placeholder-as-program", 'name = "t"\nkey = "ctrl+t"\nscope = "file"\ncommand = "{path} -x"',
     "the program ('{path}') cannot be a placeholder"),
    ("unbalanced-quote", 'name = "t"\nkey = "ctrl+t"\nscope = "file"\ncommand = "echo \'a"',
     "command: cannot split it like a shell would: No closing quotation"),
    ("key-collision", 'name = "t"\nkey = "D"\nscope = "checkpoint"\ncommand = "ls"',
     "[[commands]] #1 \"t\": key \"D\": D is already project.diff's key on the project screen; pick another key"),
    ("key-collision-files", 'name = "t"\nkey = "e"\nscope = "file"\ncommand = "ls"',
     "e is already files.edit's key on the files screen"),
    ("key-reserved", 'name = "t"\nkey = "ctrl+p"\nscope = "project"\ncommand = "ls"',
     "reserved for the command palette"),
    ("key-of-the-table", 'name = "t"\nkey = "enter"\nscope = "session"\ncommand = "ls"',
     "is already the list's own key"),
    ("key-not-a-key", 'name = "t"\nkey = "ctrl+nope"\nscope = "project"\ncommand = "ls"',
     "'nope' is not a key Textual knows"),
    ("two-keys", 'name = "t"\nkey = "a,b"\nscope = "project"\ncommand = "ls"', 'key: one key such as "ctrl+t"'),
    ("two-commands-one-key", GOOD + '[[commands]]\nname = "u"\nkey = "ctrl+t"\nscope = "project"\ncommand = "ls"',
     "[[commands]] #2 \"u\": key \"ctrl+t\": ctrl+t is already command \"t\"'s key on the project screen"),
    ("duplicate-name", GOOD + '[[commands]]\nname = "t"\nkey = "ctrl+u"\nscope = "project"\ncommand = "ls"',
     "[[commands]] #2 \"t\": name: another [[commands]] entry is already called 't'"),
    ("bad-where", GOOD + 'where = "cloud"', "where: expected one of container, host, got 'cloud'"),
    ("confirm-not-bool", GOOD + 'confirm = "yes"', "confirm: expected true or false, got 'yes'"),
    ("unknown-field", GOOD + 'shortcut = "x"', '[[commands]] #1 "t": unknown key shortcut; known: name, key'),
    ("bad-name", 'name = "my tool"\nkey = "ctrl+t"\nscope = "project"\ncommand = "ls"', "name: letters, digits"),
    ("not-an-array", None, "'commands' must be an array of tables: [[commands]]"),
]
# fmt: on


def run(tmp_path, body: str | None, *args: str) -> subprocess.CompletedProcess[str]:
    cfg = tmp_path / "config.toml"
    cfg.write_text("[[commands]]\n" + body + "\n" if body is not None else 'commands = "ls"\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VMUSER_")}
    env.update(VMUSER_DATA_DIR=str(tmp_path / "data"), VMUSER_CONFIG=str(cfg))
    return subprocess.run([*PY, *args], env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("body", "message"), [pytest.param(*r[1:], id=r[0]) for r in ROWS])
def test_bad_commands_entry(tmp_path, body, message):
    r = run(tmp_path, body, "config", "validate")
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 1, lines
    assert message in lines[0], lines[0]
    assert "config.toml" in lines[0]


def test_a_good_entry_validates_and_shows(tmp_path):
    r = run(tmp_path, GOOD + 'where = "container"\nconfirm = true', "config", "validate")
    assert r.returncode == 0 and r.stderr == "", r.stderr
    shown = run(tmp_path, GOOD + 'where = "container"\nconfirm = true', "config", "show")
    assert "[[commands]]" in shown.stdout and 'command = "make test"' in shown.stdout
