"""What every part of the service layer shares: settings, database, object store, runtimes."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from vmuser_tui.core.config import Config
from vmuser_tui.core.db import DB_NAME, Database
from vmuser_tui.core.errors import NotFoundError, StoreError

if TYPE_CHECKING:  # pragma: no cover - imported lazily at run time (docker SDK, inotify)
    from vmuser_tui.core.access import Access
    from vmuser_tui.core.engines import Engines
    from vmuser_tui.core.runtime.base import ContainerRuntime
    from vmuser_tui.core.store.live import LiveState, MonitorHub
    from vmuser_tui.core.store.objects import ObjectStore

_warned: set[str] = set()  # paths already warned about in this process (warn once, not per open)


def permission_warnings(data_dir: Path, db_path: Path) -> list[str]:
    """One line per problem when the data directory is open to other users (any group or
    other bit: it should be 0700) or the database files (``vmuser.db``, ``-wal``, ``-shm``)
    are (they should be 0600). Each path is reported once per process; files that do not
    exist are skipped."""
    lines = []
    try:
        mode = os.stat(data_dir).st_mode & 0o777
    except OSError:
        mode = 0
    if mode & 0o077 and str(data_dir) not in _warned:
        _warned.add(str(data_dir))
        lines.append(f"warning: the data directory {data_dir} is open to other users (mode {mode:04o}); "
                     f"restrict it: chmod 700 {data_dir}")
    wide = []
    for path in (db_path, db_path.with_name(db_path.name + "-wal"), db_path.with_name(db_path.name + "-shm")):
        try:
            mode = os.stat(path).st_mode & 0o777
        except OSError:
            continue
        if mode & 0o077 and str(path) not in _warned:
            _warned.add(str(path))
            wide.append(f"{path.name} {mode:04o}")
    if wide:
        lines.append(f"warning: database files in {db_path.parent} are open to other users ({', '.join(wide)}); "
                     f"restrict them: chmod 600 {db_path}*")
    return lines


@dataclass
class Context:
    """Shared state of one :class:`~vmuser_tui.core.service.Vmuser`. Runtimes are created
    lazily, so commands that never touch Docker never import the docker SDK; so is the
    object store, so commands that read only rows (``project list``, ``checkpoint list``,
    ``log``) never load it, its hashing nor its tree codec (issue 15: start-up)."""

    config: Config
    data_dir: Path
    db: Database
    warnings: list[str] = field(default_factory=list)  # for the user, from opening (e.g. file modes)
    _runtimes: dict[str, ContainerRuntime] = field(default_factory=dict)
    _live: dict[str, LiveState] = field(default_factory=dict)
    _hub: MonitorHub | Literal[False] | None = None  # False: tried, this platform has none
    live_enabled: bool = True
    _live_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)  # jobs' threads share _live
    _hub_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _store_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _access: Access | None = None
    _engines: Engines | None = None
    _store: ObjectStore | None = None

    @property
    def store(self) -> ObjectStore:
        """Blobs and trees (:class:`~vmuser_tui.core.store.objects.ObjectStore`), made on
        first use with the ``[store]`` settings."""
        store = self._store
        if store is None:
            from vmuser_tui.core.store.objects import ObjectStore

            with self._store_lock:  # the TUI's threads may ask at once: one store per context
                if self._store is None:
                    self._store = ObjectStore(self.db, level=self.config.get("store", "compression_level"),
                                              workers=self.config.get("store", "workers"))
                store = self._store
        return store

    @property
    def access(self) -> Access:
        """Who may change what (:class:`~vmuser_tui.core.access.Access`); set by
        :class:`~vmuser_tui.core.service.Vmuser` when it opens. RuntimeError before that."""
        if self._access is None:
            raise RuntimeError("no access rules yet: a Context gets them from the Vmuser that opened it")
        return self._access

    @access.setter
    def access(self, access: Access) -> None:
        self._access = access

    @classmethod
    def open(cls, config: Config, *, read_only: bool = False) -> Context:
        """Open the data directory (created, 0700, when missing). ``read_only``: open an
        existing one without writing anything (see :class:`~vmuser_tui.core.db.Database`).
        Raises StoreError (ReadOnlyDataError when it cannot be written), NotFoundError."""
        data_dir = config.data_dir
        if read_only:
            if not data_dir.is_dir():
                raise NotFoundError(f"no data directory at {data_dir}; pass --data-dir DIR or set VMUSER_DATA_DIR")
            db = Database(data_dir / DB_NAME, read_only=True)
            return cls(config=config, data_dir=data_dir, db=db, warnings=permission_warnings(data_dir, db.path))
        fresh = not data_dir.exists()
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
            if fresh:
                os.chmod(data_dir, 0o700)
        except OSError as exc:
            # mkdir(exist_ok) on a file says "File exists": name the real problem
            reason = "not a directory" if data_dir.exists() and not data_dir.is_dir() else exc.strerror or str(exc)
            raise StoreError(f"cannot use {data_dir} as the data directory ({reason}); "
                             "pass --data-dir DIR or set VMUSER_DATA_DIR") from None
        db = Database(data_dir / DB_NAME)
        return cls(config=config, data_dir=data_dir, db=db, warnings=permission_warnings(data_dir, db.path))

    @property
    def workspaces_dir(self) -> Path:
        """Where managed workspaces live: ``<data dir>/workspaces/<project id>``."""
        return self.data_dir / "workspaces"

    def live_state(self, project_id: str, workspace: Path) -> LiveState | None:
        """None when this process keeps no monitors (``live_enabled`` False); else the in-memory
        state of a project's workspace (see :mod:`.store.live`), kept for this process's
        lifetime so captures after the first touch only what changed."""
        from vmuser_tui.core.store.live import LiveState

        if not self.live_enabled:
            return None
        with self._live_lock:
            state = self._live.get(project_id)
            if state is None or state.workspace != Path(workspace):
                if state is not None:
                    state.close()
                state = self._live[project_id] = LiveState(Path(workspace), self.monitor_hub())
            return state

    def monitor_hub(self) -> MonitorHub | None:
        """The process's shared inotify instance, or None where there is none (not Linux)."""
        with self._hub_lock:
            if self._hub is None:
                from vmuser_tui.core.store.live import MonitorHub

                try:
                    self._hub = MonitorHub()
                except (ImportError, OSError):
                    self._hub = False
        return self._hub or None

    def forget_live(self, project_id: str) -> None:
        """Drop a project's in-memory workspace state and its watches (project deleted)."""
        with self._live_lock:
            state = self._live.pop(project_id, None)
        if state is not None:
            state.close()

    @property
    def engines(self) -> Engines:
        """The Docker engines by name (:class:`~vmuser_tui.core.engines.Engines`), made on first use."""
        if self._engines is None:
            from vmuser_tui.core.engines import Engines

            self._engines = Engines(self)
        return self._engines

    def engine_runtime(self, engine: str) -> ContainerRuntime:
        """The runtime of the engine named ``engine`` (``local``: the ``docker`` runtime)."""
        if engine == "local":
            return self.runtime("docker")
        return self.engines.runtime(engine)

    def close(self) -> None:
        """Stop change monitors and SSH tunnels, close the database."""
        if self._engines is not None:
            self._engines.close()
        for state in self._live.values():
            state.close()
        self._live.clear()
        if self._hub:
            self._hub.close()
        if self._store is not None:
            self._store.close()
        self.db.close()

    def runtime(self, name: str) -> ContainerRuntime:
        """The container runtime ``docker`` or ``none`` (created on first use)."""
        if name not in self._runtimes:
            from vmuser_tui.core.runtime import get_runtime

            docker = self.config.values["docker"]
            self._runtimes[name] = get_runtime(name, base_url=docker["base_url"], timeout=docker["timeout"])
        return self._runtimes[name]
