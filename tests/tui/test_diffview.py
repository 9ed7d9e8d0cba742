"""``widgets.diffview``: parsing a unified diff, colouring, unified and side-by-side rows."""

from __future__ import annotations

from vmuser_tui.tui.widgets import diffview as dv

PATCH = '''--- a/src/app.py
+++ b/src/app.py
@@ -5,4 +5,5 @@ def main():
 def main():
-    return 1
+    return 2
+    # done
 
@@ -20,2 +21,2 @@
-x = 1
+x = 2
\\ No newline at end of file
'''


def test_build_parses_hunks_with_line_numbers():
    patch = dv.build(PATCH, "src/app.py")
    assert patch.notes == [] and len(patch.hunks) == 2
    first = patch.hunks[0]
    assert first.header.startswith("@@ -5,4 +5,5 @@")
    assert [(line.tag, line.old_no, line.new_no) for line in first.lines] == [
        (" ", 5, 5), ("-", 6, None), ("+", None, 6), ("+", None, 7), (" ", 7, 8)]
    assert [line.text.plain for line in first.lines][:3] == ["def main():", "    return 1", "    return 2"]
    assert patch.hunks[1].lines[-1].tag == "\\"
    assert any(span.style for span in first.lines[0].text.spans)  # coloured as Python


def test_notes_limit_and_plain_files():
    patch = dv.build("mode changed 644 -> 755\n", "x")
    assert patch.notes == ["mode changed 644 -> 755"] and patch.hunks == []
    limited = dv.build(PATCH, "src/app.py", limit=3)
    assert len(limited.hunks) == 1 and limited.omitted == 4
    plain = dv.build(PATCH, "build/STATUS")
    assert not plain.hunks[0].lines[0].text.spans  # no lexer: no colour
    tabs = dv.build("@@ -1 +1 @@\n-\tx\x1b\n+y\n", "a.txt")
    assert tabs.hunks[0].lines[0].text.plain == "    x\\x1b"  # shown as an escape (core.text), not obeyed


def test_unified_rows_are_banded_to_the_width():
    hunk = dv.build(PATCH, "src/app.py").hunks[0]
    text = dv.unified(hunk, 40)
    rows = text.plain.split("\n")
    assert rows[0].startswith("@@") and rows[2].startswith("-    return 1") and rows[3].startswith("+    return 2")
    assert all(len(row) == 40 for row in rows)
    assert dv.line_count(text) == 6


def test_side_by_side_pairs_removed_with_added():
    patch = dv.build(PATCH, "src/app.py")
    width = 80
    assert dv.side_fits(width, patch.hunks) and not dv.side_fits(40, patch.hunks)
    assert dv.side_min_width(patch.hunks) == 2 * (dv.SIDE_MIN_TEXT + 3 + 1) + 1
    rows = dv.side_by_side(patch.hunks[0], width, hunks=patch.hunks).plain.split("\n")
    assert rows[0].startswith("@@")
    pairs = [[half.strip() for half in row.split("│")] for row in rows[1:]]
    assert pairs == [["5 def main():", "5 def main():"], ["6     return 1", "6     return 2"],
                     ["", "7     # done"], ["7", "8"]]
    assert all(len(row) == width for row in rows[1:])
    long = dv.build("@@ -1 +1 @@\n-" + "a" * 100 + "\n+b\n", "t.txt")
    row = dv.side_by_side(long.hunks[0], 60).plain.split("\n")[1]
    assert "…" in row.split("│")[0] and len(row) == 60
