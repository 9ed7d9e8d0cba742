"""Misspelt ``VMUSER_*`` variables (session 22).

Settings can come from ``VMUSER_<SECTION>_<KEY>`` variables (:mod:`vmuser_tui.core.config`);
a name that is no setting is ignored on purpose (other programs and the tests use the
prefix too: ``VMUSER_FROZEN_TIME``), so ``VMUSER_SNAPSHOT_INTERVAL=60`` changed nothing and
said nothing. :func:`misspelt` finds the names that are *close* to a setting's (difflib's
ratio, as git's "did you mean"), for ``vmuser config validate`` to name.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

#: how alike a name must be to a setting's to be called a misspelling of it (difflib ratio)
CUTOFF = 0.85


def setting_variables(schema: Mapping[str, Iterable[str]]) -> list[str]:
    """Every ``VMUSER_*`` variable that sets something: one per ``[section] key`` of
    ``schema`` (:data:`vmuser_tui.core.config.SCHEMA`), and VMUSER_CONFIG."""
    return ["VMUSER_CONFIG"] + [f"VMUSER_{section}_{key}".upper() for section, keys in schema.items() for key in keys]


def misspelt(environ: Mapping[str, str], schema: Mapping[str, Iterable[str]]) -> list[tuple[str, str]]:
    """``(variable, the setting variable it looks like)`` for each ``VMUSER_*`` variable in
    ``environ`` that sets nothing but is close to one that does; sorted by name."""
    known = setting_variables(schema)
    found = []
    for name in sorted(environ):
        if not name.startswith("VMUSER_") or name in known:
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=CUTOFF)
        if close:
            found.append((name, close[0]))
    return found
