"""Human-readable units shared by the adapters (CLI tables, TUI cells)."""

from __future__ import annotations


def human_size(n: int | None) -> str:
    """Bytes in binary units: ``1536`` -> ``'1.5 KiB'``, ``512`` -> ``'512 B'``, None -> ``'-'``."""
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024:
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"
