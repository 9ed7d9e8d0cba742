"""Ignore rules: ``.vmuserignore`` at the workspace root plus ``[snapshots] ignore``.

Both use gitignore syntax (via pathspec's ``GitIgnoreSpec``): ``*.log``, ``build/``,
``!keep.log``. An ignored path is left out of checkpoints and of diffs against the live
workspace, and a restore never touches it (it is in neither side of the plan).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vmuser_tui.core.errors import ConfigError

IGNORE_FILE = ".vmuserignore"


@dataclass(frozen=True)
class IgnoreRules:
    """Compiled rules; ``key`` changes whenever the rules do (a cache key)."""

    match: Callable[[str, bool], bool] | None  # store.scan.IgnoreFn: (path, is_dir) -> leave out?
    key: str
    patterns: tuple[str, ...]


def load(workspace: Path, extra: list[str]) -> IgnoreRules:
    """Read ``.vmuserignore`` (if any) and add ``extra`` patterns from the config.

    Returns rules whose ``match(path, is_dir)`` says whether to leave a path out, or
    ``match=None`` when there are no rules (no per-file cost at all). Raises
    :class:`ConfigError` naming the file for an unreadable or malformed rule file.
    """
    path = Path(workspace) / IGNORE_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read ignore rules ({exc}); fix or remove the file") from None
    return parse(text, extra)


def parse(text: str, extra: list[str]) -> IgnoreRules:
    """The rules of a ``.vmuserignore`` whose content is ``text`` plus ``extra`` patterns
    (e.g. the file as a checkpoint stored it). Raises :class:`ConfigError` for a malformed
    pattern."""
    lines = [p for p in extra if p.strip()]
    lines += [ln.rstrip("\n") for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        return IgnoreRules(None, "", ())
    import pathspec

    try:
        spec = pathspec.GitIgnoreSpec.from_lines(lines)
    except Exception as exc:  # pathspec raises plain errors for malformed patterns
        raise ConfigError(f"ignore rules ({IGNORE_FILE} or [snapshots] ignore): {exc}") from None

    def match(rel: str, is_dir: bool) -> bool:
        return spec.match_file(rel + "/" if is_dir else rel)

    key = hashlib.sha256("\n".join(lines).encode()).hexdigest()
    return IgnoreRules(match, key, tuple(lines))


def with_exclusions(rules: IgnoreRules, paths: list[str]) -> IgnoreRules:
    """``rules`` that also match each of ``paths`` (workspace-relative folders that are not
    the user's: vmuser's data dir, another project's workspace) and everything below
    them, whatever ``.vmuserignore`` says (a ``!`` line cannot bring them back). The key
    changes with ``paths``, so a stat cache keyed on it is rebuilt when they do. No
    ``paths``: ``rules`` unchanged."""
    if not paths:
        return rules
    fixed = tuple(paths)
    inner = rules.match

    def match(rel: str, is_dir: bool) -> bool:
        for p in fixed:
            if rel == p or rel.startswith(p + "/"):
                return True
        return bool(inner and inner(rel, is_dir))

    key = hashlib.sha256((rules.key + "\0exclude\0" + "\n".join(fixed)).encode()).hexdigest()
    return IgnoreRules(match, key, rules.patterns)
