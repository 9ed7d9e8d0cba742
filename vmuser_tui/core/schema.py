"""The database schema, as numbered migrations recorded in ``PRAGMA user_version``.

Each migration runs once, in its own ``BEGIN IMMEDIATE`` transaction, in order. A
database whose version is newer than :data:`LATEST` was written by a newer vmuser and
is refused rather than guessed at.
"""

from __future__ import annotations

MIGRATIONS: list[str] = [
    # 1: the first schema.
    """
    CREATE TABLE system_config (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE projects (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        workspace TEXT NOT NULL,
        managed INTEGER NOT NULL DEFAULT 1,
        image TEXT,
        status TEXT NOT NULL DEFAULT 'active',
        pinned INTEGER NOT NULL DEFAULT 0,
        tags TEXT NOT NULL DEFAULT '[]',
        head_checkpoint_id TEXT,
        keep_until TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        last_active_at TEXT NOT NULL
    );
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        runtime TEXT NOT NULL,
        image TEXT,
        container_id TEXT,
        container_name TEXT,
        status TEXT NOT NULL,
        status_reason TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        started_at TEXT,
        stopped_at TEXT,
        last_active_at TEXT NOT NULL
    );
    CREATE INDEX sessions_project ON sessions(project_id, created_at);
    CREATE TABLE checkpoints (
        id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        session_id TEXT REFERENCES sessions(id) ON DELETE SET NULL,
        parent_id TEXT,
        root_tree TEXT NOT NULL,
        kind TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        tags TEXT NOT NULL DEFAULT '[]',
        annotations TEXT NOT NULL DEFAULT '[]',
        file_count INTEGER NOT NULL DEFAULT 0,
        total_size INTEGER NOT NULL DEFAULT 0,
        image_id TEXT,
        state TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL
    );
    CREATE INDEX checkpoints_project ON checkpoints(project_id, created_at);
    CREATE INDEX checkpoints_session ON checkpoints(session_id, created_at);
    -- Content-addressed objects. hash: sha256 hex. codec: raw | zstd | chunks (data is
    -- the concatenated 32-byte digests of the chunk blobs) | packed (the bytes are at
    -- pack_offset in pack pack_id; data is empty). size: raw bytes.
    -- Rowid tables on purpose: WITHOUT ROWID stores big rows in the index b-tree and
    -- measured 2x slower for megabyte blobs (SQLite advises it only for small rows).
    CREATE TABLE blobs (
        hash TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        stored_size INTEGER NOT NULL,
        codec TEXT NOT NULL,
        data BLOB NOT NULL,
        created_at INTEGER NOT NULL,
        pack_id INTEGER,
        pack_offset INTEGER
    );
    CREATE INDEX blobs_pack ON blobs(pack_id) WHERE pack_id IS NOT NULL;
    -- Small files compressed together (restic's and git's packs): one zstd frame of the
    -- concatenated contents; compresses far better than file by file and costs one call.
    CREATE TABLE packs (
        id INTEGER PRIMARY KEY,
        codec TEXT NOT NULL,
        size INTEGER NOT NULL,
        data BLOB NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE trees (
        hash TEXT PRIMARY KEY,
        data BLOB NOT NULL,
        created_at INTEGER NOT NULL
    );
    -- git's index: what a file looked like when it was last hashed.
    CREATE TABLE stat_cache (
        project_id TEXT NOT NULL,
        path TEXT NOT NULL,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        ctime_ns INTEGER NOT NULL,
        inode INTEGER NOT NULL,
        mode INTEGER NOT NULL,
        hash TEXT NOT NULL,
        PRIMARY KEY (project_id, path)
    ) WITHOUT ROWID;
    CREATE TABLE operation_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        operation TEXT NOT NULL,
        actor TEXT NOT NULL,
        pid INTEGER NOT NULL,
        project_id TEXT,
        session_id TEXT,
        details TEXT NOT NULL DEFAULT '{}'
    );
    -- One row per capture in progress: gc spares blobs written since the oldest started.
    CREATE TABLE capture_locks (
        id TEXT PRIMARY KEY,
        pid INTEGER NOT NULL,
        host TEXT NOT NULL,
        started_at INTEGER NOT NULL
    );
    CREATE INDEX operation_log_project ON operation_log(project_id, id);
    """,
    # 2: what the workers, the many-clients rules and crash recovery need.
    """
    -- Named leases (design section 5): 'job:<name>' for background jobs (one runner per
    -- host), 'session:<id>' for a session's read-write holder. Read-only clients of a
    -- session register with mode 'ro' so others can see them. A holder renews
    -- heartbeat_at/expires_at; a lease whose expires_at (UTC epoch seconds) has passed
    -- may be taken over.
    CREATE TABLE leases (
        name TEXT NOT NULL,
        holder TEXT NOT NULL,
        mode TEXT NOT NULL,
        actor TEXT NOT NULL,
        pid INTEGER NOT NULL,
        acquired_at TEXT NOT NULL,
        heartbeat_at TEXT NOT NULL,
        expires_at REAL NOT NULL,
        PRIMARY KEY (name, holder)
    );
    -- When each background job last ran (UTC ISO), and what it did.
    CREATE TABLE job_runs (
        name TEXT PRIMARY KEY,
        last_run_at TEXT NOT NULL,
        last_result TEXT NOT NULL DEFAULT '{}',
        runs INTEGER NOT NULL DEFAULT 0,
        last_holder TEXT NOT NULL DEFAULT ''
    );
    -- A restore in progress, written and committed before the workspace is touched and
    -- deleted with the restore's log entry (git's index.lock: intent first, then the change).
    -- A row whose owner (host, pid, pid_start: start time in clock ticks since boot, NULL
    -- where unknown) is gone was interrupted; the next start finishes it (target_tree) or
    -- rolls it back (pre_tree). paths: JSON list of the --path scope, NULL for the whole
    -- tree. state: 'applying' or 'rolling-back'. Both trees are gc roots while the row lives.
    CREATE TABLE restore_journal (
        id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL,
        workspace TEXT NOT NULL,
        checkpoint_id TEXT NOT NULL,
        target_tree TEXT NOT NULL,
        pre_checkpoint_id TEXT,
        pre_tree TEXT,
        paths TEXT,
        state TEXT NOT NULL,
        pid INTEGER NOT NULL,
        host TEXT NOT NULL,
        pid_start INTEGER,
        started_at TEXT NOT NULL
    );
    -- A session's event log is the operation log filtered by session_id (one record per
    -- change, in the change's own transaction): exec, checkpoint, restore, tag, attach...
    -- Session metrics that survive restarts (bytes, percent, milliseconds).
    CREATE TABLE session_metrics (
        session_id TEXT PRIMARY KEY,
        commands_run INTEGER NOT NULL DEFAULT 0,
        exec_ms_total INTEGER NOT NULL DEFAULT 0,
        last_exec_ms INTEGER,
        memory_bytes INTEGER,
        peak_memory_bytes INTEGER,
        cpu_percent REAL,
        workspace_bytes INTEGER,
        checkpoint_bytes INTEGER,
        sampled_at TEXT,
        history TEXT NOT NULL DEFAULT '[]'
    );
    ALTER TABLE operation_log ADD COLUMN client_id TEXT;
    CREATE INDEX operation_log_session ON operation_log(session_id, id);
    """,
    # 3: a lease names its holder's host and process start time (clock ticks since boot,
    # NULL where unknown), so a lease whose holder died on this host is free at once
    # instead of after its expiry (see core/procs.py). NULL host: a row from before, which
    # waits for its expiry as it always did.
    """
    ALTER TABLE leases ADD COLUMN host TEXT;
    ALTER TABLE leases ADD COLUMN pid_start INTEGER;
    """,
    # 4: what a session was started with (issue 13). ``ports``: JSON list of published
    # ports as the engine reported them; ``metadata``: the user's ``--meta K=V`` pairs;
    # ``env_keys``: the NAMES of the environment variables set (values live only in the
    # container: they may be secrets); ``workdir``/``exec_user``: where and as whom exec
    # and shells start (a devcontainer.json's workspaceFolder/remoteUser; NULL: /workspace
    # and the container's user); ``setup``: a JSON summary of the launch (devcontainer.json
    # path, built image, lifecycle hooks' exit codes, ignored properties).
    """
    ALTER TABLE sessions ADD COLUMN ports TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE sessions ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';
    ALTER TABLE sessions ADD COLUMN env_keys TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE sessions ADD COLUMN workdir TEXT;
    ALTER TABLE sessions ADD COLUMN exec_user TEXT;
    ALTER TABLE sessions ADD COLUMN setup TEXT NOT NULL DEFAULT '{}';
    """,
    # 5: full-text search over history (issue 16): SQLite FTS5 indexes kept in step with
    # the tables by triggers, so every writer (capture, tag, annotate, rm, forget, project
    # delete, import, another vmuser process) updates them in its own transaction.
    # ``checkpoint_fts``: a checkpoint's description, tags (space-separated) and
    # annotations ("label: note [tag, tag]" joined by "; "), the text the view
    # ``checkpoint_search_text`` derives from the JSON columns (invalid JSON reads as none:
    # an index row never fails a write). Its own rowids, mapped to checkpoint ids by
    # ``checkpoint_fts_rows``: a checkpoints rowid is no INTEGER PRIMARY KEY, and VACUUM
    # may renumber such rowids. ``log_fts``: the operation log's operation, actor and the
    # VALUES of its details JSON (decoded: keys would match every entry, and json.dumps
    # writes non-ASCII as escapes), external content over the view ``log_search_text``
    # (operation_log.id is an INTEGER PRIMARY KEY: stable), so the log text is not stored
    # twice. The details are redacted before they are written (core/oplog.py).
    """
    CREATE VIEW checkpoint_search_text AS
    SELECT c.id AS checkpoint_id, c.description AS description,
        COALESCE((SELECT group_concat(t.value, ' ')
                  FROM json_each(CASE WHEN json_valid(c.tags) THEN c.tags ELSE '[]' END) AS t), '') AS tags,
        COALESCE((SELECT group_concat(CASE WHEN a.type = 'object' THEN
                      trim(COALESCE(json_extract(a.value, '$.label'), '')
                           || CASE WHEN COALESCE(json_extract(a.value, '$.note'), '') != ''
                                   THEN ': ' || json_extract(a.value, '$.note') ELSE '' END
                           || COALESCE((SELECT ' [' || group_concat(t.value, ', ') || ']'
                                        FROM json_each(a.value, '$.tags') AS t), ''))
                      END, '; ')
                  FROM json_each(CASE WHEN json_valid(c.annotations) THEN c.annotations ELSE '[]' END) AS a),
                 '') AS annotations
    FROM checkpoints AS c;
    CREATE VIRTUAL TABLE checkpoint_fts USING fts5(
        description, tags, annotations, checkpoint_id UNINDEXED,
        tokenize = 'unicode61 remove_diacritics 2');
    CREATE TABLE checkpoint_fts_rows (
        checkpoint_id TEXT PRIMARY KEY,
        fts_rowid INTEGER NOT NULL
    ) WITHOUT ROWID;
    INSERT INTO checkpoint_fts(description, tags, annotations, checkpoint_id)
        SELECT description, tags, annotations, checkpoint_id FROM checkpoint_search_text;
    INSERT INTO checkpoint_fts_rows(checkpoint_id, fts_rowid) SELECT checkpoint_id, rowid FROM checkpoint_fts;
    CREATE TRIGGER checkpoint_fts_insert AFTER INSERT ON checkpoints BEGIN
        DELETE FROM checkpoint_fts
            WHERE rowid = (SELECT fts_rowid FROM checkpoint_fts_rows WHERE checkpoint_id = new.id);
        INSERT INTO checkpoint_fts(description, tags, annotations, checkpoint_id)
            SELECT description, tags, annotations, checkpoint_id FROM checkpoint_search_text
            WHERE checkpoint_id = new.id;
        INSERT OR REPLACE INTO checkpoint_fts_rows(checkpoint_id, fts_rowid) VALUES (new.id, last_insert_rowid());
    END;
    CREATE TRIGGER checkpoint_fts_update AFTER UPDATE OF id, description, tags, annotations ON checkpoints BEGIN
        DELETE FROM checkpoint_fts
            WHERE rowid = (SELECT fts_rowid FROM checkpoint_fts_rows WHERE checkpoint_id = old.id);
        DELETE FROM checkpoint_fts_rows WHERE checkpoint_id = old.id;
        INSERT INTO checkpoint_fts(description, tags, annotations, checkpoint_id)
            SELECT description, tags, annotations, checkpoint_id FROM checkpoint_search_text
            WHERE checkpoint_id = new.id;
        INSERT OR REPLACE INTO checkpoint_fts_rows(checkpoint_id, fts_rowid) VALUES (new.id, last_insert_rowid());
    END;
    CREATE TRIGGER checkpoint_fts_delete AFTER DELETE ON checkpoints BEGIN
        DELETE FROM checkpoint_fts
            WHERE rowid = (SELECT fts_rowid FROM checkpoint_fts_rows WHERE checkpoint_id = old.id);
        DELETE FROM checkpoint_fts_rows WHERE checkpoint_id = old.id;
    END;
    CREATE VIEW log_search_text AS
    SELECT l.id AS id, l.operation AS operation, l.actor AS actor,
        COALESCE((SELECT group_concat(v.atom, ' ')
                  FROM json_tree(CASE WHEN json_valid(l.details) THEN l.details ELSE '{}' END) AS v
                  WHERE v.atom IS NOT NULL), '') AS details
    FROM operation_log AS l;
    CREATE VIRTUAL TABLE log_fts USING fts5(
        operation, actor, details, content = 'log_search_text', content_rowid = 'id',
        tokenize = 'unicode61 remove_diacritics 2');
    INSERT INTO log_fts(rowid, operation, actor, details) SELECT id, operation, actor, details FROM log_search_text;
    CREATE TRIGGER log_fts_insert AFTER INSERT ON operation_log BEGIN
        INSERT INTO log_fts(rowid, operation, actor, details)
            SELECT id, operation, actor, details FROM log_search_text WHERE id = new.id;
    END;
    CREATE TRIGGER log_fts_delete BEFORE DELETE ON operation_log BEGIN
        INSERT INTO log_fts(log_fts, rowid, operation, actor, details)
            SELECT 'delete', id, operation, actor, details FROM log_search_text WHERE id = old.id;
    END;
    CREATE TRIGGER log_fts_update_before BEFORE UPDATE ON operation_log BEGIN
        INSERT INTO log_fts(log_fts, rowid, operation, actor, details)
            SELECT 'delete', id, operation, actor, details FROM log_search_text WHERE id = old.id;
    END;
    CREATE TRIGGER log_fts_update_after AFTER UPDATE ON operation_log BEGIN
        INSERT INTO log_fts(rowid, operation, actor, details)
            SELECT id, operation, actor, details FROM log_search_text WHERE id = new.id;
    END;
    """,
    # 6: engines (issue 14). Where a project's workspace lives now (``local``: its folder on
    # this host; another name: the volume ``vmuser-ws-<project id>`` on that engine), and the
    # engine each session's container runs on.
    """
    ALTER TABLE projects ADD COLUMN engine TEXT NOT NULL DEFAULT 'local';
    ALTER TABLE sessions ADD COLUMN engine TEXT NOT NULL DEFAULT 'local';
    CREATE INDEX sessions_engine ON sessions(engine, status);
    """,
    # 7: folder signatures of the standalone scan (issue 15; see core/store/dirscan.py): per
    # folder the digest of its entries' stats and sub-trees (NULL: not to be trusted), the
    # tree it had, and the regular files and bytes below it, under the ignore rules' key.
    """
    CREATE TABLE stat_dirs (
        project_id TEXT NOT NULL,
        path TEXT NOT NULL,
        rules_key TEXT NOT NULL,
        sig BLOB,
        tree TEXT NOT NULL,
        files INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        PRIMARY KEY (project_id, path)
    ) WITHOUT ROWID;
    """,
    # 8: search reaches a match's checkpoint through b-tree lookups only (issue 16; see
    # core/search.py). Migration 5's ``checkpoint_fts`` kept the checkpoint id as an
    # UNINDEXED column, which FTS5 reads with a query of its content table per match (9 ms
    # of 37 for a word in all 10,000 checkpoints of benchmarks/search.py). Now
    # ``checkpoint_fts_rows`` is keyed by the index's rowid (an INTEGER PRIMARY KEY, so
    # VACUUM keeps it; a checkpoints rowid is none and may be renumbered) and the index holds
    # only the text. The index is made again from the checkpoints (its text is derived: the
    # view ``checkpoint_search_text``); the same triggers keep it in step, by checkpoint id.
    # An index row left without a key row (none is made so) matches nothing; a new row's
    # insert replaces it.
    """
    DROP TRIGGER checkpoint_fts_insert;
    DROP TRIGGER checkpoint_fts_update;
    DROP TRIGGER checkpoint_fts_delete;
    DROP TABLE checkpoint_fts_rows;
    DROP TABLE checkpoint_fts;
    CREATE VIRTUAL TABLE checkpoint_fts USING fts5(
        description, tags, annotations,
        tokenize = 'unicode61 remove_diacritics 2');
    CREATE TABLE checkpoint_fts_rows (
        fts_rowid INTEGER PRIMARY KEY,
        checkpoint_id TEXT NOT NULL UNIQUE
    );
    INSERT INTO checkpoint_fts_rows(checkpoint_id) SELECT id FROM checkpoints ORDER BY rowid;
    INSERT INTO checkpoint_fts(rowid, description, tags, annotations)
        SELECT k.fts_rowid, t.description, t.tags, t.annotations
        FROM checkpoint_fts_rows AS k JOIN checkpoint_search_text AS t ON t.checkpoint_id = k.checkpoint_id;
    CREATE TRIGGER checkpoint_fts_insert AFTER INSERT ON checkpoints BEGIN
        DELETE FROM checkpoint_fts
            WHERE rowid = (SELECT fts_rowid FROM checkpoint_fts_rows WHERE checkpoint_id = new.id);
        DELETE FROM checkpoint_fts_rows WHERE checkpoint_id = new.id;
        INSERT INTO checkpoint_fts_rows(checkpoint_id) VALUES (new.id);
        INSERT OR REPLACE INTO checkpoint_fts(rowid, description, tags, annotations)
            SELECT (SELECT fts_rowid FROM checkpoint_fts_rows WHERE checkpoint_id = new.id),
                   description, tags, annotations
            FROM checkpoint_search_text WHERE checkpoint_id = new.id;
    END;
    CREATE TRIGGER checkpoint_fts_update AFTER UPDATE OF id, description, tags, annotations ON checkpoints BEGIN
        DELETE FROM checkpoint_fts
            WHERE rowid = (SELECT fts_rowid FROM checkpoint_fts_rows WHERE checkpoint_id = old.id);
        DELETE FROM checkpoint_fts_rows WHERE checkpoint_id = old.id;
        INSERT OR REPLACE INTO checkpoint_fts_rows(checkpoint_id) VALUES (new.id);
        INSERT OR REPLACE INTO checkpoint_fts(rowid, description, tags, annotations)
            SELECT (SELECT fts_rowid FROM checkpoint_fts_rows WHERE checkpoint_id = new.id),
                   description, tags, annotations
            FROM checkpoint_search_text WHERE checkpoint_id = new.id;
    END;
    CREATE TRIGGER checkpoint_fts_delete AFTER DELETE ON checkpoints BEGIN
        DELETE FROM checkpoint_fts
            WHERE rowid = (SELECT fts_rowid FROM checkpoint_fts_rows WHERE checkpoint_id = old.id);
        DELETE FROM checkpoint_fts_rows WHERE checkpoint_id = old.id;
    END;
    """,
]

LATEST = len(MIGRATIONS)
