"""Ask several Docker engines "are you there?" at once, with a bounded wait (issue 14).

Start-up and reconcile talk to every engine that has active sessions; a dead host must
not slow the others or the first screen. Each engine is pinged in its own thread; the
ones that have not answered when the wait is over count as unreachable for now.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from vmuser_tui.core.errors import VmuserError

if TYPE_CHECKING:  # pragma: no cover
    from vmuser_tui.core.context import Context

#: Seconds reconcile waits for engines other than ``local`` at most, whatever their timeout:
#: every command reconciles when it opens, so this bounds what a hung host adds to each.
MAX_WAIT = 1.5


def in_parallel(work: Callable[[str], object], names: list[str], limit: float) -> dict[str, object]:
    """``{name: work(name)}`` for the calls that returned within ``limit`` seconds, each in
    its own daemon thread (a call still blocked on a dead host neither delays the answer
    nor keeps the process alive at exit, as a pool's threads would). A call that raised
    maps to its exception."""
    results: dict[str, object] = {}
    lock = threading.Lock()

    def run(name: str) -> None:
        try:
            value: object = work(name)
        except Exception as exc:  # noqa: BLE001 - handed to the caller as the result
            value = exc
        with lock:
            results[name] = value

    threads = [threading.Thread(target=run, args=(n,), daemon=True, name=f"vmuser-probe-{n}") for n in names]
    for t in threads:
        t.start()
    deadline = time.monotonic() + limit
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    with lock:
        return dict(results)


def probe_engines(ctx: Context, engines: list[str], *, wait_s: float | None = None) -> dict[str, str | None]:
    """``{engine: None}`` for each engine that answered a ping, ``{engine: "one line"}``
    for one that refused, failed or did not answer within ``wait_s`` seconds (default: the
    largest engine timeout, at most :data:`MAX_WAIT`; ``local`` alone: its own timeout).
    Never raises. The daemon threads of engines still silent are left to finish on their own."""

    def ping(name: str) -> str | None:
        try:
            ctx.engine_runtime(name).ping()
        except VmuserError as exc:
            return str(exc)
        return None

    if engines == ["local"]:
        return {"local": ping("local")}
    def timeout(name: str) -> float:
        try:
            return float(ctx.engines.timeout(name))
        except VmuserError:  # an engine no longer in config: nothing to wait for
            return 0.0

    limit = wait_s if wait_s is not None else min(MAX_WAIT, max(timeout(n) for n in engines))
    answers = in_parallel(ping, engines, limit)
    out: dict[str, str | None] = {}
    for name in engines:
        if name not in answers:
            out[name] = f"engine {name} did not answer within {limit:g} s"
        else:
            answer = answers[name]
            out[name] = answer if isinstance(answer, str) or answer is None else str(answer)
    return out
