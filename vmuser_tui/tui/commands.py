"""Command palette (ctrl+p): every action of the current screen and of the app, by name."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from textual.binding import Binding
    from textual.dom import DOMNode

from vmuser_tui.tui.screens.base import describe_bindings


class VmuserCommands(Provider):
    """One command per Binding of the screen the palette was opened from (allowed ones
    only: read-only mode leaves changing actions out), plus the app's own."""

    def _commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        screen = self.screen
        app = self.app
        name = getattr(screen, "HELP_NAME", "")
        out: list[tuple[str, str, Callable[[], Any]]] = []  # (text, help, run it)
        seen: set[str] = set()
        for node in (screen, app):
            bindings = {b.id: b for b in _bindings(node) if b.id}
            for keys, desc, ident, allowed in describe_bindings(node, app):
                binding = bindings.get(ident)
                if not allowed or binding is None or ident in seen:
                    continue
                if binding.action in ("back", "close", "cancel", "clear_filter", "cursor_down", "cursor_up") \
                        or ident.endswith((".back", ".close")):
                    continue
                seen.add(ident)
                prefix = name.capitalize() if node is screen and name else "vmuser"
                action = binding.action
                if action == "back_or_quit":  # from the palette: quit (asks while work runs)
                    action, desc, keys = "quit", "Quit", "^q"
                out.append((f"{prefix}: {desc}", f"key {keys} · {ident}", partial(node.run_action, action)))
        if screen.__class__.__name__ != "ProjectsScreen":
            out.append(("vmuser: Go to projects (home)", "back to the project list", self._home))
        return out

    async def _home(self) -> None:
        from vmuser_tui.tui.screens.projects import ProjectsScreen

        app = self.app
        while len(app.screen_stack) > 1 and not isinstance(app.screen, ProjectsScreen):
            await app.pop_screen()

    async def discover(self) -> Hits:
        for text, help_text, command in self._commands():
            yield DiscoveryHit(text, command, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, help_text, command in self._commands():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), command, help=help_text)


def _bindings(node: DOMNode) -> list[Binding]:
    from textual.binding import Binding

    custom = getattr(node, "custom_bindings", None)  # [[commands]] bound on the screen
    return [*Binding.make_bindings(type(node).BINDINGS), *(custom() if custom else [])]
