"""Identifiers: project ids ``<prefix>-<8 hex>``, short random session/checkpoint ids.

Prefix resolution works as git's abbreviated object names: any unique prefix of an id
is accepted; an ambiguous prefix lists the candidates.
"""

from __future__ import annotations

import os
import re
import unicodedata

from vmuser_tui.core.errors import UsageError

PREFIX_RE = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
PROJECT_ID_RE = re.compile(r"^[a-z][a-z0-9-]{0,31}-[0-9a-f]{8}$")
MAX_PREFIX = 32


def validate_prefix(prefix: str) -> str:
    """Return ``prefix`` if it is a valid project-id prefix.

    Valid: lowercase, starts with a letter, then letters, digits and hyphens, at most
    32 characters, not ending in a hyphen. Raises :class:`UsageError` otherwise.
    """
    if not PREFIX_RE.match(prefix) or prefix.endswith("-"):
        raise UsageError(
            f"invalid project prefix {prefix!r}: use 1-32 lowercase letters, digits and "
            "hyphens, starting with a letter (e.g. 'web-app')"
        )
    return prefix


def prefix_from_name(name: str) -> str:
    """Derive a valid prefix from a free-form project name.

    ``'My Web App!'`` -> ``'my-web-app'``; a name with no usable letters gives ``'project'``.
    """
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    slug = re.sub(r"^[^a-z]+", "", slug)  # must start with a letter
    slug = slug[:MAX_PREFIX].rstrip("-")
    return slug or "project"


def new_project_id(prefix: str) -> str:
    """A new project id: ``<prefix>-<8 random hex digits>``."""
    return f"{validate_prefix(prefix)}-{os.urandom(4).hex()}"


def new_short_id(length: int = 10) -> str:
    """A new session or checkpoint id: ``length`` random lowercase hex digits (40 bits at 10)."""
    # what secrets.token_hex does, without importing secrets (hmac, base64, random: start-up time)
    return os.urandom((length + 1) // 2).hex()[:length]


TAG_MAX = 64


def validate_tag(tag: str) -> str:
    """A tag is 1-64 printable characters without spaces or commas, not starting with '-'
    or '+' (the TUI's tag prompt reads "-x" as "remove x" and "+x" as "add x", so such a tag
    could never be removed there). Raises UsageError."""
    tag = tag.strip()
    if not tag or len(tag) > TAG_MAX or any(c.isspace() or c == "," or not c.isprintable() for c in tag):
        raise UsageError(f"invalid tag {tag!r}: use 1-{TAG_MAX} characters without spaces or commas")
    if tag[0] in "-+":
        raise UsageError(f"invalid tag {tag!r}: a tag may not start with '-' or '+' (they remove and add tags "
                         f"in the TUI); e.g. {tag.lstrip('-+') or 'wip'!r}")
    return tag
