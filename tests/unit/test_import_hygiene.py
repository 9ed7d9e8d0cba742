"""The service layer stays free of the UI: `core` never imports textual, rich or argparse,
and the CLI's light paths do not import textual or docker (so they start fast)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "vmuser_tui" / "core"
FORBIDDEN = {"textual", "rich", "argparse"}


def test_core_does_not_import_ui_modules():
    offenders = []
    for path in CORE.rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []


def test_list_commands_do_not_import_textual_or_docker(tmp_path):
    code = (
        "import sys; from vmuser_tui.cli.main import main; "
        f"main(['--data-dir', {str(tmp_path)!r}, '--config', {str(tmp_path / 'c.toml')!r}, 'project', 'list']); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'docker')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stderr


def test_help_does_not_import_textual_or_docker():
    code = (
        "import sys\nfrom vmuser_tui.cli.main import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'docker')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stderr
