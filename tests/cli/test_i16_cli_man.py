"""`vmuser help --man`: the manual page made from the parser, shipped in the wheel and in step with it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from vmuser_tui.cli.manpage import SHIPPED, render


def test_shipped_page_is_in_step_with_the_parser():
    assert SHIPPED.read_text(encoding="utf-8") == render(), (
        "vmuser_tui/share/man/vmuser.1 is out of date: python -m vmuser_tui.cli.manpage")


def test_help_man_prints_roff_that_man_renders(tmp_path):
    r = subprocess.run([sys.executable, "-m", "vmuser_tui", "help", "--man"], capture_output=True, text=True,
                       env=dict(os.environ, VMUSER_DATA_DIR=str(tmp_path / "d")), timeout=60)
    assert r.returncode == 0, r.stderr
    page = r.stdout
    assert page.startswith(".TH VMUSER \"1\"") and "\n.SH SYNOPSIS\n" in page and "\n.SH EXAMPLES\n" in page
    for command in ("checkpoint diff", "completion", "project list"):
        assert f"'vmuser {command}'" in page
    path = tmp_path / "vmuser.1"
    path.write_text(page)
    if shutil.which("man"):
        shown = subprocess.run(["man", "-l", str(path)], capture_output=True, text=True,
                               env=dict(os.environ, MANWIDTH="100", MANPAGER="cat", PAGER="cat"), timeout=60)
    elif shutil.which("groff"):
        shown = subprocess.run(["groff", "-man", "-Tutf8", str(path)], capture_output=True, text=True, timeout=60)
    else:  # pragma: no cover - no renderer: the structure was checked above
        return
    assert shown.returncode == 0 and "warning" not in shown.stderr, shown.stderr
    assert "--exit-code" in shown.stdout and "vmuser checkpoint diff" in shown.stdout


def test_page_is_part_of_the_package():
    assert SHIPPED.is_relative_to(Path(__file__).resolve().parents[2] / "vmuser_tui")
