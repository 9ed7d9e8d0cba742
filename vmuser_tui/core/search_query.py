"""What a user types into a search, made into a SQLite FTS5 query that cannot fail to parse.

The syntax (issue 16, "search over history"): plain words, all of which must match (AND);
``"a quoted phrase"``, whose words must come in that order; ``prefix*``, any word that
starts so. Everything else is text: FTS5's own operators (``AND``, ``OR``, ``NOT``,
``NEAR(``, ``-col:``, ``^``, parentheses) are searched for as words, never obeyed, so no
input gives an FTS5 syntax error.

How: each term is split into the words SQLite's ``unicode61`` tokenizer sees (runs of
letters and digits; punctuation separates, as it does when the text is indexed) and
written back as an FTS5 string of those words only, ``"fix login"`` or ``"chec"*``. A
term with no letter or digit (``-``, ``*``, ``"``) is dropped; a query left with none is
refused with one line (:class:`~vmuser_tui.core.errors.UsageError`), as is one longer
than :data:`MAX_CHARS` characters or :data:`MAX_TERMS` terms (a pasted file is no search).

Matches come back marked with :data:`MARK_OPEN` / :data:`MARK_CLOSE` (SQLite's
``snippet()``); :func:`marked_parts` splits such text for a UI to style, and
:func:`with_marks` rewrites the marks for plain text (the CLI's ``«`` ``»``).
:meth:`SearchQuery.pattern` finds the same words in any text, for highlighting what a row
shows. Pure: no database, no I/O (a helper both adapters may import).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from vmuser_tui.core.errors import UsageError

MAX_CHARS = 1000
MAX_TERMS = 32
#: Around a matched word in a snippet (control characters: never in a description typed
#: on one line, and shown as escapes if they were).
MARK_OPEN, MARK_CLOSE = "\x02", "\x03"
#: The marks plain-text output uses (``checkpoint list --search``, ``log --search``, JSON).
PLAIN_OPEN, PLAIN_CLOSE = "«", "»"
_MARKED = MARK_OPEN + r"\g<0>" + MARK_CLOSE  # re.sub template: the match between marks
#: A word as unicode61 sees it: letters and digits (``_`` and punctuation separate).
_WORD = re.compile(r"[^\W_]+")
#: A term: a quoted phrase (closed or running to the end), with ``*`` after it; or a run of
# non-spaces.
_TERM = re.compile(r'"([^"]*)("?)(\*?)|(\S+)')
#: ``tag:NAME`` or ``#NAME`` (the timeline's tag filter, beside the words).
_TAG_TOKENS = ("tag:", "#")


@dataclass(frozen=True)
class Term:
    """One term: its ``words`` (a phrase has several, in order) and whether the last one is
    a ``prefix``."""

    words: tuple[str, ...]
    prefix: bool = False

    def fts(self) -> str:
        """The term as an FTS5 string: ``"fix login"`` or ``"chec"*`` (words hold no quote)."""
        return f'"{" ".join(self.words)}"' + ("*" if self.prefix else "")


@dataclass(frozen=True)
class SearchQuery:
    """A parsed search: ``text`` as typed, its ``terms`` (all must match)."""

    text: str
    terms: tuple[Term, ...]

    def fts(self) -> str:
        """The FTS5 MATCH expression: the terms, space-separated (FTS5's implicit AND)."""
        return " ".join(term.fts() for term in self.terms)

    def pattern(self) -> re.Pattern[str]:
        """A regex (case-insensitive) that finds the terms in any text, for highlighting: a
        phrase's words with anything but letters and digits between them; a prefix term
        with the rest of its word."""
        return _pattern(self.terms)


@functools.lru_cache(maxsize=64)
def _pattern(terms: tuple[Term, ...]) -> re.Pattern[str]:
    """:meth:`SearchQuery.pattern`, made once per query (a search marks thousands of rows)."""
    parts = []
    for term in terms:
        body = r"[\W_]+".join(re.escape(w) for w in term.words)
        parts.append(r"(?<![^\W_])" + body + (r"[^\W_]*" if term.prefix else r"(?![^\W_])"))
    return re.compile("|".join(parts), re.IGNORECASE)


def parse(text: str) -> SearchQuery:
    """``text`` as a :class:`SearchQuery`. Raises UsageError (one line) when it holds no word
    to search for, or is longer than :data:`MAX_CHARS` characters / :data:`MAX_TERMS` terms."""
    if len(text) > MAX_CHARS:
        raise UsageError(f"a search is at most {MAX_CHARS} characters (this one has {len(text):,}); "
                         "search for a few words")
    terms: list[Term] = []
    for m in _TERM.finditer(text):
        phrase, _closed, star, bare = m.groups()
        if bare is not None:
            words, prefix = _WORD.findall(bare), bare.endswith("*")
        else:
            words, prefix = _WORD.findall(phrase), bool(star)
        if words:
            terms.append(Term(tuple(words), prefix))
    if not terms:
        raise UsageError(f"nothing to search for in {text.strip()[:40]!r}: give words, \"a phrase\" or a prefix*")
    if len(terms) > MAX_TERMS:
        raise UsageError(f"a search takes at most {MAX_TERMS} words or phrases (this one has {len(terms)})")
    return SearchQuery(text, tuple(terms))


def as_you_type(text: str) -> str:
    """``text`` for a search run at each keystroke: the word being typed (the last, bare,
    not followed by a space) is a prefix, so ``chec`` already finds ``checkpoint``."""
    if not text or text[-1].isspace() or text.count('"') % 2:
        return text
    last = text.split()[-1]
    if last.endswith(("*", '"')) or not _WORD.search(last):
        return text
    return text + "*"


def split_tags(text: str) -> tuple[list[str], str]:
    """The timeline's ``/`` box: ``tag:NAME`` and ``#NAME`` words are tag filters, the rest
    is searched for. Returns ``(tags, rest)``; ``rest`` may be empty (tags only)."""
    tags, rest = [], []
    for word in text.split():
        token = next((t for t in _TAG_TOKENS if word.lower().startswith(t) and len(word) > len(t)), None)
        if token is not None:
            tags.append(word[len(token):])
        else:
            rest.append(word)
    return tags, " ".join(rest)


def marked_parts(snippet: str) -> list[tuple[str, bool]]:
    """``snippet`` (with :data:`MARK_OPEN`/:data:`MARK_CLOSE`) as ``(text, matched)`` pieces."""
    out: list[tuple[str, bool]] = []
    for i, piece in enumerate(re.split(f"[{MARK_OPEN}{MARK_CLOSE}]", snippet)):
        if piece:
            out.append((piece, i % 2 == 1))
    return out


def with_marks(snippet: str, open_: str = PLAIN_OPEN, close: str = PLAIN_CLOSE) -> str:
    """``snippet`` with its marks replaced by ``open_`` and ``close``."""
    return snippet.replace(MARK_OPEN, open_).replace(MARK_CLOSE, close)


def mark(text: str, query: SearchQuery, *, around: int = 40) -> str:
    """A snippet of ``text`` made in Python (for text SQLite did not index as shown: a log
    entry redacted again on reading): the first match with ``around`` characters either
    side, marked; the first ``2 * around`` characters when nothing matches."""
    pattern = query.pattern()
    first = pattern.search(text)
    if first is None:
        return text[: 2 * around]
    start, end = max(0, first.start() - around), min(len(text), first.end() + around)
    # a template, not a function per match: half the time for the 10,000 snippets of a
    # search (the marks are control characters, nothing a template would expand)
    piece = pattern.sub(_MARKED, text[start:end])
    return ("…" if start else "") + piece + ("…" if end < len(text) else "")
