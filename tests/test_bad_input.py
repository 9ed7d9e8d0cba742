"""Every bad input we know of, as one table: what the user typed, the exit code, the message.

Each row runs the real ``vmuser`` command in a subprocess against a small real world (a
data dir with projects, sessions and checkpoints) and asserts what a user or a script
would notice: exactly one line on stderr, no traceback, the exit code, the words of the
message, and that the database (every row of every table) and the workspaces are exactly
as they were. A row that finds a traceback or a muddled message is a bug to fix in the
code, not in the row.

The world: ``alpha`` (files ``a.txt``, ``src/main.py``; checkpoints ``{C1}``/``{C2}`` share
the id prefix ``c0ffee``; sessions ``{S1}`` running and ``{S2}`` stopped, runtime none,
sharing the prefix ``5e55``), ``beta`` (checkpoint ``{CB}``), ``dup1``/``dup2`` (ids
``dup-...``). Docker rows get a second data dir with a running container session
``{SD}``, a session whose container was removed behind vmuser's back ``{SG}`` and a
stopped one ``{SX}``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from vmuser_tui.core import schema

PY = [sys.executable, "-m", "vmuser_tui"]
LONG_NAME = "n" * 300
LONG_PATH = "/".join(["abcdefgh"] * 600)


def row(rid, argv, code, message, *, env=None, setup=None, stdin=None, config=None, docker=False):
    """One table row. ``argv``: a shell-like string (or a list) with ``{placeholders}``;
    ``env``: extra variables; ``setup``: a name in :data:`SETUPS`; ``config``: text of the
    config file for this row; ``docker``: needs the engine and the docker world."""
    marks = [pytest.mark.docker] if docker else []
    return pytest.param(argv, code, message, env or {}, setup, stdin, config, docker, id=rid, marks=marks)


# A table: one row per line reads better than the formatter's layout.
# fmt: off
ROWS = [
    # -- commands, options and their values (argparse: exit 2) ---------------------------------------
    row("unknown-command", "frobnicate", 2, "vmuser: error: argument COMMAND: invalid choice: 'frobnicate'"),
    row("unknown-subcommand", "project frobnicate", 2, "vmuser project: error: argument COMMAND: invalid choice"),
    row("missing-subcommand", "project", 2, "vmuser project: error: missing COMMAND"),
    row("unknown-option", "project list --bogus", 2,
        "unrecognized arguments: --bogus (see vmuser project list --help)"),
    row("unknown-global-option", "--bogus project list", 2, "unrecognized arguments: --bogus"),
    row("missing-argument", "project show", 2, "the following arguments are required: project"),
    row("missing-name", "project create", 2, "the following arguments are required: name"),
    row("missing-tags", "checkpoint tag {C1}", 2, "the following arguments are required: TAG"),
    row("bad-int-days", "project extend {A} --days x", 2, "argument --days: invalid int value: 'x'"),
    row("bad-int-tail", "session logs {S1} --tail x", 2, "--tail: expected a number of lines or 'all', got 'x'"),
    row("bad-int-limit", "log --limit x", 2, "argument --limit: invalid int value: 'x'"),
    row("limit-zero", "log --limit 0", 2, "--limit must be at least 1"),
    row("days-zero", "project extend {A} --days 0", 2, "--days must be between 1 and 3650"),
    row("days-too-many", "project extend {A} --days 99999", 2, "--days must be between 1 and 3650"),
    row("bad-runtime", "session start {A} --runtime kvm", 2, "argument --runtime: invalid choice: 'kvm'"),
    row("workspace-and-import", "project create x --workspace {tmp} --import {tmp}", 2,
        "argument --import: not allowed with argument --workspace"),
    row("config-unknown-subcommand", "config frob", 2, "vmuser config: error: argument COMMAND: invalid choice"),
    row("config-init-bad-option", "config init --force --bogus", 2, "unrecognized arguments: --bogus"),
    row("check-bad-option", "check --bogus", 2, "vmuser check: error: unrecognized arguments: --bogus"),
    row("gc-bad-option", "gc --dry-run --x", 2, "vmuser gc: error: unrecognized arguments: --x"),
    row("exec-without-command", "session exec {S1}", 2, "give the command after --"),
    # -- names, tags, prefixes ---------------------------------------------------------------------
    row("empty-project-name", ["project", "create", ""], 2, "a project name needs 1-200 printable characters"),
    row("bad-prefix", "project create x --prefix 9bad", 2, "invalid project prefix '9bad'"),
    row("empty-prefix", ["project", "create", "x", "--prefix", ""], 2, "invalid project prefix ''"),
    row("bad-project-tag", ["project", "create", "x", "--tag", "a b"], 2, "invalid tag 'a b'"),
    row("workspace-missing-dir", "project create x --workspace /nonexistent/dir", 2,
        "workspace /nonexistent/dir is not a directory; create it first"),
    row("import-missing-dir", "project create x --import /nonexistent/dir", 2,
        "import directory /nonexistent/dir is not a directory"),
    row("bad-checkpoint-tag", ["checkpoint", "create", "{A}", "--tag", "bad tag"], 2, "invalid tag 'bad tag'"),
    row("empty-checkpoint-tag", ["checkpoint", "create", "{A}", "--tag", ""], 2, "invalid tag ''"),
    row("bad-tag-on-tag", ["checkpoint", "tag", "{C1}", "bad tag"], 2, "invalid tag 'bad tag'"),
    # -- ids that match nothing, or several things --------------------------------------------------
    row("project-nothing", "project show nope", 1, "no project matches 'nope'; list them with: vmuser project list"),
    row("project-ambiguous", "project show dup-", 1, "project id 'dup-' is ambiguous (dup-"),
    row("project-short-prefix", "project show ab", 1, "an id prefix needs at least 4 characters"),
    row("project-empty-id", ["project", "show", ""], 1, "empty project id"),
    row("pin-ambiguous", "project pin dup-", 1, "project id 'dup-' is ambiguous"),
    row("delete-ambiguous", "project delete dup- --yes", 1, "project id 'dup-' is ambiguous"),
    row("session-ambiguous", "session show 5e55", 1, "session id '5e55' is ambiguous (5e55000001, 5e55000002)"),
    row("session-nothing", "session show zzzzzz", 1,
        "no session matches 'zzzzzz'; list them with: vmuser session list"),
    row("session-start-no-project", "session start nope", 1, "no project matches 'nope'"),
    row("session-list-no-project", "session list nope", 1, "no project matches 'nope'"),
    row("stop-ambiguous", "session stop 5e55", 1, "session id '5e55' is ambiguous"),
    row("checkpoint-ambiguous", "checkpoint show c0ffee", 1,
        "checkpoint id 'c0ffee' is ambiguous (c0ffee0001, c0ffee0002); give more characters"),
    row("checkpoint-short-prefix", "checkpoint show zz", 1,
        "no checkpoint has the id 'zz'; an id prefix needs at least 4"),
    row("checkpoint-nothing", "checkpoint show c0ffee0003", 1, "no checkpoint matches 'c0ffee0003'"),
    row("checkpoint-list-nothing", "checkpoint list nope", 1, "no session or project matches 'nope'"),
    row("checkpoint-create-nothing", "checkpoint create nope", 1, "no session or project matches 'nope'"),
    row("diff-other-project", "checkpoint diff {C1} {CB}", 2,
        "checkpoints c0ffee0001 and {CB} belong to different projects"),
    row("diff-to-nothing", "checkpoint diff {C1} nope", 1,
        "(to limit the diff to a path, put it after --: vmuser checkpoint diff {C1} -- nope)"),
    row("diff-from-nothing", "checkpoint diff nope", 1, "no checkpoint matches 'nope'"),
    row("diff-ambiguous", "checkpoint diff c0ffee", 1, "checkpoint id 'c0ffee' is ambiguous"),
    row("restore-nothing", "checkpoint restore nope --yes", 1, "no checkpoint matches 'nope'"),
    row("restore-ambiguous", "checkpoint restore c0ffee --yes", 1, "checkpoint id 'c0ffee' is ambiguous"),
    row("tag-nothing", "checkpoint tag c0ffee0003 x", 1, "no checkpoint matches 'c0ffee0003'"),
    row("log-no-project", "log --project nope", 1, "no project matches 'nope'"),
    row("fs-at-other-project", "fs ls {A} --at {CB}", 2, "checkpoint {CB} belongs to project {B}, not {A}"),
    row("fs-at-nothing", "fs cat {A} a.txt --at nope", 1, "no checkpoint matches 'nope'"),
    # -- states and confirmations -------------------------------------------------------------------
    row("restore-needs-yes", "checkpoint restore {C1}", 1,
        "not confirmed: standard input is not a terminal; pass --yes to go ahead"),
    row("delete-needs-yes", "project delete {A}", 1, "standard input is not a terminal; pass --yes"),
    row("stop-stopped", "session stop {S2}", 1, "session 5e55000002 is already stopped"),
    row("exec-runtime-none", "session exec {S1} -- true", 1,
        "session 5e55000001 has no container (runtime 'none'); start one with: vmuser session start {A}"),
    row("shell-runtime-none", "session shell {S1}", 1, "has no container (runtime 'none')"),
    row("logs-runtime-none", "session logs {S1}", 1, "session 5e55000001 has no container (runtime 'none')"),
    row("restore-path-in-neither", "checkpoint restore {C2} --yes --path nope.txt", 2,
        "'nope.txt' is neither in checkpoint c0ffee0002 nor in the workspace"),
    # -- paths --------------------------------------------------------------------------------------
    row("path-dotdot", "fs ls {A} ../x", 1, "path '../x' contains a '..' component"),
    row("path-dotdot-inside", "fs cat {A} a.txt/../../x", 1, "contains a '..' component"),
    row("path-absolute", "fs ls {A} /etc", 1, "path '/etc' is absolute: give it relative to the workspace"),
    row("path-backslash", ["fs", "cat", "{A}", "a\\b"], 1, "contains a backslash: use '/' between names"),
    row("path-drive", "fs cat {A} C:/x", 1, "has a drive prefix"),
    row("path-control-char", ["fs", "put", "{A}", "a\x01b", "{small}"], 1, "contains a control character"),
    row("path-reserved", "fs cat {A} .vmuser/x", 1, "is inside the reserved '.vmuser' folder"),
    row("path-name-too-long", f"fs cat {{A}} {LONG_NAME}", 1, "is longer than 255 bytes"),
    row("path-too-long", f"fs cat {{A}} {LONG_PATH}", 1, "path is longer than 4096 bytes"),
    row("path-empty", ["fs", "rm", "{A}", ""], 1, "empty path: give a path relative to the workspace"),
    row("put-dotdot", "fs put {A} ../x {small}", 1, "path '../x' contains a '..' component"),
    row("put-absolute", "fs put {A} /abs {small}", 1, "path '/abs' is absolute"),
    row("mkdir-dotdot", "fs mkdir {A} ..", 1, "path '..' contains a '..' component"),
    row("mv-dotdot", "fs mv {A} a.txt ../b", 1, "path '../b' contains a '..' component"),
    row("diff-path-dotdot", "checkpoint diff {C1} -- ../x", 1, "path '../x' contains a '..' component"),
    row("restore-path-absolute", "checkpoint restore {C1} --yes --path /abs", 1, "path '/abs' is absolute"),
    row("restore-path-dotdot", "checkpoint restore {C1} --yes --path ../x", 1, "contains a '..' component"),
    row("cat-missing", "fs cat {A} nope.txt", 1, "nope.txt: no such file in the workspace"),
    row("cat-directory", "fs cat {A} src", 2, "src: is a directory (use fs ls)"),
    row("ls-file", "fs ls {A} a.txt", 2, "a.txt: not a directory (use fs cat to read a file)"),
    row("ls-at-missing", "fs ls {A} nope --at {C1}", 1, "nope: not in checkpoint {C1}"),
    row("put-source-missing", "fs put {A} x.txt /nonexistent/file", 2, "/nonexistent/file: no such file to put"),
    row("put-source-directory", "fs put {A} x.txt {tmp}", 2, "is a directory; put one file at a time"),
    row("put-under-file", "fs put {A} a.txt/x {small}", 2, "a.txt: exists and is not a directory"),
    row("put-onto-directory", "fs put {A} src {small}", 2, "src: is a directory"),
    row("mkdir-over-file", "fs mkdir {A} a.txt", 2, "a.txt: exists and is not a directory"),
    row("rm-missing", "fs rm {A} nope", 1, "nope: no such file or directory in the workspace"),
    row("rm-nonempty-dir", "fs rm {A} src", 1, "src: directory is not empty; use -r"),
    row("mv-missing", "fs mv {A} nope.txt b.txt", 1, "nope.txt: no such file or directory in the workspace"),
    row("mv-onto-existing", "fs mv {A} a.txt src", 2, "src: already exists; remove it first or choose another name"),
    row("mv-into-itself", "fs mv {A} src src/inner", 2, "cannot move src into itself"),
    # -- files too big ------------------------------------------------------------------------------
    row("put-file-too-big", "fs put {A} big.bin {big}", 1, "5,000 bytes is over [limits] max_file_size (1,024 bytes)",
        env={"VMUSER_LIMITS_MAX_FILE_SIZE": "1k"}),
    row("put-stdin-too-big", "fs put {A} big.bin -", 1, "big.bin: 5,000 bytes is over [limits] max_file_size",
        env={"VMUSER_LIMITS_MAX_FILE_SIZE": "1k"}, stdin=b"x" * 5000),
    # -- config files (TOML syntax, unknown names, wrong types and ranges) ----------------------------
    row("toml-syntax", "project list", 1, "invalid TOML: Expected ']' at the end of a table declaration (at line 1",
        config="[docker\n"),
    row("toml-syntax-validate", "config validate", 1, "invalid TOML", config="x = \n"),
    row("toml-syntax-show", "config show", 1, "invalid TOML", config="[ui]\ntheme = 'unterminated\n"),
    row("config-unknown-section", "project list", 1, "unknown section [nope]; known: ", config="[nope]\nx = 1\n"),
    row("config-unknown-key", "project list", 1, "unknown key [docker] nope; known: base_url",
        config="[docker]\nnope = 1\n"),
    row("config-bad-size", "project list", 1, "[docker] memory: expected a size such as 1048576 or '512m', got 'lots'",
        config='[docker]\nmemory = "lots"\n'),
    row("config-below-minimum", "project list", 1, "[docker] cpus: 0 is below the minimum 0.01",
        config="[docker]\ncpus = 0\n"),
    row("config-above-maximum", "project list", 1, "[store] compression_level: 20 is above the maximum 19",
        config="[store]\ncompression_level = 20\n"),
    row("config-not-a-table", "project list", 1, "'docker' must be a table ([docker])", config="docker = 5\n"),
    row("config-bad-keymap", "project list", 1, "[keymap] must map binding ids to key strings",
        config='[keymap]\n"a" = 1\n'),
    row("config-bad-bool", "project list", 1, "[ui] read_only: expected true or false, got 'yes'",
        config='[ui]\nread_only = "yes"\n'),
    row("config-bad-list", "project list", 1, "[snapshots] ignore: expected a list of strings",
        config='[snapshots]\nignore = "*.log"\n'),
    row("config-bad-secret-patterns", "project list", 1,
        '[snapshots] secret_patterns: expected a list of strings, e.g. ["*.log"], got [1]',
        config="[snapshots]\nsecret_patterns = [1]\n"),
    row("config-int-as-string", "project list", 1, "[docker] pids_limit: expected a whole number, got 'many'",
        config='[docker]\npids_limit = "many"\n'),
    row("config-warning-after-days", "project list", 1, "[cleanup] warning_days (40) must be less than after_days (30)",
        config="[cleanup]\nwarning_days = 40\n"),
    row("config-not-utf8", "project list", 1, "cannot read config file", config=b"\xff\xfe[docker]\n"),
    row("config-is-directory", "--config {tmp} project list", 1, "cannot read config file"),
    row("config-bad-ignore-pattern", "checkpoint create {A}", 1, "ignore rules (.vmuserignore or [snapshots] ignore)",
        config='[snapshots]\nignore = ["[z-a]"]\n'),
    row("config-max-projects", "project create toomany", 1, "the limit ([limits] max_projects); delete some first",
        config="[limits]\nmax_projects = 2\n"),
    # -- environment overrides ----------------------------------------------------------------------
    row("env-bad-size", "project list", 1, "environment variable VMUSER_LIMITS_MAX_FILE_SIZE: [limits] max_file_size",
        env={"VMUSER_LIMITS_MAX_FILE_SIZE": "lots"}),
    row("env-below-minimum", "project list", 1, "VMUSER_DOCKER_TIMEOUT: [docker] timeout: 0 is below the minimum 1",
        env={"VMUSER_DOCKER_TIMEOUT": "0"}),
    row("env-not-a-number", "project list", 1, "VMUSER_DOCKER_CPUS: [docker] cpus: expected a number, got 'abc'",
        env={"VMUSER_DOCKER_CPUS": "abc"}),
    row("env-not-a-bool", "project list", 1, "VMUSER_UI_READ_ONLY: [ui] read_only: expected true or false",
        env={"VMUSER_UI_READ_ONLY": "maybe"}),
    row("env-not-an-int", "project list", 1, "VMUSER_DOCKER_PIDS_LIMIT: [docker] pids_limit: expected a whole number",
        env={"VMUSER_DOCKER_PIDS_LIMIT": "1.5"}),
    row("env-above-maximum", "project list", 1, "[store] compression_level: 99 is above the maximum 19",
        env={"VMUSER_STORE_COMPRESSION_LEVEL": "99"}),
    # -- the data dir and its database --------------------------------------------------------------
    row("data-dir-is-file", "project list", 1, "cannot use {small} as the data directory (not a directory)",
        env={"VMUSER_DATA_DIR": "{small}"}),
    row("data-dir-uncreatable", "project list", 1, "cannot use /proc/vmuser as the data directory",
        env={"VMUSER_DATA_DIR": "/proc/vmuser"}),
    row("db-not-sqlite", "project list", 1, "vmuser.db is not an SQLite database; move it aside (keep a copy)",
        setup="db_not_sqlite"),
    row("db-not-sqlite-check", "check", 1, "is not an SQLite database", setup="db_not_sqlite"),
    row("db-foreign", "project list", 1, "is another program's SQLite database (tables notes, todo), not vmuser's",
        setup="db_foreign"),
    row("db-newer-schema", "project list", 1,
        f"has schema version {schema.LATEST + 1}, newer than this vmuser knows ({schema.LATEST}); upgrade vmuser",
        setup="db_newer"),
    row("db-truncated", "project list", 1, "vmuser.db is damaged (database disk image is malformed)",
        setup="db_truncated"),
    row("db-damaged-page", "project list", 1,
        "the database is damaged (database disk image is malformed); see what it affects with: vmuser check",
        setup="db_damaged_page"),
    # -- a workspace deleted or moved behind vmuser's back ------------------------------------------
    row("workspace-gone-checkpoint", "checkpoint create {A}", 1,
        "the workspace of project {A} is missing ({ws}); re-create it (mkdir -p {ws})", setup="workspace_gone"),
    row("workspace-gone-diff", "checkpoint diff {C1}", 1, "the workspace of project {A} is missing",
        setup="workspace_gone"),
    row("workspace-gone-restore", "checkpoint restore {C1} --yes", 1, "the workspace of project {A} is missing",
        setup="workspace_gone"),
    row("workspace-gone-ls", "fs ls {A}", 1, "and restore a checkpoint into it, or delete the project",
        setup="workspace_gone"),
    # -- Docker down, image missing, container gone ---------------------------------------------------
    row("docker-down-start", "session start {A}", 1,
        "cannot reach the Docker engine at unix:///nonexistent.sock: no such socket; is dockerd running?",
        env={"VMUSER_DOCKER_BASE_URL": "unix:///nonexistent.sock"}),
    row("docker-bad-url", "session start {A}", 1, "not a valid engine address; fix docker.base_url",
        env={"VMUSER_DOCKER_BASE_URL": "notaurl"}),
    row("image-bad-name", ["session", "start", "{A}", "--image", "Bad Image!!"], 2,
        "invalid image name 'Bad Image!!'", docker=True),
    row("docker-down-exec", "session exec {SD} -- true", 1,
        "cannot reach the Docker engine at unix:///nonexistent.sock",
        env={"VMUSER_DOCKER_BASE_URL": "unix:///nonexistent.sock"}, docker=True),
    row("docker-down-stop", "session stop {SD}", 1, "cannot reach the Docker engine",
        env={"VMUSER_DOCKER_BASE_URL": "unix:///nonexistent.sock"}, docker=True),
    row("docker-down-logs", "session logs {SD}", 1, "cannot reach the Docker engine",
        env={"VMUSER_DOCKER_BASE_URL": "unix:///nonexistent.sock"}, docker=True),
    row("container-gone-exec", "session exec {SG} -- true", 1,
        "session {SG} is failed (container vanished); start a new one with: vmuser session start {D}", docker=True),
    row("container-gone-shell", "session shell {SG}", 1, "is failed (container vanished)", docker=True),
    row("container-gone-logs", "session logs {SG}", 1, "session {SG} is failed: its container was removed",
        docker=True),
    row("stopped-logs", "session logs {SX}", 1, "session {SX} is stopped: its container was removed, and its output",
        docker=True),
    row("stopped-exec", "session exec {SX} -- true", 1, "session {SX} is stopped (stopped by user)", docker=True),
    # -- lease held: leases are not built yet (issue #7). When `session attach` takes the read-write
    #    lease, add rows here: a second writer refused while the lease is live, naming its holder.
    # == issue 11, restore safety: each group below belongs to one part of the work ===================
    # -- 11a: workspaces that hold the data dir, system roots, nesting, imports (cases 1-3, 15) ------
    row("ws-root", "project create x --workspace /", 2,
        "refusing workspace /: it is a system folder; give a project folder of your own"),
    row("ws-etc", "project create x --workspace /etc", 2, "refusing workspace /etc: it is a system folder"),
    row("ws-usr", "project create x --workspace /usr", 2, "refusing workspace /usr: it is a system folder"),
    row("ws-usr-below", "project create x --workspace /usr/share", 2,
        "refusing workspace /usr/share: it is a system folder"),
    row("ws-proc", "project create x --workspace /proc", 2, "refusing workspace /proc: it is a system folder"),
    row("ws-dev", "project create x --workspace /dev", 2, "refusing workspace /dev: it is a system folder"),
    row("ws-dev-shm", "project create x --workspace /dev/shm", 2, "refusing workspace /dev/shm: it is a system folder"),
    row("ws-sys", "project create x --workspace /sys", 2, "refusing workspace /sys: it is a system folder"),
    row("ws-var", "project create x --workspace /var", 2, "refusing workspace /var: it is a system folder"),
    row("ws-symlink-to-etc", "project create x --workspace /proc/self/root/etc", 2,
        "refusing workspace /proc/self/root/etc (/etc): it is a system folder"),
    row("ws-data-dir", "project create x --workspace {tmp}/data", 2,
        "refusing workspace {tmp}/data: it is vmuser's data directory; give a project folder of your own"),
    row("ws-parent-of-data-dir", "project create x --workspace {tmp}", 2,
        "refusing workspace {tmp}: it holds vmuser's data directory ({tmp}/data), which its sessions could then read"),
    row("ws-inside-data-dir", "project create x --workspace {tmp}/data/workspaces", 2,
        "refusing workspace {tmp}/data/workspaces: it holds the workspace of project"),
    row("ws-same-as-project", "project create x --workspace {ws}", 2,
        "refusing workspace {ws}: it is the workspace of project {A} (alpha); use that project"),
    row("ws-nested-in-project", "project create x --workspace {ws}/src", 2,
        "refusing workspace {ws}/src: it is inside the workspace of project {A} (alpha, {ws})"),
    row("import-data-dir", "project create x --import {tmp}/data", 2,
        "refusing to import {tmp}/data: it is a vmuser data directory with its live database; import a project "
        "folder instead (nothing was copied)"),
    row("import-parent-of-data-dir", "project create x --import {tmp}", 2,
        "refusing to import {tmp}: it holds vmuser's data directory ({tmp}/data) with its live database"),
    row("ws-symlink-loop", "project create x --workspace {tmp}/loop1", 2,
        "is a loop of symlinks; give a real folder", setup="symlink_loop"),
    # (end of 11a)
    # -- 11b: restore of ignored files, damaged content, sparse files, free space (cases 4, 6, 9) -----
    # (end of 11b)
    # -- 11c: files that vanish during a capture (case 5) ---------------------------------------------
    # (end of 11c)
    # -- 11d: secrets in exec arguments, terminal escapes (cases 10, 12) ------------------------------
    # a control or bidi character the user typed comes back escaped, on one line (ESC -> \x1b)
    row("esc-workspace", ["project", "create", "x", "--workspace", "/nonexistent/d\x1b[2J"], 2,
        "workspace /nonexistent/d\\x1b[2J is not a directory"),
    row("bidi-workspace", ["project", "create", "x", "--workspace", "/nonexistent/a\u202eb"], 2,
        "workspace /nonexistent/a\\u202eb is not a directory"),
    row("cr-workspace", ["project", "create", "x", "--workspace", "/nonexistent/secret\rshown"], 2,
        "workspace /nonexistent/secret\\rshown is not a directory"),
    row("newline-import", ["project", "create", "x", "--import", "/nonexistent/a\nb"], 2,
        "import directory /nonexistent/a\\nb is not a directory"),
    row("osc-import", ["project", "create", "x", "--import", "/nonexistent/\x1b]0;pwned\x07"], 2,
        "import directory /nonexistent/\\x1b]0;pwned\\x07 is not a directory"),
    row("esc-unknown-option", ["project", "list", "--bo\x1b[2Jgus"], 2, "unrecognized arguments: --bo\\x1b[2Jgus"),
    row("bidi-unknown-option", ["project", "list", "--\u2066bogus"], 2, "unrecognized arguments: --\\u2066bogus"),
    row("esc-put-source", ["fs", "put", "{A}", "new.txt", "/nonexistent/\x1b[2J"], 2,
        "/nonexistent/\\x1b[2J: no such file to put"),
    row("newline-put-source", ["fs", "put", "{A}", "new.txt", "/nonexistent/a\nb"], 2,
        "/nonexistent/a\\nb: no such file to put"),
    row("c1-put-source", ["fs", "put", "{A}", "new.txt", "/nonexistent/a\x9bb"], 2,
        "/nonexistent/a\\x9bb: no such file to put"),
    # (end of 11d)
    # -- 11e: secret files, numbers out of range (cases 11, 13) ---------------------------------------
    # numbers in the config: every one has a range, nan and inf are refused (case 13); exit 1 as every config error
    row("num-after-days-huge", "cleanup", 1,
        "[cleanup] after_days: 99999999999 is above the maximum 36500 (allowed: 1 to 36500)",
        config="[cleanup]\nenabled = true\nafter_days = 99999999999\n"),
    row("num-debounce-nan", "config validate", 1, "[snapshots] debounce: nan is not a finite number (allowed: 0.1 to 3600)",
        config="[snapshots]\ndebounce = nan\n"),
    row("num-cpus-nan-start", "session start {A} --runtime none", 1,
        "[docker] cpus: nan is not a finite number (allowed: 0.01 to 1024)", config="[docker]\ncpus = nan\n"),
    row("num-cpus-inf", "config validate", 1, "[docker] cpus: inf is not a finite number", config="[docker]\ncpus = inf\n"),
    row("num-memory-huge-start", "session start {A} --runtime none", 1,
        "[docker] memory: '99999999999999999999g' is above the maximum 4t (allowed: 4m to 4t)",
        config='[docker]\nmemory = "99999999999999999999g"\n'),
    row("num-memory-400-digits", "config validate", 1, "[docker] memory: '9999", config=f'[docker]\nmemory = "{"9" * 400}g"\n'),
    row("num-interval-huge", "project list", 1, "[snapshots] interval: 99999999999999 is above the maximum 604800",
        config="[snapshots]\ninterval = 99999999999999\n"),
    row("num-keep-last-config", "checkpoint forget {A} --dry-run", 1,
        "[retention] keep_last: 99999999999 is above the maximum 1000000 (allowed: -1 to 1000000)",
        config="[retention]\nkeep_last = 99999999999\n"),
    row("num-keep-within-config", "checkpoint forget {A} --dry-run", 1,
        "[retention] keep_within: bad duration '99999999999d': at most 100 years", config='[retention]\nkeep_within = "99999999999d"\n'),
    row("num-budget-huge", "project list", 1, "[runtime] memory_budget: '1000t' is above the maximum 64t",
        config='[runtime]\nmemory_budget = "1000t"\n'),
    row("num-keymap-not-a-key", "config validate", 1,
        "[keymap] \"projects.filter\" = \"notakey!!\": 'notakey!!' is not a key Textual knows; use a character",
        config='[keymap]\n"projects.filter" = "notakey!!"\n'),
    row("num-keymap-bad-modifier", "config validate", 1, "'control' is not a modifier (use ctrl, shift, alt, meta",
        config='[keymap]\n"projects.filter" = "control+f"\n'),
    # ... and through VMUSER_* variables the same way
    row("num-env-cpus-nan", "session start {A} --runtime none", 1,
        "environment variable VMUSER_DOCKER_CPUS: [docker] cpus: nan is not a finite number", env={"VMUSER_DOCKER_CPUS": "nan"}),
    row("num-env-after-days-huge", "cleanup", 1,
        "environment variable VMUSER_CLEANUP_AFTER_DAYS: [cleanup] after_days: 99999999999 is above the maximum 36500",
        env={"VMUSER_CLEANUP_AFTER_DAYS": "99999999999", "VMUSER_CLEANUP_ENABLED": "1"}),
    row("num-env-memory-huge", "config validate", 1,
        "VMUSER_DOCKER_MEMORY: [docker] memory: '99999999999999999999g' is above the maximum 4t",
        env={"VMUSER_DOCKER_MEMORY": "99999999999999999999g"}),
    row("num-env-debounce-inf", "project list", 1, "VMUSER_SNAPSHOTS_DEBOUNCE: [snapshots] debounce: inf is not a finite",
        env={"VMUSER_SNAPSHOTS_DEBOUNCE": "inf"}),
    # numbers and durations on the command line: exit 2
    row("num-since-huge", "log --since 99999999999d", 2,
        "--since: the age '99999999999d' is too long: at most 36500 days (100 years)"),
    row("num-until-huge", "log --until 99999999999w", 2, "--until: the age '99999999999w' is too long"),
    row("num-since-4400-digits", ["log", "--since", "9" * 4400 + "h"], 2, "--since: the age '9999"),
    row("num-limit-huge", "log --limit 99999999999999999999", 2,
        "--limit must be between 1 and 1000000, got 99999999999999999999"),
    row("num-tail-huge", "session logs {S1} --tail 99999999999999999999", 2,
        "--tail must be between 0 and 1000000, got 99999999999999999999"),
    row("num-tail-negative", "session logs {S1} --tail -5", 2, "--tail must be between 0 and 1000000, got -5"),
    row("num-keep-last-huge", "checkpoint forget {A} --keep-last 99999999999999999999999 --dry-run", 2,
        "--keep-last needs a whole number from 0 to 1000000 (or -1 for all), got '99999999999999999999999'"),
    row("num-keep-yearly-huge", "checkpoint forget {A} --keep-yearly 1000001 --dry-run", 2,
        "--keep-yearly needs a whole number from 0 to 1000000"),
    row("num-keep-within-huge", "checkpoint forget {A} --keep-within 99999999999d --dry-run", 2,
        "--keep-within: bad duration '99999999999d': at most 100 years"),
    row("num-keep-within-101y", "checkpoint forget {A} --keep-within 101y --dry-run", 2,
        "--keep-within: bad duration '101y': at most 100 years"),
    row("num-days-huge", "project extend {A} --days 99999999999999999999", 2, "--days must be between 1 and 3650"),
    # (end of 11e)
    # -- 11f: dead job holders, read-only data dirs, read-only mode (cases 14, 16, 17) ----------------
    # a data directory nobody may write (chattr +i: root too): changing commands refused as before
    row("ro-dir-checkpoint-create", "checkpoint create {A} -m x", 1, "is read-only; make it writable or pass --data-dir DIR",
        setup="data_dir_read_only"),
    row("ro-dir-project-create", "project create new", 1, "is read-only; make it writable or pass --data-dir DIR",
        setup="data_dir_read_only"),
    row("ro-dir-restore", "checkpoint restore {C1} --yes", 1, "is read-only; make it writable or pass --data-dir DIR",
        setup="data_dir_read_only"),
    row("ro-dir-tag", "checkpoint tag {C1} late", 1, "is read-only; make it writable or pass --data-dir DIR",
        setup="data_dir_read_only"),
    row("ro-dir-forget", "checkpoint forget {A} --keep-last 1", 1, "is read-only; make it writable or pass --data-dir DIR",
        setup="data_dir_read_only"),
    row("ro-dir-gc", "gc", 1, "is read-only; make it writable or pass --data-dir DIR",
        setup="data_dir_read_only"),
    row("ro-dir-cleanup-apply", "cleanup --apply --yes", 1, "is read-only; make it writable or pass --data-dir DIR",
        setup="data_dir_read_only"),
    row("ro-dir-pin", "project pin {A}", 1, "is read-only; make it writable or pass --data-dir DIR",
        setup="data_dir_read_only"),
    row("ro-dir-delete", "project delete {A} --yes", 1, "is read-only; make it writable or pass --data-dir DIR",
        setup="data_dir_read_only"),
    row("ro-dir-session-start", "session start {A} --runtime none", 1, "is read-only; make it writable or pass --data-dir DIR",
        setup="data_dir_read_only"),
    row("ro-dir-fs-mkdir", "fs mkdir {A} newdir", 1, "is read-only; make it writable or pass --data-dir DIR",
        setup="data_dir_read_only"),
    row("ro-dir-tui", "tui", 1, "is read-only; make it writable or pass --data-dir DIR",
        setup="data_dir_read_only"),
    # ... and a reading command opens it read-only, unless that would need a write first
    row("ro-dir-old-schema", "project list", 1, "was written by an older vmuser (schema 2, this one needs "
        f"{schema.LATEST}) and cannot be upgraded read-only; open it read-write once",
        setup="data_dir_read_only_old_schema"),
    row("ro-dir-old-schema-check", "check", 1, "cannot be upgraded read-only", setup="data_dir_read_only_old_schema"),
    # (end of 11f)
    # -- 11g: the container's user and capabilities (case 8) ------------------------------------------
    row("docker-user-names", "config validate", 1,
        '[docker] user: expected "uid:gid" (numbers 0-2147483647, e.g. "1000:1000") or "root" (empty: the default), '
        "got 'x:y'", config='[docker]\nuser = "x:y"\n'),
    row("docker-user-negative", "session start {A}", 1, "[docker] user: expected \"uid:gid\"", config='[docker]\nuser = "-1"\n'),
    row("docker-user-too-big", "project list", 1, "[docker] user: expected \"uid:gid\" (numbers 0-2147483647",
        config='[docker]\nuser = "99999999999:0"\n'),
    row("docker-user-above-docker-max", "config show", 1, "got '2147483648:1'", config='[docker]\nuser = "2147483648:1"\n'),
    row("docker-user-lone-uid", "config validate", 1, "[docker] user: expected \"uid:gid\"", config='[docker]\nuser = "1000"\n'),
    row("docker-user-extra-field", "config validate", 1, "got '1:2:3'", config='[docker]\nuser = "1:2:3"\n'),
    row("docker-user-spaces", "config validate", 1, "got ' 1000:1000'", config='[docker]\nuser = " 1000:1000"\n'),
    row("docker-user-wide-digits", "config validate", 1, "got '１:１'", config='[docker]\nuser = "１:１"\n'),
    row("docker-user-not-a-string", "config validate", 1, "[docker] user: expected a string in quotes, got 1000",
        config="[docker]\nuser = 1000\n"),
    row("docker-user-upper-root", "session start {A} --runtime none", 1, "got 'ROOT'", config='[docker]\nuser = "ROOT"\n'),
    row("env-docker-user", "session start {A}", 1, "environment variable VMUSER_DOCKER_USER: [docker] user: expected",
        env={"VMUSER_DOCKER_USER": "0:x"}),
    row("docker-user-bad-with-engine", "session start {D} --image vmuser-busybox:local", 1,
        "[docker] user: expected \"uid:gid\"", config='[docker]\nuser = "nobody"\n', docker=True),
    # (end of 11g)
]
# fmt: on


# -- the world ------------------------------------------------------------------------------------


class World:
    """Paths, ids and the environment the rows run with."""

    def __init__(self, root: Path):
        self.root = root
        self.data = root / "data"
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("VMUSER_") or k in ("VMUSER_DOCKER_BASE_URL", "VMUSER_DOCKER_TIMEOUT")
        }
        self.env.update(VMUSER_DATA_DIR=str(self.data), VMUSER_CONFIG=str(root / "no-config.toml"))
        self.ids: dict[str, str] = {"tmp": str(root), "small": str(root / "small.txt"), "big": str(root / "big.bin")}

    def run(self, *args: str, env: dict | None = None, stdin: bytes | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*PY, *args],
            check=False,
            env={**self.env, **(env or {})},
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            timeout=120,
        )

    def ok(self, *args: str, env: dict | None = None, stdin: bytes | None = None) -> str:
        r = self.run(*args, env=env, stdin=stdin)
        assert r.returncode == 0, r.stderr.decode()
        return r.stdout.decode().strip()

    def fill(self, text: str) -> str:
        return text.format(**self.ids)


def _rename(db: Path, renames: dict[str, str]) -> None:
    """Give ids chosen prefixes (the two checkpoints c0ffee..., the two sessions 5e55...)."""
    conn = sqlite3.connect(db)
    with conn:
        for old, new in renames.items():
            for table, col in (
                ("checkpoints", "id"),
                ("checkpoints", "parent_id"),
                ("projects", "head_checkpoint_id"),
                ("sessions", "id"),
                ("checkpoints", "session_id"),
                ("operation_log", "session_id"),
            ):
                conn.execute(f"UPDATE {table} SET {col} = ? WHERE {col} = ?", (new, old))
    conn.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    w = World(tmp_path_factory.mktemp("bad-input"))
    (w.root / "small.txt").write_text("x")
    (w.root / "big.bin").write_bytes(b"\0" * 5000)
    src = w.root / "src"
    (src / "src").mkdir(parents=True)
    (src / "src" / "main.py").write_text("print(1)\n")
    (src / "a.txt").write_text("one\n")
    a = w.ok("project", "create", "alpha", "--import", str(src))
    b = w.ok("project", "create", "beta")
    w.ok("project", "create", "dup1", "--prefix", "dup")
    w.ok("project", "create", "dup2", "--prefix", "dup")
    s1 = w.ok("session", "start", a, "--runtime", "none")
    s2 = w.ok("session", "start", a, "--runtime", "none")
    w.ok("session", "stop", s2)
    c1 = w.ok("checkpoint", "create", a, "-m", "one")
    w.ok("fs", "put", a, "a.txt", "-", stdin=b"two\n")
    c2 = w.ok("checkpoint", "create", a, "-m", "two")
    w.ok("fs", "put", b, "b.txt", "-", stdin=b"b\n")
    cb = w.ok("checkpoint", "create", b, "-m", "b")
    _rename(w.data / "vmuser.db", {c1: "c0ffee0001", c2: "c0ffee0002", s1: "5e55000001", s2: "5e55000002"})
    ws = json.loads(w.ok("project", "show", a, "--json"))["workspace"]
    w.ids.update(A=a, B=b, S1="5e55000001", S2="5e55000002", C1="c0ffee0001", C2="c0ffee0002", CB=cb, ws=ws)
    return w


@pytest.fixture(scope="module")
def docker_world(world):
    """A second data dir with container sessions: {SD} running, {SG} whose container was
    removed behind vmuser's back (and then reconciled: failed), {SX} stopped."""
    import docker

    env = {"VMUSER_DATA_DIR": str(world.root / "dock-data")}
    d = world.ok("project", "create", "dock", env=env)
    start = ("session", "start", d, "--image", "vmuser-busybox:local")
    sd, sg, sx = (world.ok(*start, env=env) for _ in range(3))
    world.ok("session", "stop", sx, env=env)
    client = (
        docker.from_env()
        if not os.environ.get("VMUSER_DOCKER_BASE_URL")
        else docker.DockerClient(base_url=os.environ["VMUSER_DOCKER_BASE_URL"])
    )
    gone = json.loads(world.ok("session", "show", sg, "--json", env=env))["container_id"]
    client.containers.get(gone).remove(force=True)
    world.ok("session", "list", env=env)  # reconciles: sg becomes failed (container vanished)
    world.ids.update(D=d, SD=sd, SG=sg, SX=sx)
    yield env
    world.run("session", "stop", sd, env=env)
    for c in client.containers.list(all=True, filters={"label": f"vmuser.project={d}"}):
        c.remove(force=True)
    client.close()


# -- setups: a broken database file, a missing workspace ----------------------------------------


def _private_dir(path: Path) -> Path:
    path.mkdir(mode=0o700)
    return path


def _db_file(path: Path, data: bytes | None = None) -> Path:
    db = path / "vmuser.db"
    if data is not None:
        db.write_bytes(data)
    os.chmod(db, 0o600)
    return db


@contextlib.contextmanager
def db_not_sqlite(world, name):
    d = _private_dir(world.root / name)
    _db_file(d, b"these are my notes, not a database\n" * 20)
    yield {"VMUSER_DATA_DIR": str(d)}


@contextlib.contextmanager
def db_foreign(world, name):
    d = _private_dir(world.root / name)
    conn = sqlite3.connect(d / "vmuser.db")
    conn.executescript("CREATE TABLE notes(x); CREATE TABLE todo(y); INSERT INTO notes VALUES (1);")
    conn.close()
    _db_file(d)
    yield {"VMUSER_DATA_DIR": str(d)}


def _copy_of_world_db(world, name) -> Path:
    d = _private_dir(world.root / name)
    src = sqlite3.connect(world.data / "vmuser.db")
    dst = sqlite3.connect(d / "vmuser.db")
    src.backup(dst)  # a WAL-mode file like every vmuser database, whole once closed
    src.close()
    dst.close()
    _db_file(d)
    return d


@contextlib.contextmanager
def db_newer(world, name):
    d = _copy_of_world_db(world, name)
    conn = sqlite3.connect(d / "vmuser.db")
    conn.execute(f"PRAGMA user_version = {schema.LATEST + 1}")
    conn.close()
    yield {"VMUSER_DATA_DIR": str(d)}


@contextlib.contextmanager
def db_truncated(world, name):
    d = _copy_of_world_db(world, name)
    db = d / "vmuser.db"
    db.write_bytes(db.read_bytes()[:20000])
    yield {"VMUSER_DATA_DIR": str(d)}


@contextlib.contextmanager
def db_damaged_page(world, name):
    """The projects table's root page overwritten: the file opens, queries on it fail."""
    d = _copy_of_world_db(world, name)
    db = d / "vmuser.db"
    conn = sqlite3.connect(db)
    page = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'projects'").fetchone()[0]
    size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    with open(db, "r+b") as f:
        f.seek((page - 1) * size)
        f.write(b"\xde\xad\xbe\xef" * (size // 4))
    yield {"VMUSER_DATA_DIR": str(d)}


@contextlib.contextmanager
def workspace_gone(world, name):
    ws = Path(world.ids["ws"])
    aside = ws.with_name(ws.name + ".aside")
    ws.rename(aside)
    try:
        yield {}
    finally:
        aside.rename(ws)


SETUPS = {f.__name__: f for f in (db_not_sqlite, db_foreign, db_newer, db_truncated, db_damaged_page, workspace_gone)}


@contextlib.contextmanager
def data_dir_read_only(world, name):
    """11f: a copy of the world's database in a folder nobody may write, root included
    (``chattr +i`` on the folder and the file: no -wal or -shm can be made beside it)."""
    d = _copy_of_world_db(world, name)
    yield from _frozen(d)


@contextlib.contextmanager
def data_dir_read_only_old_schema(world, name):
    """11f: the same, with a database an older vmuser wrote (schema 2): it cannot be upgraded."""
    d = _copy_of_world_db(world, name)
    conn = sqlite3.connect(d / "vmuser.db")
    conn.execute("PRAGMA user_version = 2")
    conn.close()
    yield from _frozen(d)


def _frozen(d: Path):
    frozen = [str(d / "vmuser.db"), str(d)]
    if subprocess.run(["chattr", "+i", *frozen], capture_output=True).returncode:
        pytest.skip("chattr +i is not available here")
    try:
        yield {"VMUSER_DATA_DIR": str(d)}
    finally:
        subprocess.run(["chattr", "-i", *frozen], check=True)


@contextlib.contextmanager
def symlink_loop(world, name):
    """{tmp}/loop1 -> loop2 -> loop1."""
    tmp = Path(world.fill("{tmp}"))
    (tmp / "loop1").symlink_to(tmp / "loop2")
    (tmp / "loop2").symlink_to(tmp / "loop1")
    try:
        yield {}
    finally:
        (tmp / "loop1").unlink()
        (tmp / "loop2").unlink()


SETUPS["symlink_loop"] = symlink_loop
SETUPS["data_dir_read_only"] = data_dir_read_only
SETUPS["data_dir_read_only_old_schema"] = data_dir_read_only_old_schema


# -- "nothing changed" ----------------------------------------------------------------------------


def _state(data_dir: Path) -> str:
    """A digest of every row of every table (or, for a file SQLite cannot read, its bytes),
    the names of the files beside it, and every workspace file's path and content."""
    h = hashlib.sha256()
    db = data_dir / "vmuser.db"
    # -wal/-shm come and go with connections; what they hold is read through the database
    names = (
        sorted(p.name for p in data_dir.iterdir() if not p.name.endswith(("-wal", "-shm"))) if data_dir.is_dir() else []
    )
    h.update(repr(names).encode())
    try:
        conn = sqlite3.connect(db) if db.is_file() else None
        if conn is None:
            raise sqlite3.DatabaseError("no database file")
        try:
            tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
            for table in tables:
                h.update(table.encode())
                for r in sorted(repr(r) for r in conn.execute(f'SELECT * FROM "{table}"')):
                    h.update(r.encode())
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        h.update(db.read_bytes() if db.is_file() else b"")
    workspaces = data_dir / "workspaces"
    if workspaces.is_dir():
        for p in sorted(workspaces.rglob("*")):
            h.update(str(p.relative_to(workspaces)).encode())
            if p.is_file():
                h.update(p.read_bytes())
    return h.hexdigest()


@pytest.mark.parametrize("argv, code, message, env, setup, stdin, config, docker", ROWS)
def test_bad_input(world, request, argv, code, message, env, setup, stdin, config, docker):
    if docker:
        request.getfixturevalue("docker_world")
        if "{SD}" in str(argv) or "{SG}" in str(argv) or "{SX}" in str(argv):
            env = {"VMUSER_DATA_DIR": str(world.root / "dock-data"), **env}
    args = shlex.split(argv) if isinstance(argv, str) else list(argv)
    args = [world.fill(a) for a in args]
    extra = {k: world.fill(v) for k, v in env.items()}
    if config is not None:
        path = world.root / f"config-{request.node.callspec.id}.toml"
        path.write_bytes(config if isinstance(config, bytes) else config.encode())
        extra["VMUSER_CONFIG"] = str(path)
    cm = SETUPS[setup](world, f"setup-{request.node.callspec.id}") if setup else contextlib.nullcontext({})
    with cm as setup_env:
        run_env = {**extra, **setup_env}
        data_dir = Path(run_env.get("VMUSER_DATA_DIR", world.env["VMUSER_DATA_DIR"]))
        before = _state(data_dir)
        r = world.run(*args, env=run_env, stdin=stdin)
        after = _state(data_dir)
    err = r.stderr.decode()
    assert "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1, f"expected one line on stderr, got:\n{err}"
    assert r.returncode == code, err
    assert world.fill(message) in err, err
    assert before == after, "the command changed the database or a workspace"


def test_the_table_is_big_enough():
    """The issue asks for at least 80 rows; each distinct input gets its own id."""
    ids = [p.id for p in ROWS]
    assert len(ids) >= 80 and len(set(ids)) == len(ids)


def test_debug_shows_the_traceback(world, tmp_path):
    """--debug is how a bug report gets its traceback: the one-line rule must not eat it."""
    d = tmp_path / "d"
    d.mkdir(mode=0o700)
    _db_file(d, b"not a database" * 100)
    r = world.run("--debug", "project", "list", env={"VMUSER_DATA_DIR": str(d)})
    err = r.stderr.decode()
    assert r.returncode != 0 and "Traceback" in err and "StoreError" in err
    r = world.run("project", "list", "--debug", env={"VMUSER_DATA_DIR": str(d)})
    assert "Traceback" in r.stderr.decode()


def test_foreign_database_is_left_as_it_was(world):
    """Refusing is not enough: the other program's file keeps its journal mode and bytes."""
    with db_foreign(world, "foreign-bytes") as env:
        db = Path(env["VMUSER_DATA_DIR"]) / "vmuser.db"
        before = db.read_bytes()
        assert world.run("project", "list", env=env).returncode == 1
        assert db.read_bytes() == before
        assert sorted(p.name for p in db.parent.iterdir()) == ["vmuser.db"]
    shutil.rmtree(world.root / "foreign-bytes")
