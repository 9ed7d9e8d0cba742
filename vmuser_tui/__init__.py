"""vmuser: container-backed development sessions with content-addressed checkpoints.

Layers (see README): ``core`` is the embedded service layer (no Textual, no argparse);
``cli`` and ``tui`` are thin adapters over :class:`vmuser_tui.core.service.Vmuser`.
"""

__version__ = "0.1.0"
