"""One PROJECT|SESSION argument that names two things (session 22).

``vmuser checkpoint create e658`` resolves a session first (an id prefix), then a project
(a name or id). A project *named* ``e658`` while some session's id starts with ``e658``
(ids are hex: ``cafe``, ``beef``, ``dead`` and ``2024`` are such names) went silently to the
session, so the checkpoint was of another project. :func:`refuse_session_or_project` makes
that ambiguous, as git does for a name that is both a branch and a commit prefix.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vmuser_tui.core.errors import AmbiguousError, VmuserError

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from vmuser_tui.core.projects import Projects


def refuse_session_or_project(projects: Projects, ref: str, session_id: str, session_project: str) -> None:
    """Raise AmbiguousError when ``ref`` (which matched session ``session_id`` of project
    ``session_project`` by prefix) also names another project. A project that cannot be
    resolved (none, or several: the session then stays the answer, as before) is no clash."""
    try:
        project_id = projects.resolve(ref)
    except VmuserError:
        return
    if project_id == session_project:
        return  # both roads lead to the same project's checkpoints
    raise AmbiguousError(f"{ref!r} is both project {project_id} ({projects.get(project_id).name}) and a prefix of "
                         f"session {session_id} (of project {session_project}); give the project id ({project_id}) "
                         "or the whole session id")
