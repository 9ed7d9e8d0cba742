"""Writing settings back (the TUI's settings screen): ``parse_text``, ``save``, ``comment_lines``."""

from __future__ import annotations

import os

import pytest

from vmuser_tui.core import config as cfg
from vmuser_tui.core.errors import ConfigError


def test_parse_text_uses_the_loaders_rules_and_messages():
    assert cfg.parse_text("docker", "memory", "2g") == 2 * 1024**3
    assert cfg.parse_text("cleanup", "enabled", "yes") is True
    assert cfg.parse_text("snapshots", "ignore", "*.log, build/") == ["*.log", "build/"]
    assert cfg.parse_text("docker", "cpus", "1.5") == 1.5
    with pytest.raises(ConfigError, match=r"^\[docker\] memory: expected a size"):
        cfg.parse_text("docker", "memory", "lots")
    with pytest.raises(ConfigError, match=r"^\[store\] compression_level: 30 is above the maximum 19 \(allowed: 1 to 19\)$"):
        cfg.parse_text("store", "compression_level", "30")
    with pytest.raises(ConfigError, match="unknown setting"):
        cfg.parse_text("docker", "nope", "1")


def test_save_writes_only_non_defaults_and_keeps_the_keymap(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('# mine\n[docker]\nimage = "alpine"\ncpus = 1.0\n\n[keymap]\n"diff.next" = "x"\n')
    os.chmod(path, 0o600)
    assert cfg.comment_lines(path) == 1
    text = cfg.save(path, {("docker", "memory"): "2g", ("ui", "theme"): "nord", ("docker", "image"): None})
    # cpus = 1.0 is the default: dropped; image went back to the default; sections in schema order
    assert text == '[docker]\nmemory = "2g"\n\n[ui]\ntheme = "nord"\n\n[keymap]\n"diff.next" = "x"\n'
    assert path.read_text() == text
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    loaded = cfg.load(path, environ={})
    assert loaded.values["docker"]["memory"] == 2 * 1024**3 and loaded.keymap == {"diff.next": "x"}


def test_save_checks_the_whole_file_first(tmp_path):
    path = tmp_path / "config.toml"
    with pytest.raises(ConfigError, match=r"warning_days \(40\) must be less than after_days"):
        cfg.save(path, {("cleanup", "warning_days"): 40})
    with pytest.raises(ConfigError, match=r"keep_within"):
        cfg.save(path, {("retention", "keep_within"): "soon"})
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []  # no scratch file left behind


def test_save_dry_run_and_a_new_file(tmp_path):
    path = tmp_path / "sub" / "config.toml"
    text = cfg.save(path, {("cleanup", "enabled"): True}, dry_run=True)
    assert text == "[cleanup]\nenabled = true\n" and not path.exists()
    cfg.save(path, {("cleanup", "enabled"): True})
    assert path.read_text() == text and cfg.comment_lines(path) == 0
    assert cfg.comment_lines(tmp_path / "missing.toml") == 0


def test_is_default_compares_meaning():
    assert cfg.is_default("docker", "memory", "1g") and cfg.is_default("docker", "memory", 1024**3)
    assert not cfg.is_default("docker", "memory", "2g")
    assert not cfg.is_default("docker", "memory", "garbage")
