"""Plain records the service layer returns to adapters (no behaviour, JSON-ready).

Timestamps are UTC ISO 8601 strings (see :mod:`vmuser_tui.core.clock`); sizes are bytes.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field


def _json_list(text: str | None) -> list:
    """A JSON list column; the common empty case skips the parser (timelines list 10k rows)."""
    return json.loads(text) if text and text != "[]" else []


_tags = _json_list


def project_status(live: int, paused: int, unreachable: int = 0) -> str:
    """A project's status from its count of ``live`` sessions (running or paused), of
    ``paused`` ones and of ``unreachable`` ones (their engine does not answer; issue 14):
    running while one runs, else unreachable while one is, paused when every live one is
    paused, else idle. Only an idle project is a candidate for idle cleanup."""
    if live > paused:
        return "running"
    if unreachable:
        return "unreachable"
    return "paused" if paused else "idle"


def _state(text: str | None) -> dict:
    """The state column, masked on read too: container config holds environment variables
    (core.redact)."""
    if text and text != "{}":
        from vmuser_tui.core.redact import redact  # (only for rows that have a state: start-up time)

        return redact(json.loads(text))
    return {}


def _annotations(text: str | None) -> list[dict]:
    """The annotations column; ``tags`` is a list on each, on rows from before annotation
    tags too (see :mod:`vmuser_tui.core.annotations`)."""
    notes = _json_list(text)
    return [n if isinstance(n.get("tags"), list) else {**n, "tags": []} for n in notes if isinstance(n, dict)]


@dataclass
class Project:
    """A body of work with a workspace directory.

    ``status`` is derived (:func:`project_status`): ``running`` (a session runs),
    ``unreachable`` (one runs on an engine that does not answer), ``paused`` (its only
    live sessions are paused), ``idle`` otherwise.
    ``cleanup_due_at`` is when idle cleanup would delete it (None when pinned).
    """

    id: str
    name: str
    description: str
    workspace: str
    managed: bool
    image: str | None
    pinned: bool
    tags: list[str]
    head_checkpoint_id: str | None
    created_at: str
    updated_at: str
    last_active_at: str
    keep_until: str | None = None
    status: str = "idle"
    sessions: int = 0
    running_sessions: int = 0
    checkpoints: int = 0
    cleanup_due_at: str | None = None
    # Where the workspace lives (schema 6): ``local`` (the folder above, on this host) or
    # the name of an engine in config (a volume on that engine; see core/engines.py).
    engine: str = "local"

    @classmethod
    def from_row(cls, row: dict) -> Project:
        return cls(
            id=row["id"], name=row["name"], description=row["description"], workspace=row["workspace"],
            managed=bool(row["managed"]), image=row["image"], pinned=bool(row["pinned"]),
            tags=_tags(row["tags"]), head_checkpoint_id=row["head_checkpoint_id"],
            created_at=row["created_at"], updated_at=row["updated_at"],
            last_active_at=row["last_active_at"], keep_until=row.get("keep_until"),
            sessions=row.get("n_sessions") or 0, running_sessions=row.get("n_running") or 0,
            checkpoints=row.get("n_checkpoints") or 0,
            status=project_status(row.get("n_running") or 0, row.get("n_paused") or 0,
                                  row.get("n_unreachable") or 0),
            engine=row.get("engine") or "local",
        )

    def to_json(self) -> dict:
        return asdict(self)


_SESSION_JSON = ("ports", "metadata", "env_keys", "setup")  # columns stored as JSON text


@dataclass
class Session:
    """A period of work on a project: a container (runtime ``docker``) or none (``none``).

    ``status``: created -> running <-> paused -> stopped; failed from anywhere.
    """

    id: str
    project_id: str
    runtime: str
    image: str | None
    container_id: str | None
    container_name: str | None
    status: str
    status_reason: str
    created_at: str
    started_at: str | None
    stopped_at: str | None
    last_active_at: str
    checkpoints: int = 0
    # What it was started with (schema 4): published ports as
    # ``[{"container", "host", "host_ip", "protocol"}]``, the user's ``--meta`` pairs, the
    # names (never the values) of the environment variables set, the folder and user exec
    # starts with (None: /workspace, the container's user), a summary of the launch.
    ports: list[dict] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)
    env_keys: list[str] = field(default_factory=list)
    workdir: str | None = None
    exec_user: str | None = None
    setup: dict = field(default_factory=dict)
    # The engine its container runs on (schema 6): ``local`` or a name from ``[engines]``.
    engine: str = "local"

    @classmethod
    def from_row(cls, row: dict) -> Session:
        values = {k: row[k] for k in cls.__dataclass_fields__ if k in row and k != "checkpoints"}
        for key in _SESSION_JSON:
            if isinstance(values.get(key), str):
                values[key] = json.loads(values[key])
        return cls(**values, checkpoints=row.get("n_checkpoints") or 0)

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class Checkpoint:
    """An immutable snapshot of a project's workspace: root tree hash plus metadata.

    ``kind`` is ``manual``, ``auto`` or ``pre-restore``; ``parent_id`` links the
    timeline (a restore followed by new work branches it).
    """

    id: str
    project_id: str
    session_id: str | None
    parent_id: str | None
    root_tree: str
    kind: str
    description: str
    tags: list[str]
    annotations: list[dict]
    file_count: int
    total_size: int
    image_id: str | None
    created_at: str
    state: dict = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: dict) -> Checkpoint:
        return cls(
            id=row["id"], project_id=row["project_id"], session_id=row["session_id"],
            parent_id=row["parent_id"], root_tree=row["root_tree"], kind=row["kind"],
            description=row["description"], tags=_tags(row["tags"]),
            annotations=_annotations(row["annotations"]), file_count=row["file_count"],
            total_size=row["total_size"], image_id=row["image_id"], created_at=row["created_at"],
            state=_state(row["state"]),
        )

    def to_json(self) -> dict:
        # a plain dict of the fields: asdict() deep-copies recursively, 10x slower on 10k rows
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


#: The ``checkpoints`` columns a :class:`Checkpoint` is made of, in its fields' order (a
#: search reads them as tuples: :func:`vmuser_tui.core.search.checkpoints`).
CHECKPOINT_FIELDS = ("id", "project_id", "session_id", "parent_id", "root_tree", "kind", "description", "tags",
                     "annotations", "file_count", "total_size", "image_id", "created_at", "state")
assert CHECKPOINT_FIELDS == tuple(Checkpoint.__dataclass_fields__)


@dataclass
class FileInfo:
    """One entry of the virtual filesystem: ``kind`` file/dir/symlink, ``size`` bytes,
    ``mode`` permission bits, ``hash`` (stored entries; live files: None), ``mtime``
    (live entries; stored entries: None), ``target`` for symlinks."""

    path: str
    name: str
    kind: str
    size: int
    mode: int
    hash: str | None = None
    mtime: str | None = None
    target: str | None = None

    def to_json(self) -> dict:
        d = asdict(self)
        d["mode"] = f"{self.mode:o}"
        return d
