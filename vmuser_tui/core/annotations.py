"""Annotations of a checkpoint: ``{label, note, tags, at, actor}`` records in the
checkpoint's ``annotations`` JSON column (issue 13, "the edits users miss").

A checkpoint's files never change; its annotations are the metadata a person adds later
("tests pass", "deployed to staging"). A label names its annotation on that checkpoint:
annotating again with the same label replaces the note and tags, and ``remove`` takes the
label away. Annotation tags are the annotation's own (``checkpoint list --annotation-tag``
filters on them), apart from the checkpoint's tags. Rows written before annotation tags
existed have no ``tags`` key and read as ``[]`` (``models.Checkpoint.from_row``).

Each change is one ``checkpoint.annotate`` operation-log entry with the label and tags
(``action``: ``add``, ``replace`` or ``remove``), never the note text: a note is free
text and may hold a secret (the log's details go through :func:`vmuser_tui.core.redact.redact`
as well, which masks secret shapes in the label).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from vmuser_tui.core import clock, oplog
from vmuser_tui.core.errors import NotFoundError, UsageError
from vmuser_tui.core.ids import validate_tag
from vmuser_tui.core.models import Checkpoint

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from vmuser_tui.core.checkpoints import Checkpoints

LABEL_MAX = 80  # characters
#: The SQL condition of ``checkpoint list --annotation-tag T``: an annotation of the row
#: has tag ``?`` (json_each over a missing ``$.tags`` gives no rows: old annotations).
HAS_ANNOTATION_TAG = ("EXISTS (SELECT 1 FROM json_each(checkpoints.annotations) AS a, "
                      "json_each(a.value, '$.tags') AS t WHERE t.value = ?)")


def validate_label(label: str) -> str:
    """A label, stripped: 1-80 printable characters. Raises UsageError."""
    label = label.strip()
    if not label or len(label) > LABEL_MAX or not label.isprintable():
        raise UsageError(f"an annotation label needs 1-{LABEL_MAX} printable characters, e.g. --label 'tests pass'")
    return label


def annotate(checkpoints: Checkpoints, ref: str, label: str, note: str = "", tags: Sequence[str] = ()) -> Checkpoint:
    """Attach ``{label, note, tags, at, actor}`` to the checkpoint ``ref``; an annotation
    with the same label is replaced (it keeps its place in the list). Raises UsageError
    (label, tag), NotFoundError/AmbiguousError (ref), ReadOnlyError."""
    cp = checkpoints.get(ref)
    checkpoints.ctx.access.check(cp.project_id, what="annotate a checkpoint")
    label = validate_label(label)
    clean_tags = sorted({validate_tag(t) for t in tags})
    record = {"label": label, "note": note, "tags": clean_tags, "at": clock.now_iso(), "actor": oplog.actor()}
    notes = list(cp.annotations)
    same = [i for i, n in enumerate(notes) if n.get("label") == label]
    if same:
        notes[same[0]] = record
        notes = [n for i, n in enumerate(notes) if i not in same[1:]]
    else:
        notes.append(record)
    _write(checkpoints, cp, notes, label=label, tags=clean_tags, action="replace" if same else "add",
           note_chars=len(note))
    return checkpoints.get(cp.id)


def remove(checkpoints: Checkpoints, ref: str, label: str) -> Checkpoint:
    """Remove the annotation(s) labelled ``label`` from the checkpoint ``ref``. Raises
    NotFoundError (no such label: the message lists the labels it has), UsageError for
    an empty label, NotFoundError/AmbiguousError (ref), ReadOnlyError."""
    cp = checkpoints.get(ref)
    checkpoints.ctx.access.check(cp.project_id, what="annotate a checkpoint")
    label = label.strip()
    if not label:
        raise UsageError("name the annotation to remove by its label: --remove LABEL")
    kept = [n for n in cp.annotations if n.get("label") != label]
    if len(kept) == len(cp.annotations):
        labels = ", ".join(repr(n.get("label", "")) for n in cp.annotations)
        raise NotFoundError(f"checkpoint {cp.id} has no annotation labelled {label!r}"
                            + (f" (its labels: {labels})" if labels else " (it has none)"))
    _write(checkpoints, cp, kept, label=label, action="remove")
    return checkpoints.get(cp.id)


def _write(checkpoints: Checkpoints, cp: Checkpoint, notes: list[dict], **details: Any) -> None:
    with checkpoints.db.write() as conn:
        conn.execute("UPDATE checkpoints SET annotations = ? WHERE id = ?", (json.dumps(notes), cp.id))
        oplog.record(conn, "checkpoint.annotate", project_id=cp.project_id, session_id=cp.session_id,
                     checkpoint=cp.id, **details)
