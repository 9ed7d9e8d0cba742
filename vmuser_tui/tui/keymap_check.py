"""Check a ``[keymap]`` table and a ``[ui] theme`` before the TUI uses them.

:func:`problems` returns one human line per problem, for ``vmuser config validate``;
:func:`resolve` is what the TUI applies at start: the keymap less every remapping that
would take a key away from another binding of the same screen, plus the warnings.

The checks are pure: the screens and their binding ids come from the registry
(:mod:`~vmuser_tui.tui.scopes`), which imports the screens when a check first runs and
never the app.
"""

from __future__ import annotations

from dataclasses import dataclass

from vmuser_tui.tui.scopes import Scope, known_ids, scopes
from vmuser_tui.tui.scopes import defaults as _defaults

__all__ = ["Scope", "bad_key", "known_ids", "problems", "resolve", "scopes", "theme_problem",
           "theme_suggestion", "unknown_ids"]

#: Keys the app or Textual keep for themselves on every screen.
RESERVED = {
    "ctrl+q": "quitting",
    "ctrl+c": "copying and quitting",
    "ctrl+p": "the command palette",
    "tab": "moving the focus",
    "shift+tab": "moving the focus back",
}


COMMON_THEMES = ("textual-dark", "textual-light", "nord", "gruvbox", "dracula", "tokyo-night", "monokai")


def _normalize(keys: str) -> list[str]:
    from textual.keys import _character_to_key

    out = []
    for key in keys.split(","):
        key = key.strip()
        if key:
            out.append(_character_to_key(key) if len(key) == 1 else key)
    return out


#: Modifiers a Textual key name may start with (``ctrl+shift+up``).
MODIFIERS = ("ctrl", "shift", "alt", "meta", "super", "hyper")


def _key_names() -> frozenset[str]:
    """Names of the keys Textual reports that are not characters (``f5``, ``pageup``,
    ``enter``...): its ``Keys`` table less the internal pseudo keys (``<any>``), plus
    the aliases it dispatches (``newline``)."""
    from textual.keys import KEY_ALIASES, Keys

    names = {k.value.rpartition("+")[2] for k in Keys}
    names |= {a.rpartition("+")[2] for alias in KEY_ALIASES.values() for a in alias} | set(KEY_ALIASES)
    return frozenset(n for n in names if not n.startswith("<"))


def bad_key(key: str) -> str | None:
    """Why Textual could never dispatch ``key`` (one key of a ``[keymap]`` value, already
    normalized by :func:`_normalize`), or None when it can: modifiers from
    :data:`MODIFIERS` joined by ``+``, then one character (``x``, ``D``), a character's
    name (``slash``, ``exclamation_mark``: what Textual calls ``/`` and ``!``) or a key
    name (``f5``, ``pageup``, ``enter``). A binding on any other string never fires, so
    the action would silently lose its key."""
    from textual.keys import REPLACED_KEYS, key_to_character

    *mods, base = key.split("+")
    wrong = [m for m in mods if m not in MODIFIERS]
    if wrong or not base:
        return f"{wrong[0]!r} is not a modifier (use {', '.join(MODIFIERS)})" if wrong else "a key is missing after '+'"
    if len(base) == 1 or base in _key_names() or key_to_character(REPLACED_KEYS.get(base, base)):
        return None
    return f"{base!r} is not a key Textual knows"


def _bad_keys(keymap: dict[str, list[str]]) -> dict[str, list[tuple[str, str]]]:
    """Binding id -> ``(key, why)`` for every key of the normalized ``keymap`` that
    :func:`bad_key` refuses."""
    out: dict[str, list[tuple[str, str]]] = {}
    for ident, keys in keymap.items():
        for key in keys:
            why = bad_key(key)
            if why:
                out.setdefault(ident, []).append((key, why))
    return out


KEY_HINT = ('use a character ("x", "D", "/"), a key name ("f5", "enter", "pageup", "slash"), '
            'with modifiers before it ("ctrl+d", "shift+up")')


def _display(key: str) -> str:
    from textual.keys import format_key

    try:
        return format_key(key)
    except Exception:  # noqa: BLE001 - only for messages
        return key


@dataclass(frozen=True)
class Collision:
    binding_id: str  # the remapped binding that wants the key
    key: str
    other_id: str  # the binding that already has the key on that screen ("" : reserved)
    where: str  # "on the project screen"
    reserved: str = ""

    def message(self, keymap: dict[str, str]) -> str:
        value = keymap.get(self.binding_id, "")
        head = f"[keymap] \"{self.binding_id}\" = \"{value}\": "
        if self.reserved:
            return head + f"{_display(self.key)} is reserved for {self.reserved}; pick another key"
        return (head + f"{_display(self.key)} is already {self.other_id}'s key {self.where} "
                f"({self.loser} would stop working{'' if self.where == 'everywhere' else ' there'}); pick another key")

    @property
    def loser(self) -> str:
        """Which of the two stops working: a screen's binding wins over the app's; on one
        level the remapping takes the key away from the other."""
        if self.binding_id.startswith("app.") and not self.other_id.startswith("app."):
            return self.binding_id
        return self.other_id


def _collisions(keymap: dict[str, list[str]], order: list[str]) -> list[Collision]:
    """Collisions of the normalized ``keymap`` (id -> keys), the later entry of two
    remapped ones blamed (``order``: the ids in the user's order): two bindings of one
    screen (or two of the app's) on one key, or an app binding remapped onto a key that a
    screen uses (it would not work there). A screen binding remapped onto an app-wide
    key is fine: the screen's binding wins on that screen, as Textual resolves them."""
    found: list[Collision] = []
    seen: set[tuple[str, str]] = set()
    app_defaults = next(_defaults(s.classes) for s in scopes() if s.prefix == "app")
    rank = {ident: i for i, ident in enumerate(order)}
    for scope in scopes():
        ids = _defaults(scope.classes)
        if scope.prefix != "app":
            ids = {**app_defaults, **ids}
        effective = {ident: keymap.get(ident, keys) for ident, keys in ids.items()}
        owners: dict[str, list[str]] = {}
        for ident, keys in effective.items():
            for key in keys:
                owners.setdefault(key, []).append(ident)
        for key, idents in owners.items():
            if not any(i in keymap for i in idents):
                continue  # the defaults' own overlaps (help's q and the app's q) are deliberate
            own = [i for i in idents if not i.startswith("app.")] if scope.prefix != "app" else idents
            app = [i for i in idents if i.startswith("app.")] if scope.prefix != "app" else []
            if len(own) > 1 and any(i in keymap for i in own):
                # two bindings of one screen: the remapping takes the key from the other.
                # Blame a remapped one: the one the user wrote last.
                culprit = max((i for i in own if i in keymap), key=lambda i: rank.get(i, -1))
                other = next(i for i in own if i != culprit)
            elif own and any(i in keymap for i in app):
                # an app binding remapped onto a screen's key: the screen's wins there
                culprit = max((i for i in app if i in keymap), key=lambda i: rank.get(i, -1))
                other = own[0]
            else:
                # a screen binding remapped onto an app-wide key (j, k, m, q): it wins on
                # that screen by design, and the app key still works everywhere else
                continue
            if (culprit, key) not in seen:
                seen.add((culprit, key))
                found.append(Collision(culprit, key, other, scope.where))
        for ident, keys in keymap.items():
            if ident in effective:
                for key in keys:
                    if key in RESERVED and (ident, key) not in seen:
                        seen.add((ident, key))
                        found.append(Collision(ident, key, "", scope.where, RESERVED[key]))
    return found


def unknown_ids(keymap: dict[str, str]) -> list[str]:
    """A line per binding id of ``keymap`` that no screen has, with the ids it may have meant."""
    known = known_ids()
    every = {ident for ids in known.values() for ident in ids}
    out = []
    for ident in keymap:
        if ident in every:
            continue
        line = f"unknown binding id '{ident}' in [keymap]; see the help screen (?) for ids"
        prefix = ident.split(".", 1)[0]
        if prefix in known:
            line += f"; {prefix}.* ids: {', '.join(known[prefix])}"
        else:
            line += f"; screens: {', '.join(sorted(known))}"
        out.append(line)
    return out


def theme_suggestion(theme: str) -> str | None:
    """The known theme closest to a mistyped ``theme``, if any is close."""
    import difflib

    from textual.theme import BUILTIN_THEMES

    close = difflib.get_close_matches(theme, sorted(BUILTIN_THEMES), n=1)
    return close[0] if close else None


def theme_problem(theme: str | None) -> str | None:
    """A line when Textual has no theme ``theme`` (None: fine or unset)."""
    if not theme:
        return None
    from textual.theme import BUILTIN_THEMES

    if theme in BUILTIN_THEMES:
        return None
    names = sorted(BUILTIN_THEMES)
    close = theme_suggestion(theme)
    common = [n for n in COMMON_THEMES if n in BUILTIN_THEMES] or names[:6]
    line = f"unknown theme {theme!r} in [ui] theme"
    if close:
        line += f"; did you mean {close!r}?"
    return line + f"; known themes include {', '.join(common)} ({len(names)} in all; ctrl+p, \"theme\" lists them)"


def problems(keymap: dict[str, str], theme: str | None) -> list[str]:
    """One human line per problem in a ``[keymap]`` table and a ``[ui] theme`` name:
    unknown binding ids, a key Textual cannot bind (:func:`bad_key`), a remapped key
    that another binding of the same screen already
    uses (that binding would be lost silently), a reserved key, an unknown theme."""
    keymap = dict(keymap or {})
    out = unknown_ids(keymap)
    bad_values = [ident for ident, value in keymap.items() if not isinstance(value, str) or not _normalize(value)]
    for ident in bad_values:
        out.append(f"[keymap] \"{ident}\" needs a key such as \"x\", \"ctrl+d\" or \"f5\" (a string)")
    normalized = {ident: _normalize(value) for ident, value in keymap.items() if ident not in bad_values}
    for ident, found in _bad_keys(normalized).items():
        for _key, why in found:
            out.append(f"[keymap] \"{ident}\" = \"{keymap[ident]}\": {why}; {KEY_HINT}")
        normalized[ident] = [k for k in normalized[ident] if not bad_key(k)]
    normalized = {ident: keys for ident, keys in normalized.items() if keys}
    out.extend(c.message(keymap) for c in _collisions(normalized, list(keymap)))
    note = theme_problem(theme)
    if note:
        out.append(note)
    return out


def resolve(keymap: dict[str, str]) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """The keymap the TUI applies, and a warning per refused remapping (a one-line
    summary and the full text): a key Textual cannot bind (:func:`bad_key`) and a key that would
    take another binding's key away (or a reserved one) is dropped from the remapping,
    so the other binding keeps its key; an entry left with no key keeps its default.
    Unknown ids are left in (they do nothing) and reported separately."""
    order = list(keymap)
    current = {ident: _normalize(value) for ident, value in keymap.items() if isinstance(value, str)}
    warnings: list[tuple[str, str]] = []
    for ident, found in _bad_keys(current).items():
        current[ident] = [k for k in current[ident] if not bad_key(k)]
        outcome = "That key is left out" if current[ident] else f"The remapping is ignored, so {ident} keeps its key"
        for key, why in found:
            warnings.append((f"keymap {ident}={key} ignored: not a key",
                             f"[keymap] \"{ident}\" = \"{keymap[ident]}\": {why}. {outcome}; {KEY_HINT}."))
    current = {ident: keys for ident, keys in current.items() if keys}
    for _ in range(100):  # each round drops at least one key, so this ends
        collisions = _collisions(current, order)
        if not collisions:
            break
        first = collisions[0]
        key = _display(first.key)
        if first.reserved:
            short = f"keymap {first.binding_id}={key} ignored: {key} is reserved"
        else:
            short = f"keymap {first.binding_id}={key} ignored: {first.other_id}'s key"
        full = first.message(keymap).replace("; pick another key", "")
        kept = first.binding_id if first.reserved else first.loser
        warnings.append((short, f"{full}. The remapping is ignored, so {kept} keeps its key; pick another key."))
        keys = [k for k in current[first.binding_id] if k != first.key]
        if keys:
            current[first.binding_id] = keys
        else:
            del current[first.binding_id]
    return {ident: ",".join(keys) for ident, keys in current.items()}, warnings
