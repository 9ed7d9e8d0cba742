"""Secret-looking names are masked wherever vmuser stores or shows environment values."""

from __future__ import annotations

import pytest

from vmuser_tui.core.redact import MASK, is_secret_name, redact, redact_env


@pytest.mark.parametrize(
    "name",
    [
        "GITHUB_TOKEN",
        "token",
        "AWS_SECRET_ACCESS_KEY",
        "client_secret",
        "DB_PASSWORD",
        "PasswordFile",
        "STRIPE_API_KEY",
        "ssh_key",
        "X_TOKEN_FILE",
    ],
)
def test_secret_names(name):
    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["PATH", "HOME", "KEY", "KEYBOARD", "MONKEY", "LANG", "TERM", "USER"])
def test_ordinary_names(name):
    assert not is_secret_name(name)


def test_redact_env_masks_values_and_keeps_the_rest():
    env = {"HOME": "/tmp", "API_TOKEN": "abc", "aws_secret_access_key": "s", "PATH": "/bin"}
    assert redact_env(env) == {"HOME": "/tmp", "API_TOKEN": MASK, "aws_secret_access_key": MASK, "PATH": "/bin"}
    assert env["API_TOKEN"] == "abc"  # a copy: the caller's mapping is untouched


def test_redact_walks_log_details():
    details = {
        "command": ["env", "GITHUB_TOKEN=ghp_123", "DEBUG=1", "make"],
        "env": {"DB_PASSWORD": "hunter2", "LANG": "C"},
        "nested": [{"deploy_key": "k"}, "x=1"],
        "files": 3,
    }
    assert redact(details) == {
        "command": ["env", f"GITHUB_TOKEN={MASK}", "DEBUG=1", "make"],
        "env": {"DB_PASSWORD": MASK, "LANG": "C"},
        "nested": [{"deploy_key": MASK}, "x=1"],
        "files": 3,
    }
