"""Where the ``.tcss`` files live: inside the installed wheel, or at the repository top level."""

from __future__ import annotations

from pathlib import Path, PurePath


def styles_dir() -> Path:
    """``vmuser_tui/styles`` when installed from a wheel, else the repository's ``styles/``."""
    import vmuser_tui

    shipped = Path(vmuser_tui.__file__).parent / "styles"
    if shipped.is_dir():
        return shipped
    return Path(__file__).parents[2] / "styles"


def css(*names: str) -> list[str | PurePath]:
    """Paths of ``styles/<name>.tcss`` for a ``CSS_PATH`` (typed as Textual's ``CSSPathType``
    list, which is invariant: a ``list[Path]`` would not do)."""
    base = styles_dir()
    return [base / f"{name}.tcss" for name in names]
