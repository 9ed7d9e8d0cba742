"""Stumble 7 (issue 12): README's key table and screen captures are made from the screens
(tests/tui/readme.py), so they cannot drift; regenerate with ``python -m tests.tui.readme``."""

from __future__ import annotations

from .readme import BLOCK, README, captures, regenerate

FIX = "run PYTHONPATH=$PWD python -m tests.tui.readme"


def _blocks() -> dict[str, str]:
    return {m.group("name"): m.group("body") for m in BLOCK.finditer(README.read_text(encoding="utf-8"))}


def test_readme_has_the_generated_blocks():
    assert set(_blocks()) == {"keys", "captures"}


def test_readme_key_table_is_the_screens_bindings():
    from vmuser_tui.tui.readme_keys import key_table

    assert _blocks()["keys"] == key_table(), f"README's keys drifted: {FIX}"


def test_readme_captures_are_what_the_screens_show_at_80x24():
    assert _blocks()["captures"] == captures(), f"README's captures drifted: {FIX}"


def test_a_drifted_block_is_put_back():
    text = README.read_text(encoding="utf-8")
    table = _blocks()["keys"]
    drifted = text.replace(table, table.replace("`L` operation log", "`o` operation log"))
    assert drifted != text
    assert regenerate(drifted, {"keys": table, "captures": _blocks()["captures"]}) == text
