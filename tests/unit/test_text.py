"""core.text.printable: what may steer a terminal is shown as an escape (issue 11, case 12)."""

from __future__ import annotations

import pytest

from vmuser_tui.core.text import is_printable, printable, printable_lines


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain name.txt", "plain name.txt"),
        ("a\x1b[2Jb", "a\\x1b[2Jb"),  # clear screen
        ("\x1b]0;pwned\x07", "\\x1b]0;pwned\\x07"),  # set the window title
        ("one\ntwo", "one\\ntwo"),
        ("tab\there", "tab\\there"),
        ("hidden\rshown", "hidden\\rshown"),
        ("nul\x00", "nul\\x00"),
        ("del\x7f", "del\\x7f"),
        ("csi\x9b2J", "csi\\x9b2J"),  # C1 CSI: one byte that some terminals obey
        ("evil\u202etxt.exe", "evil\\u202etxt.exe"),  # right-to-left override (Trojan Source)
        ("\u2066isolate\u2069", "\\u2066isolate\\u2069"),
        ("\u202a\u202b\u202c\u202d", "\\u202a\\u202b\\u202c\\u202d"),
        ("café ünï 日本 🙂", "café ünï 日本 🙂"),  # other Unicode stays
        ("back\\slash", "back\\slash"),
        ("[bold red]x[/]", "[bold red]x[/]"),  # markup is the TUI's business (rich.markup.escape)
    ],
)
def test_printable(raw, shown):
    assert printable(raw) == shown
    assert is_printable(shown)
    assert is_printable(raw) == (raw == shown)


def test_printable_lines_keeps_line_feeds_and_tabs():
    assert printable_lines("a\tb\nc\x1b[31md\r\n") == "a\tb\nc\\x1b[31md\\r\n"


def test_non_strings_are_shown_as_their_str():
    assert printable(3) == "3" and printable(ValueError("x\ny")) == "x\\ny"
