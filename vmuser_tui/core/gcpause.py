"""Pause the cyclic garbage collector around bulk object building.

Building many small acyclic objects (a search's 10,000 matches, a capture's per-file
records) lets CPython's cyclic collector run every 700 container allocations and
re-traverse everything still young: it finds nothing to free, and cost a search for a
word in all 10,000 checkpoints 5 to 8 ms (benchmarks/search.py; the one collection after
the block, over all of them at once, included).
Reference counting still frees everything as usual; only cycles wait for the next
collection. A capture runs under it too; core/store/dirscan.py's walk pauses it the same way.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """The cyclic collector paused for the block. The collector is process-wide: a block
    entered while it is already paused (another thread's) leaves it as it found it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
