"""Full-text search over history: checkpoints (description, tags, annotations) and the
operation log (operation, actor, the values of its details), ranked by bm25, with the
matched words marked in a snippet (issue 16, "search over history").

The indexes are SQLite FTS5 tables kept in step by triggers (schema migration 5:
``checkpoint_fts`` and ``log_fts``; migration 8 keys ``checkpoint_fts_rows`` by the
index's rowid), so this module only reads. Queries are what
:func:`vmuser_tui.core.search_query.parse` makes of the user's text, which FTS5 always
parses; should SQLite still refuse one, the error is one line (UsageError), never a
traceback.

Why plain SQL rather than sqlite-utils' ``enable_fts``/``search``: ``enable_fts`` makes an
index of a table's columns as they are and triggers that copy them, but the text to index
is derived (tags and annotations are JSON lists; the log's details are JSON whose keys
would match every entry and whose non-ASCII is stored escaped), the checkpoints' rowids
are not stable keys (no INTEGER PRIMARY KEY: VACUUM may renumber them), and the index must
exist on every database from a numbered migration (core/schema.py), not from a call at
run time. Its ``search()`` ranks and snippets one table; here the match joins the
checkpoints with the project, session and tag filters in the same query.

Costs (benchmarks/search.py, 10,000-checkpoint history): a search is one FTS5 query
joined to the checkpoints through ``checkpoint_fts_rows`` (the index's rowid, its INTEGER
PRIMARY KEY, gives the checkpoint id, then the checkpoints' primary key); snippets are made
for the rows returned only, by SQLite for the best :data:`SNIPPET_ROWS` (one pass over
their rowid range) and in Python for the rest when first read (:class:`CheckpointMatch`).
A word in all 10,000 checkpoints: about 34 ms, of which 25 ms of SQL (bm25 of every match
7 ms, the join 3.5 ms, reading 13 columns per row and the sort 14 ms) and 9 ms of Python
(a Checkpoint and a match per row, built from the cursor with the cyclic GC paused); it
was 57 ms (37 + 20) before schema 8, which dropped the read of the checkpoint id kept in
the index (FTS5 reads an UNINDEXED column with one query of its content table per row:
9 ms). Keying the index by the checkpoints' own rowid would save ~3 ms more, but that
rowid is no stable key (above).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from vmuser_tui.core.errors import UsageError
from vmuser_tui.core.gcpause import no_cyclic_gc
from vmuser_tui.core.models import CHECKPOINT_FIELDS, Checkpoint, _annotations, _state, _tags
from vmuser_tui.core.redact import redact
from vmuser_tui.core.search_query import MARK_CLOSE, MARK_OPEN, PLAIN_CLOSE, PLAIN_OPEN, SearchQuery, mark, with_marks

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from vmuser_tui.core.db import Database

#: The indexed columns of ``checkpoint_fts``, in order, and their weights in the ranking
#: (a tag is a deliberate label: it counts more than a word of a description).
CHECKPOINT_COLUMNS = ("description", "tags", "annotations")
_WEIGHTS = "1.0, 2.0, 1.0"
#: The checkpoint columns a search reads, in :class:`~vmuser_tui.core.models.Checkpoint`'s
#: order, for :func:`_matches`: not ``project_id`` (the filter's value), and the JSON
#: columns NULL when empty (None is no new string per row). Each column read costs about
#: 0.8 ms per 10,000 matches: these three changes saved ~3 ms of the worst case.
_MATCH_COLUMNS = ", ".join(
    (f"NULLIF(checkpoints.{name}, '{{}}')" if name == "state" else f"NULLIF(checkpoints.{name}, '[]')")
    if name in ("tags", "annotations", "state") else f"checkpoints.{name}"
    for name in CHECKPOINT_FIELDS if name != "project_id")
SNIPPET_TOKENS = 12  # words of context in a snippet
SNIPPET_ROWS = 200  # the best matches whose snippets SQLite makes
#: The snippet queries' "these rows" (parameters: lowest rowid, highest, then each one).
#: FTS5 takes ``rowid IN (...)`` as one ``rowid = ?`` lookup per value, each seeking the
#: match's doclist from its start: 200 rows of a word in all 10,000 checkpoints cost 21 ms
#: (the newest are last). One pass over the range, the ``+rowid`` (no index) filtering in
#: it, costs 0.6 ms (benchmarks/search.py; EXPLAIN QUERY PLAN: ``0:=M4`` -> ``0:M4><``).
_ROWIDS_AMONG = "rowid BETWEEN ? AND ? AND +rowid IN ({marks})"


class CheckpointMatch:
    """One checkpoint a search found: the ``checkpoint``, the ``column`` the snippet is from
    (``description``, ``tags`` or ``annotations``), the ``snippet`` with the matched words
    between :data:`~vmuser_tui.core.search_query.MARK_OPEN` and ``MARK_CLOSE``, and its
    ``rank`` (bm25: lower is better).

    Given ``query`` instead of ``column``/``snippet``, both are made in Python on first
    access (:func:`_python_column`, :func:`_python_snippet`): a word found in all 10,000
    checkpoints cost 80 ms of snippets that a screen showing 40 rows never reads
    (benchmarks/search.py). Making them is pure Python (no database): any thread may.
    Read-only as the frozen dataclass it was: equal when all four are."""

    __slots__ = ("_checkpoint", "_column", "_query", "_rank", "_snippet")

    def __init__(self, checkpoint: Checkpoint, column: str | None = None, snippet: str | None = None,
                 rank: float = 0.0, *, query: SearchQuery | None = None) -> None:
        if (column is None or snippet is None) and query is None:
            raise TypeError("CheckpointMatch needs column and snippet, or the query to make them")
        # read-only properties over slots: plain stores here (a frozen __setattr__ cost 3 ms
        # more per 10,000 matches)
        self._checkpoint, self._rank = checkpoint, rank
        self._column, self._snippet, self._query = column, snippet, query

    @property
    def checkpoint(self) -> Checkpoint:
        return self._checkpoint

    @property
    def rank(self) -> float:
        return self._rank

    @property
    def column(self) -> str:
        if self._column is None:
            assert self._query is not None
            self._column = _python_column(self._checkpoint, self._query)[0]
        return self._column

    @property
    def snippet(self) -> str:
        if self._snippet is None:
            assert self._query is not None
            column, text = _python_column(self._checkpoint, self._query)
            if self._column is None:
                self._column = column
            self._snippet = _python_snippet(self._checkpoint, self._query, text)
        return self._snippet

    def _key(self) -> tuple[Checkpoint, str, str, float]:
        return (self.checkpoint, self.column, self.snippet, self.rank)

    def __eq__(self, other: object) -> bool:
        return self._key() == other._key() if isinstance(other, CheckpointMatch) else NotImplemented

    __hash__ = None  # type: ignore[assignment]  # as the dataclass: its Checkpoint is mutable

    def __repr__(self) -> str:
        return (f"CheckpointMatch(checkpoint={self.checkpoint!r}, column={self.column!r}, "
                f"snippet={self.snippet!r}, rank={self.rank!r})")

    def to_json(self) -> dict[str, Any]:
        """The checkpoint's JSON with ``match`` (the snippet, matches between « and ») and
        ``match_in`` (the column)."""
        return {**self.checkpoint.to_json(), "match": with_marks(self.snippet, PLAIN_OPEN, PLAIN_CLOSE),
                "match_in": self.column}


def _run(db: Database, sql: str, params: tuple, query: SearchQuery) -> list[dict[str, Any]]:
    with _fts_errors(query):
        return db.query(sql, params)


def _run_tuples(db: Database, sql: str, params: tuple, query: SearchQuery) -> list[tuple]:
    with _fts_errors(query):
        return db.conn.execute(sql, params).fetchall()


@contextmanager
def _fts_errors(query: SearchQuery) -> Iterator[None]:
    """SQLite's refusal of a query as a one-line UsageError."""
    try:
        yield
    except sqlite3.OperationalError as exc:  # parse() makes queries FTS5 accepts: this is a backstop
        if "fts5" in str(exc) or "MATCH" in str(exc) or "syntax" in str(exc):
            raise UsageError(f"cannot search for {query.text[:40]!r} ({exc}); search for plain words") from None
        raise


def checkpoints(db: Database, query: SearchQuery, *, project_id: str, session_id: str | None = None,
                tags: tuple[str, ...] = (), conditions: tuple[tuple[str, str], ...] = (),
                limit: int | None = None) -> list[CheckpointMatch]:
    """The checkpoints of ``project_id`` (and ``session_id``) that match ``query``, best
    first (ties: newest first); each of ``tags`` must be among a checkpoint's tags;
    ``conditions``: more ``(SQL on checkpoints, its parameter)`` filters (e.g.
    :data:`vmuser_tui.core.annotations.HAS_ANNOTATION_TAG`)."""
    where, params = ["checkpoint_fts MATCH ?", "checkpoints.project_id = ?"], [query.fts(), project_id]
    if session_id:
        where.append("checkpoints.session_id = ?")
        params.append(session_id)
    for tag in tags:
        where.append("EXISTS (SELECT 1 FROM json_each(checkpoints.tags) WHERE value = ?)")
        params.append(tag)
    for condition, value in conditions:
        where.append(condition)
        params.append(value)
    # First the ranked rows, then snippets for those rows only: snippet() on every match
    # before the LIMIT would cost a snippet per matching checkpoint.
    sql = (f"SELECT {_MATCH_COLUMNS}, checkpoint_fts.rowid, bm25(checkpoint_fts, {_WEIGHTS}) AS score "
           f"FROM checkpoint_fts CROSS JOIN checkpoint_fts_rows AS k ON k.fts_rowid = checkpoint_fts.rowid "
           f"CROSS JOIN checkpoints ON checkpoints.id = k.checkpoint_id "
           f"WHERE {' AND '.join(where)} ORDER BY score, checkpoints.created_at DESC, checkpoints.rowid DESC")
    if limit:
        sql += f" LIMIT {int(limit)}"
    # Tuples, not a dict per row (db.query), read from the cursor as they are turned into
    # matches (no list of 10,000 rows alive meanwhile); the collector paused
    # (no_cyclic_gc): 10,000 matches are 50,000 new containers and no cycles.
    with no_cyclic_gc(), _fts_errors(query):
        cursor = db.conn.execute(sql, tuple(params))
        head = cursor.fetchmany(SNIPPET_ROWS)
        # SQLite's snippets (diacritics folded as in the match) for the first rows, what a
        # screen shows; past them one made in Python, on first access (CheckpointMatch): an
        # FTS5 pass per 500 rows cost 0.9 s for 10,000 matches (benchmarks/search.py).
        out = _matches(head, project_id, _checkpoint_snippets(db, query, [r[-2] for r in head]), query)
        out.extend(_matches(cursor, project_id, {}, query))
        return out


def _matches(rows: Iterable[tuple], project_id: str, snippets: dict[int, tuple[str, str]],
             query: SearchQuery) -> list[CheckpointMatch]:
    """The matches of :func:`checkpoints`'s ``rows`` (:data:`_MATCH_COLUMNS`, then the
    index's rowid and the bm25 score), with SQLite's ``snippets`` where made. Each
    checkpoint is what :meth:`Checkpoint.from_row` makes of its row, built here in line:
    a call per row cost 1 to 2 ms per 10,000 matches (benchmarks/search.py)."""
    get = snippets.get
    out: list[CheckpointMatch] = []
    append = out.append
    for (id_, session_id, parent_id, root_tree, kind, description, tags, notes, file_count, total_size,
         image_id, created_at, state, rowid, score) in rows:
        cp = Checkpoint(id_, project_id, session_id, parent_id, root_tree, kind, description,
                        _tags(tags) if tags else [], _annotations(notes) if notes else [],
                        file_count, total_size, image_id, created_at, _state(state) if state else {})
        found = get(rowid)
        if found is None:
            append(CheckpointMatch(cp, None, None, score, query=query))
        else:
            append(CheckpointMatch(cp, found[0], found[1], score))
    return out


def _python_column(cp: Checkpoint, query: SearchQuery) -> tuple[str, str | None]:
    """``(column, its text)`` for a match past :data:`SNIPPET_ROWS`: the first column whose
    text the query's pattern finds; ``("description", None)`` when none is found."""
    pattern = query.pattern()
    if pattern.search(cp.description):
        return "description", cp.description
    tags = " ".join(cp.tags)
    if pattern.search(tags):
        return "tags", tags
    notes = "; ".join(" ".join(filter(None, [str(n.get("label", "")), f": {n['note']}" if n.get("note") else "",
                                           f"[{', '.join(map(str, n.get('tags') or []))}]" if n.get("tags") else ""]))
                      for n in cp.annotations if isinstance(n, dict))
    if pattern.search(notes):
        return "annotations", notes
    return "description", None


def _python_snippet(cp: Checkpoint, query: SearchQuery, text: str | None) -> str:
    """The snippet of a match past :data:`SNIPPET_ROWS`: ``text`` (:func:`_python_column`'s),
    marked (the description's first characters when None: nothing found)."""
    return cp.description[:96] if text is None else mark(text, query, around=48)


def _checkpoint_snippets(db: Database, query: SearchQuery, rowids: list[int]) -> dict[int, tuple[str, str]]:
    """``{fts rowid: (column, snippet)}``: the first column (description, tags, annotations)
    whose snippet marks a match."""
    out: dict[int, tuple[str, str]] = {}
    cols = ", ".join(f"snippet(checkpoint_fts, {i}, ?, ?, '…', {SNIPPET_TOKENS}) AS s{i}"
                     for i in range(len(CHECKPOINT_COLUMNS)))
    marks = (MARK_OPEN, MARK_CLOSE) * len(CHECKPOINT_COLUMNS)
    for start in range(0, len(rowids), 500):
        part = rowids[start:start + 500]
        sql = (f"SELECT rowid, {cols} FROM checkpoint_fts WHERE checkpoint_fts MATCH ? "
               f"AND {_ROWIDS_AMONG.format(marks=','.join('?' * len(part)))}")
        for row in _run(db, sql, (*marks, query.fts(), min(part), max(part), *part), query):
            texts = [row[f"s{i}"] or "" for i in range(len(CHECKPOINT_COLUMNS))]
            best = next((i for i, t in enumerate(texts) if MARK_OPEN in t), 0)
            out[row["rowid"]] = (CHECKPOINT_COLUMNS[best], texts[best])
    return out


def log_entries(db: Database, query: SearchQuery, where: list[str], params: tuple, limit: int) -> list[dict]:
    """The operation-log rows that pass the filter conditions ``where`` (SQL on
    ``operation_log``'s columns, with ``params``) and match ``query``, best first (ties:
    newest first), at most ``limit``, each with ``match``: the snippet of the column that
    matched. Rows as stored (details JSON text): see :func:`checked_log_row`."""
    # The filters go in a subquery so that their column names (operation, actor, details)
    # are operation_log's and not the index's; SQLite flattens it into the join.
    inner = "SELECT * FROM operation_log" + (f" WHERE {' AND '.join(where)}" if where else "")
    # First the ids, ranked, then their rows: sorting every match's whole row (details JSON)
    # to keep 50 cost 20 ms for a word in all 10,000 entries, the ids alone 8 ms.
    sql = (f"SELECT l.id FROM log_fts JOIN ({inner}) AS l ON l.id = log_fts.rowid "
           "WHERE log_fts MATCH ? ORDER BY bm25(log_fts), l.id DESC LIMIT ?")
    ids = [row[0] for row in _run_tuples(db, sql, (*params, query.fts(), limit), query)]
    by_id: dict[int, dict[str, Any]] = {}
    for start in range(0, len(ids), 500):
        part = ids[start:start + 500]
        by_id.update((row["id"], row) for row in db.query(
            f"SELECT * FROM operation_log WHERE id IN ({','.join('?' * len(part))})", tuple(part)))
    rows = [by_id[i] for i in ids if i in by_id]
    # the snippets of the rows returned only (snippet() in the query above runs for every match)
    snippets: dict[int, str] = {}
    for start in range(0, len(ids), 500):
        part = ids[start:start + 500]
        snippets.update(db.conn.execute(
            f"SELECT rowid, snippet(log_fts, -1, ?, ?, '…', {SNIPPET_TOKENS}) FROM log_fts "
            f"WHERE log_fts MATCH ? AND {_ROWIDS_AMONG.format(marks=','.join('?' * len(part)))}",
            (MARK_OPEN, MARK_CLOSE, query.fts(), min(part), max(part), *part)).fetchall())
    for row in rows:
        row["match"] = snippets.get(row["id"], "")
    return rows


def checked_log_row(row: dict[str, Any], query: SearchQuery) -> dict[str, Any] | None:
    """A log search's row as shown (``details`` decoded and redacted), or None when it
    matched only through text that redaction masks: a row written before a redaction rule
    existed (new rows are redacted before they are written, so their index holds no
    secret). Such a row's snippet is made again from the redacted text."""
    stored = row["details"] or "{}"
    try:
        raw = json.loads(stored)
    except ValueError:
        raw = {}
    details = redact(raw)
    row["details"] = details
    if details != raw:  # redaction changed it: check the match against what may be shown
        shown = " ".join([row.get("operation") or "", row.get("actor") or "", *_values(details)])
        if not all(query_term_found(shown, query)):
            return None
        row["match"] = mark(shown, query)
    return row


def query_term_found(text: str, query: SearchQuery) -> list[bool]:
    """For each term of ``query``: is it in ``text`` (by :meth:`SearchQuery.pattern`'s rules)?"""
    return [SearchQuery(query.text, (term,)).pattern().search(text) is not None for term in query.terms]


def _values(doc: Any) -> list[str]:
    """The scalar values in a JSON document, in order (what ``log_search_text`` indexes)."""
    if isinstance(doc, dict):
        return [v for value in doc.values() for v in _values(value)]
    if isinstance(doc, list):
        return [v for value in doc for v in _values(value)]
    return [] if doc is None else [str(doc)]
