"""A long-lived vmuser process serves captures to short-lived ones (git's fsmonitor daemon idea).

A fresh ``vmuser checkpoint create`` process would have to stat every file of the
workspace; a running ``vmuser worker`` keeps each workspace's change monitor (see
:mod:`vmuser_tui.core.store.live`) and captures only what changed. The CLI asks it over
a Unix socket in the data directory (``worker.sock``, mode 0600, so only the data dir's
owner can use it) and falls back to capturing itself when no worker answers.

Protocol: one JSON object per line each way. Request ``{"op": "checkpoint", "target",
"description", "tags", "allow_empty"}``; reply ``{"ok": true, "checkpoint": {...}, "created": bool,
"new_bytes": int, "skipped": [[path, reason], ...], "notes": [str, ...]}`` or ``{"ok": false, "error": str,
"exit_code": int}``. The client side imports only ``socket`` and ``json``, so the CLI
stays fast; and ``socket`` only once the socket file exists (a checkpoint with no worker
running pays nothing for asking, issue 15).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - the client side stays import-light
    import socket

    from vmuser_tui.core.service import Vmuser

SOCKET_NAME = "worker.sock"
CLIENT_TIMEOUT = 120.0  # seconds: a big capture may take a while


def socket_path(data_dir: Path) -> Path:
    """Where a worker for ``data_dir`` listens."""
    return Path(data_dir) / SOCKET_NAME


def request(path: Path, payload: dict, *, timeout: float = CLIENT_TIMEOUT) -> dict | None:
    """Send one request to the worker at ``path``; None when no worker answers (no socket,
    refused, or the connection broke before a reply), so the caller does the work itself."""
    import socket

    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(os.fspath(path))
            s.sendall(json.dumps(payload).encode() + b"\n")
            with s.makefile("rb") as fh:
                line = fh.readline()
    except OSError:
        return None
    if not line:
        return None
    try:
        return json.loads(line)
    except ValueError:
        return None


def _handle(vm: Vmuser, payload: dict) -> dict:
    from vmuser_tui.core.errors import VmuserError

    try:
        if payload.get("op") != "checkpoint":
            return {"ok": False, "error": f"unknown request {payload.get('op')!r}", "exit_code": 2}
        out = vm.checkpoints.create(
            str(payload["target"]), description=str(payload.get("description", "")),
            tags=[str(t) for t in payload.get("tags", [])], allow_empty=bool(payload.get("allow_empty", False)),
        )
        return {"ok": True, "checkpoint": out.checkpoint.to_json(), "created": out.created,
                "new_bytes": out.new_bytes, "skipped": out.skipped[:50], "notes": out.notes}
    except VmuserError as exc:
        return {"ok": False, "error": str(exc), "exit_code": exc.exit_code}
    except (KeyError, TypeError, ValueError) as exc:
        return {"ok": False, "error": f"malformed request ({exc})", "exit_code": 2}


class Server:
    """Serve requests for one :class:`~vmuser_tui.core.service.Vmuser` until :meth:`stop`.

    Raises :class:`~vmuser_tui.core.errors.StateError` when another worker already serves
    the data directory.
    """

    def __init__(self, vm: Vmuser) -> None:
        import threading

        self.vm = vm
        self.path = socket_path(vm.data_dir)
        self._stop = threading.Event()
        self._sock: socket.socket | None = None

    def start(self) -> None:
        from vmuser_tui.core.errors import StateError

        if request(self.path, {"op": "ping"}, timeout=2) is not None:
            raise StateError(f"a vmuser worker already serves {self.vm.data_dir} ({self.path}); stop it first")
        try:
            self.path.unlink()  # a socket left by a worker that died
        except FileNotFoundError:
            pass
        import socket

        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)  # the socket file is created 0600
        try:
            sock.bind(os.fspath(self.path))
        finally:
            os.umask(old)
        sock.listen(16)
        sock.settimeout(0.5)
        self._sock = sock

    def serve_forever(self) -> None:
        """Accept and answer requests, one at a time, until :meth:`stop` is called."""
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            with conn:
                conn.settimeout(30)
                try:
                    with conn.makefile("rb") as fh:
                        line = fh.readline(1 << 20)
                    payload = json.loads(line) if line else {}
                    reply = _handle(self.vm, payload) if isinstance(payload, dict) else {
                        "ok": False, "error": "malformed request", "exit_code": 2}
                    conn.sendall(json.dumps(reply).encode() + b"\n")
                except (OSError, ValueError):
                    continue  # the client went away or sent garbage: nothing to answer

    def stop(self) -> None:
        """Stop serving and remove the socket file."""
        self._stop.set()
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass
