"""Stumble 5 of issue #12: after ``e`` saved a file, the Files preview shows its new size,
hash and text at once, without moving the cursor."""

from __future__ import annotations

import hashlib
import subprocess
from contextlib import contextmanager

import pytest
from textual.widgets import RichLog, Static

from vmuser_tui.tui.widgets.cells import human_size

from .conftest import SIZE, make_app, settle
from .test_home_and_files import open_files


def meta_text(files) -> str:
    return str(files.query_one("#meta", Static).render())


def preview_text(files) -> str:
    log = files.query_one("#preview", RichLog)
    return "\n".join("".join(seg.text for seg in strip) for strip in log.lines)


@pytest.mark.parametrize("path", ["NOTES.md", "src/app.py"])
async def test_the_preview_follows_a_save_from_the_editor(world, monkeypatch, path):
    def fake_run(argv, check=False):
        with open(argv[-1], "ab") as fh:
            fh.write(b"# edited by the test\n" * 40)
        return subprocess.CompletedProcess(argv, 0)

    @contextmanager
    def fake_suspend():
        yield

    monkeypatch.setenv("EDITOR", "true")
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setattr(subprocess, "run", fake_run)
    app = make_app(world.vm)
    async with app.run_test(size=SIZE) as pilot:
        monkeypatch.setattr(app, "suspend", fake_suspend)
        files = await open_files(pilot, live=True)
        files.reveal(path)
        await settle(pilot)
        before = (world.workspace / path).read_bytes()
        assert human_size(len(before)) in meta_text(files)
        await pilot.press("e")
        await settle(pilot)
        after = (world.workspace / path).read_bytes()
        assert len(after) > len(before)
        meta = meta_text(files)
        assert human_size(len(after)) in meta, meta
        assert f"hash {hashlib.sha256(after).hexdigest()[:12]}" in meta, meta
        assert "# edited by the test" in preview_text(files)
