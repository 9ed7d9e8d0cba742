"""What ``vmuser version`` reports: the versions a bug report needs.

Shape: :func:`versions` returns an ordered ``{name: version}`` of strings: ``vmuser``,
``python``, ``sqlite`` (the library Python's sqlite3 is linked with, not the module),
``textual``, ``docker_sdk`` (the docker package) and ``docker_engine`` (``"unreachable"``
when the engine does not answer within :data:`~vmuser_tui.core.runtime.engine_info.TIMEOUT`
seconds). Package versions are read from their metadata (no import of Textual: fast).
Never raises: a missing package is ``"not installed"``.
"""

from __future__ import annotations

import platform
import sqlite3
from importlib import metadata

from vmuser_tui import __version__

UNREACHABLE = "unreachable"


def _package(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def versions(config_path: str | None = None) -> dict[str, str]:
    """The versions (see the module docstring). The engine is the one the config's
    ``[docker] base_url`` names (or ``DOCKER_HOST``, or the default socket); an invalid
    config falls back to those."""
    from vmuser_tui.core import config as config_mod
    from vmuser_tui.core.runtime.engine_info import engine_version

    try:
        base_url = str(config_mod.load(config_path).get("docker", "base_url") or "")
    except config_mod.ConfigError:
        base_url = ""
    return {
        "vmuser": __version__,
        "python": f"{platform.python_version()} ({platform.python_implementation()}, {platform.system()})",
        "sqlite": sqlite3.sqlite_version,
        "textual": _package("textual"),
        "docker_sdk": _package("docker"),
        "docker_engine": engine_version(base_url) or UNREACHABLE,
    }
