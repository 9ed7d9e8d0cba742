"""The read-only banner of a project screen: which session another client holds
read-write, since when and until when, and the key that takes it over.

:class:`LeaseBanner` owns this client's view of the leases (an
:class:`~vmuser_tui.core.access.Attachment` from ``Access.reconcile``: what it attached,
who holds what) and says what changed between two passes; the policy itself (who may
attach how, which hold refuses which change) is core's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual.notifications import SeverityLevel
from textual.widgets import Static

from vmuser_tui.core.access import Attachment, held_text

if TYPE_CHECKING:  # pragma: no cover
    from vmuser_tui.tui.app import VmuserApp

Note = tuple[str, str, SeverityLevel]  # (text, title, severity) of a notification


class LeaseBanner(Static):
    """Hidden while nobody else holds a session read-write; ``-expired`` once that lease
    expired (then the take-over key works)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.attachment = Attachment()
        self._expired_told: set[tuple[str, str]] = set()
        self._shown: str | None = None

    def on_mount(self) -> None:
        self.display = False

    def _takeover_key(self) -> str:
        return cast("VmuserApp", self.app).key("project.takeover", "T")

    def absorb(self, att: Attachment) -> list[Note]:
        """Take a new pass's attachment; returns the notifications it calls for: its own
        notes, a new holder, a holder's lease that expired since the last pass."""
        before = dict(self.attachment.held)
        self.attachment = att
        out: list[Note] = [(text, "Session", severity) for severity, text in att.notes]
        takeover = self._takeover_key()
        for sid, lease in att.held.items():
            if sid not in before or before[sid].holder != lease.holder:
                out.append((held_text(sid, lease, takeover), "Read-only", "warning"))
            if lease.expires_in() <= 0 and (sid, lease.holder) not in self._expired_told and sid in before:
                self._expired_told.add((sid, lease.holder))
                expired = f"the read-write lease of {lease.actor} on session {sid} expired: {takeover} takes it over"
                out.append((expired, "Lease expired", "warning"))
        return out

    def refusal(self, session_id: str | None) -> str | None:
        """The banner's line when another client's hold refuses a change (``session_id``
        None: to the whole project; else to that session), or None."""
        found = self.attachment.blocker(session_id)
        return held_text(*found, self._takeover_key()) if found else None

    def show(self) -> None:
        """Draw the banner from the attachment (also to refresh "lease expires in 40 s")."""
        held = self.attachment.held
        if held:
            sid, lease = next(iter(held.items()))
            text = held_text(sid, lease, self._takeover_key())
            if len(held) > 1:
                text += f" (and {len(held) - 1} more session{'s' if len(held) > 2 else ''})"
            if text != self._shown:
                self._shown = text
                self.update(Text(text))
        self.display = bool(held)
        self.set_class(any(lease.expires_in() <= 0 for lease in held.values()), "-expired")
