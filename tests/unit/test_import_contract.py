"""The import contract: the adapters (``vmuser_tui/tui`` and ``vmuser_tui/cli``) import from
the core only its facade and its public modules and types.

The core's public surface, for tui/ and cli/:

1. The facade: ``core.service`` (:class:`~vmuser_tui.core.service.Vmuser` and its
   constants). Every action goes through it: ``vm.projects``, ``vm.checkpoints``,
   ``vm.sessions``, ``vm.fs``, ``vm.access``, ``vm.scheduler()``...
2. The values that cross it: ``core.errors`` (what an adapter catches and shows),
   ``core.models`` (the dataclasses the service returns), ``core.config`` (settings: loaded
   before the service opens, edited by ``vmuser config`` and the settings screen).
3. Pure helpers (:data:`PURE`): no state, no I/O, no database, and they import from the
   core only each other and ``core.errors`` (:func:`test_pure_helpers_import_only_pure_helpers`
   checks it): ``clock``, ``text``, ``units``, ``bounds``, ``redact``, ``pathcheck``,
   ``ids``, ``retention``. Both adapters format times, sizes and names the same way
   through them.
4. Public names that live beside the machinery that makes them (:data:`PUBLIC_NAMES`):
   result types a service method returns (``SessionMetrics``, ``Lease``,
   ``RestoreOutcome``), the one restore summary both adapters show, and the client half
   of the worker protocol.

Everything else in the core (db, store, runtime, journal, access, leases, sessions,
checkpoints, workers...) is machinery behind the facade.

Design notes:

- A list of public modules and names rather than a ``core/api.py`` that re-exports them:
  the adapters keep importing a name from the module that defines it (one place to read),
  and the contract is checked here instead of being a convention of one file. A module
  that becomes public is added to a set below, with its reason.
- Every import counts: module level, inside functions (the CLI imports lazily to start
  fast) and under ``TYPE_CHECKING`` (a type in a signature is part of the contract too).
- :data:`KNOWN_EXCEPTIONS` lists today's violations, each with who removes it and how. It
  must be exact: an entry that no longer occurs fails
  :func:`test_known_exceptions_still_occur`, so the set only shrinks, to empty.
- The walk reads source (``ast``); nothing is imported, so the test holds without Docker.
- The same walk keeps SQL out of the adapters (:func:`test_adapters_run_no_sql`): no
  ``vm.db``, no connection, no sqlite3 import in tui/ or cli/.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "vmuser_tui"
ADAPTERS = ("tui", "cli")
CORE = "vmuser_tui.core"

#: 1 and 2 above: the facade and the values that cross it.
FACADE = {f"{CORE}.service", f"{CORE}.errors", f"{CORE}.models", f"{CORE}.config"}

#: 3 above: pure helper modules (checked to be leaves by test_pure_helpers_import_only_pure_helpers).
PURE = {
    f"{CORE}.{name}"
    for name in ("clock", "text", "units", "bounds", "redact", "pathcheck", "ids", "retention", "exec_options",
                 # what a user types into a search, and the marks of a match (issue 16); the
                 # checks and placeholder filling of [[commands]] (issue 16)
                 "search_query", "custom_commands",
                 # names of misspelt VMUSER_* variables, for config validate (session 22)
                 "env_typos")
}

#: 4 above: public names in modules that are otherwise machinery.
PUBLIC_NAMES: dict[str, set[str]] = {
    # what vm.session_metrics(sid) returns
    f"{CORE}.metrics": {"SessionMetrics"},
    # what vm.access.holders(sid) returns (who holds a session, until when)
    f"{CORE}.leases": {"Lease"},
    # what vm.restores.restore returns, and the one summary of it (and its counts, which
    # the TUI colours) that the CLI and the TUI both show (issue 12: one formatter per thing)
    f"{CORE}.restoring": {"RestoreOutcome", "restore_summary", "restore_counts"},
    # what vm.checkpoints.create returns (the TUI's checkpoint flow reports it)
    f"{CORE}.checkpoints": {"CreateOutcome"},
    # what vm.checkpoints.remove returns (`checkpoint rm` and the TUI's remove dialog show it)
    f"{CORE}.checkpoint_rm": {"RemoveResult"},
    # the client half of the worker protocol: the CLI's fast path asks a running
    # `vmuser worker` without opening the service at all (core/rpc.py, cli/worker_client.py)
    f"{CORE}.rpc": {"request", "socket_path"},
    # what vm.scheduler().run_due() returns and the worker's on_result callback gets
    f"{CORE}.workers.scheduler": {"JobResult"},
    # what vm.sessions.start and vm.sessions.exec return (the TUI's session flows report them)
    f"{CORE}.sessions": {"StartOutcome"},
    # (OutputSink: what a custom command's runner hands its output to, issue 16)
    f"{CORE}.runtime.base": {"ExecResult", "ExecOutcome", "StreamName", "OutputSink"},
    # what the CLI and the TUI hand vm.sessions.exec_stream to cancel, interrupt and resize
    # a running command from another thread or a signal handler (issue 13)
    f"{CORE}.runtime.exec_control": {"ExecControl"},
    # shell completion's fast path: a TAB asks the data dir for ids with one read-only query,
    # without opening the service (no migration, no Docker, no reconcile; issue 16)
    f"{CORE}.completion": {"candidates", "KINDS"},
    # `vmuser version`: versions for a bug report, which must work when the database cannot be opened
    f"{CORE}.about": {"versions"},
    # what vm.checkpoints.search returns (checkpoint list --search, the timeline's / search)
    f"{CORE}.search": {"CheckpointMatch"},
    # what vm.engine_statuses returns (engine list/check, the TUI's engines view; issue 14)
    f"{CORE}.engines": {"EngineStatus"},
    # what vm.sessions.stream_logs returns (lines of a container's output) and what it yields
    f"{CORE}.runtime.logs": {"LogLine", "LogStream"},
    # what vm.access.reconcile returns (this client's sessions and their holders), and the
    # one wording of who holds a session that the TUI's banner and sessions panel show
    f"{CORE}.access": {"Attachment", "held_text", "holders_text"},
    # issue 13: what vm.sessions.start takes besides the project (--env, --publish, --meta,
    # --dockerfile, --no-devcontainer, a progress callback for the image build),
    # the one parser of --env/--meta (the CLI checks them before it says "starting"), and the
    # one wording of a published port and of a session's variables (CLI and TUI alike)
    f"{CORE}.launch": {"StartOptions"},
    f"{CORE}.session_env": {"parse_env_args", "parse_meta", "env_text"},
    f"{CORE}.ports": {"ports_text", "port_text"},
}

#: Today's violations, as "<file under vmuser_tui/> -> <module>[:<name>]". Each says who
#: removes it; when it is gone, delete the line (test_known_exceptions_still_occur says so).
KNOWN_EXCEPTIONS = {
    # New-project dialog: validate_tag now lives in core.ids (still importable from
    # core.projects); the import line changes to `from vmuser_tui.core.ids import validate_tag`.
    f"tui/screens/new_project.py -> {CORE}.projects:validate_tag",
}


def _is_module(dotted: str) -> bool:
    """True when ``dotted`` (``vmuser_tui.x.y``) names a module or package in the source tree."""
    rel = Path(*dotted.split(".")[1:])
    return (PACKAGE / rel).with_suffix(".py").is_file() or (PACKAGE / rel / "__init__.py").is_file()


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def core_imports(path: Path) -> list[tuple[str, str | None]]:
    """``(module, name)`` for every import of the core in ``path``: ``name`` is None for a
    whole-module import (``import vmuser_tui.core.x``, ``from vmuser_tui.core import x``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    here = _module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    out: list[tuple[str, str | None]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, None) for a in node.names if a.name == CORE or a.name.startswith(CORE + ".")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module != CORE and not module.startswith(CORE + "."):
                continue
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                if _is_module(sub):
                    out.append((sub, None))  # `from vmuser_tui.core import clock`
                else:
                    out.append((module, alias.name))
    return out


def allowed(module: str, name: str | None) -> bool:
    if module in FACADE or module in PURE:
        return True
    return name is not None and name in PUBLIC_NAMES.get(module, set())


def _adapter_files() -> list[Path]:
    return sorted(p for area in ADAPTERS for p in (PACKAGE / area).rglob("*.py"))


def violations() -> set[str]:
    found = set()
    for path in _adapter_files():
        rel = path.relative_to(PACKAGE).as_posix()
        for module, name in core_imports(path):
            if not allowed(module, name):
                found.add(f"{rel} -> {module}" + (f":{name}" if name else ""))
    return found


def test_adapters_import_only_the_public_core():
    new = sorted(violations() - KNOWN_EXCEPTIONS)
    assert new == [], (
        "tui/ and cli/ may import from the core only the facade (core.service), core.errors, "
        "core.models, core.config, the pure helpers and the public names listed in this test; "
        "go through the service instead, or make the name public here with its reason:\n" + "\n".join(new)
    )


def test_known_exceptions_still_occur():
    gone = sorted(KNOWN_EXCEPTIONS - violations())
    assert gone == [], "fixed: delete these from KNOWN_EXCEPTIONS:\n" + "\n".join(gone)


#: Attributes that would mean SQL in an adapter (``vm.db``, a connection, a cursor call).
SQL_ATTRIBUTES = {"db", "conn", "execute", "executemany", "executescript"}


def test_adapters_run_no_sql():
    """No SQL outside the core (issue 12): tui/ and cli/ neither import sqlite3 or
    sqlite_utils nor touch ``vm.db`` or a connection; they ask the service
    (``vm.data_version()``, ``vm.session_metrics(sid)``, ``vm.log_operations()``...)."""
    offenders = []
    for path in _adapter_files():
        rel = path.relative_to(PACKAGE).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Attribute) and node.attr in SQL_ATTRIBUTES:
                offenders.append(f"{rel}:{node.lineno}: .{node.attr}")
            elif isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                offenders += [f"{rel}:{node.lineno}: import {n}" for n in names
                              if n.split(".")[0] in ("sqlite3", "sqlite_utils")]
    assert offenders == []


def test_pure_helpers_import_only_pure_helpers():
    """A pure helper stays a leaf: from the core it imports only other pure helpers and
    core.errors, so importing one never drags in the database, the store or Docker."""
    offenders = []
    for module in sorted(PURE):
        path = PACKAGE / Path(*module.split(".")[1:])
        for imported, name in core_imports(path.with_suffix(".py")):
            if imported not in PURE and imported != f"{CORE}.errors":
                offenders.append(f"{module} -> {imported}" + (f":{name}" if name else ""))
    assert offenders == []


def test_public_names_exist():
    """The lists above name what is really there (a moved type is moved here too)."""
    for module in sorted(FACADE | PURE):
        assert _is_module(module), module
    missing = [f"{module}:{name}" for module, names in sorted(PUBLIC_NAMES.items())
               for name in sorted(names) if not hasattr(importlib.import_module(module), name)]
    assert missing == []


def test_the_walk_sees_every_form_of_import(tmp_path, monkeypatch):
    """The checker itself: module-level, lazy, TYPE_CHECKING, whole-module and relative imports."""
    pkg = tmp_path / "vmuser_tui"
    (pkg / "core").mkdir(parents=True)
    (pkg / "core" / "__init__.py").write_text("")
    (pkg / "core" / "db.py").write_text("")
    (pkg / "core" / "clock.py").write_text("")
    (pkg / "tui").mkdir()
    (pkg / "tui" / "__init__.py").write_text("")
    sample = pkg / "tui" / "sample.py"
    sample.write_text(
        "from typing import TYPE_CHECKING\n"
        "import vmuser_tui.core.db\n"
        "from vmuser_tui.core import clock\n"
        "from ..core.db import Database\n"
        "if TYPE_CHECKING:\n"
        "    from vmuser_tui.core.metrics import SessionMetrics\n"
        "def f():\n"
        "    from vmuser_tui.core.service import Vmuser\n"
    )
    monkeypatch.setitem(globals(), "PACKAGE", pkg)
    got = sorted(core_imports(sample), key=str)
    assert got == sorted([
        (f"{CORE}.db", None),  # import vmuser_tui.core.db
        (f"{CORE}.clock", None),  # from vmuser_tui.core import clock
        (f"{CORE}.db", "Database"),  # from ..core.db import Database
        (f"{CORE}.metrics", "SessionMetrics"),  # under TYPE_CHECKING
        (f"{CORE}.service", "Vmuser"),  # inside a function
    ], key=str)
    verdicts = {(m, n): allowed(m, n) for m, n in got}
    assert verdicts == {
        (f"{CORE}.db", None): False,
        (f"{CORE}.clock", None): True,
        (f"{CORE}.db", "Database"): False,
        (f"{CORE}.metrics", "SessionMetrics"): True,
        (f"{CORE}.service", "Vmuser"): True,
    }
