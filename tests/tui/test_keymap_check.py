"""``keymap_check.problems``: what ``vmuser config validate`` reports about [keymap] and the theme."""

from __future__ import annotations

import subprocess
import sys

import pytest

from vmuser_tui.tui.keymap_check import problems, resolve


def test_no_problems_in_a_good_keymap():
    assert problems({}, None) == []
    assert problems({"projects.filter": "f", "project.mark": "m", "project.diff": "ctrl+d"}, "nord") == []
    # a swap is fine: neither key is taken from a binding that keeps it
    assert problems({"project.checkpoint": "r", "project.restore": "c"}, "textual-dark") == []


def test_unknown_binding_id_lists_the_screens_ids():
    [line] = problems({"project.nope": "z"}, None)
    assert "unknown binding id 'project.nope'" in line and "help screen (?)" in line
    assert "project.checkpoint" in line and "project.restore" in line
    [line] = problems({"nowhere.x": "z"}, None)
    assert "nowhere.x" in line and "projects" in line


def test_a_key_taken_from_another_binding_of_the_screen():
    [line] = problems({"project.restore": "c"}, None)
    assert "project.restore" in line and "project.checkpoint" in line and "project screen" in line
    # single characters are normalized as Textual does ("!" is exclamation_mark)
    [line] = problems({"project.copy": "!"}, None)
    assert "project.shell" in line
    # two remappings onto one key: the later one is blamed
    [line] = problems({"diff.next": "x", "diff.prev": "x"}, None)
    assert line.startswith('[keymap] "diff.prev"') and "diff.next" in line
    # an app-wide binding remapped onto a screen's key would not work on that screen
    [line] = problems({"app.help": "D"}, None)
    assert "app.help" in line and "project.diff" in line
    # reserved keys
    [line] = problems({"project.diff": "ctrl+p"}, None)
    assert "reserved" in line and "command palette" in line


def test_unknown_theme_lists_valid_ones():
    [line] = problems({}, "nordd")
    assert "'nordd'" in line and "'nord'" in line and "textual-dark" in line


def test_resolve_refuses_only_the_colliding_keys():
    keymap, notes = resolve({"project.restore": "c,R", "project.mark": "m"})
    assert keymap == {"project.restore": "R", "project.mark": "m"}
    [(short, full)] = notes
    assert "project.restore" in short and "project.checkpoint" in short
    assert "keeps its key" in full
    # dropping a remapping gives the binding its default back, which may collide in turn
    keymap, notes = resolve({"project.restore": "c", "project.undo": "r"})
    assert keymap == {} and len(notes) == 2


def test_importable_without_an_app():
    # `vmuser config validate` checks the keymap in a plain process: no app is made for it
    code = ("import gc; from vmuser_tui.tui.keymap_check import problems; "
            "print(len(problems({'project.restore': 'c'}, 'x'))); "
            "print(any(type(o).__name__ == 'VmuserApp' for o in gc.get_objects()))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["2", "False"]


# -- keys Textual can bind (issue 11, case 13) ---------------------------------------------------


def test_every_default_key_of_every_screen_is_a_key_bad_key_accepts():
    """The rule is checked against the app's own bindings, so it cannot be stricter than Textual."""
    from vmuser_tui.tui.keymap_check import _defaults, _normalize, bad_key, scopes

    keys = {k for scope in scopes() for ks in _defaults(scope.classes).values() for k in ks}
    assert len(keys) > 40
    assert {k: bad_key(n) for k in keys for n in _normalize(k) if bad_key(n)} == {}


@pytest.mark.parametrize("value", ["x", "D", "/", "!", "slash", "exclamation_mark", "f5", "f24", "ctrl+d", "shift+up",
                                   "ctrl+shift+pageup", "alt+x", "enter", "escape", "space", "home", "delete",
                                   "question_mark", "g, f6", "ctrl+at"])
def test_keys_textual_can_bind_are_accepted(value):
    from vmuser_tui.tui.keymap_check import _normalize, bad_key

    assert [bad_key(k) for k in _normalize(value)] == [None] * len(_normalize(value))
    # and nothing is reported but, perhaps, a key another binding of the screen already has
    assert all("already" in line for line in problems({"projects.filter": value}, None))


@pytest.mark.parametrize(
    "value, why",
    [
        ("notakey!!", "'notakey!!' is not a key Textual knows"),
        ("f25", "'f25' is not a key Textual knows"),
        ("ctrl+notakey", "'notakey' is not a key Textual knows"),
        ("control+d", "'control' is not a modifier (use ctrl, shift, alt, meta, super, hyper)"),
        ("ctrl+", "a key is missing after '+'"),
        ("f19, pgdn", "'pgdn' is not a key Textual knows"),
        ("Ctrl+D", "'Ctrl' is not a modifier"),
    ],
)
def test_keys_textual_cannot_bind_are_problems(value, why):
    [line] = problems({"projects.filter": value}, None)
    assert line.startswith(f'[keymap] "projects.filter" = "{value}": {why}') and "; use a character" in line


def test_resolve_drops_keys_textual_cannot_bind_and_says_so():
    keymap, notes = resolve({"projects.filter": "notakey!!", "project.mark": "m, f25"})
    assert keymap == {"project.mark": "m"}  # projects.filter keeps its default key
    assert [short for short, _ in notes] == ["keymap projects.filter=notakey!! ignored: not a key",
                                             "keymap project.mark=f25 ignored: not a key"]
    assert "keeps its key" in notes[0][1] and "That key is left out" in notes[1][1]
