"""Keep secrets out of what vmuser stores and shows: environment values, log details, files.

A name looks secret when it matches ``*TOKEN*``, ``*SECRET*``, ``*PASSWORD*`` or ``*_KEY``
(case-insensitive), so ``GITHUB_TOKEN``, ``aws_secret_access_key``, ``DB_PASSWORD`` and
``STRIPE_API_KEY`` are redacted while ``PATH`` or ``HOME`` are kept. Values become
:data:`MASK`. Redaction happens where data is written (operation log, checkpoint state)
and again where it is read, so rows written by older versions are masked too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

MASK = "***"
_SECRET_NAME = re.compile(r"(TOKEN|SECRET|PASSWORD)|_KEY$", re.IGNORECASE)
# `NAME=value` inside a string (an argv item such as `GITHUB_TOKEN=abc`, or `env X=1`).
_ASSIGNMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", re.DOTALL)

#: Files left out of automatic checkpoints unless the project opts in (gitignore syntax).
DEFAULT_SECRET_PATTERNS = [".env", "*.pem", "*.key", "id_rsa*", "id_ed25519*"]


def is_secret_name(name: str) -> bool:
    """True when an environment variable or key name looks like it holds a secret."""
    return bool(_SECRET_NAME.search(name))


def redact_env(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of an environment mapping ``{name: value}`` with secret-looking values masked.

    ``{"HOME": "/tmp", "API_TOKEN": "abc"}`` -> ``{"HOME": "/tmp", "API_TOKEN": "***"}``.
    """
    return {k: (MASK if is_secret_name(str(k)) else v) for k, v in mapping.items()}


def redact(value: Any) -> Any:
    """Mask secrets anywhere in a JSON-like value (dicts, lists, strings), recursively.

    Dict values under secret-looking keys become :data:`MASK`; strings of the form
    ``NAME=value`` with a secret-looking NAME become ``NAME=***``. Other values are
    returned as they are (a new container only where something changed inside).
    """
    if isinstance(value, Mapping):
        return {k: (MASK if isinstance(k, str) and is_secret_name(k) else redact(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    if isinstance(value, str) and "=" in value:
        m = _ASSIGNMENT.match(value)
        if m and is_secret_name(m.group(1)):
            return f"{m.group(1)}={MASK}"
    return value
