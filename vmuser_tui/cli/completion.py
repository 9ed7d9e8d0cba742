"""``vmuser completion bash|zsh|fish``: a shell script to source, generated from the parser.

Why shtab (static) and not argcomplete (dynamic): measured on this project's 2-core
machine (issue 16, Python 3.11, warm cache):

- argcomplete re-runs ``vmuser`` on every TAB: Python start-up + building the parser +
  argcomplete = 48-61 ms per TAB (``_ARGCOMPLETE=1 COMP_LINE='vmuser chec'``), and
  ``import argcomplete`` costs ~20 ms (``python -X importtime``) in every run that checks
  for it.
- shtab writes the whole tree of commands and options into the script once, so a TAB on a
  command or an option is answered by the shell itself (~1 ms); ``import shtab`` (~50-65 ms:
  it pulls in importlib.metadata and logging) is paid only by ``vmuser completion``, never
  by ``vmuser --help`` (~45 ms in all) or a one-shot command. Only a TAB on a value (a
  project, a checkpoint, a session) runs a process: ``vmuser __complete KIND WORD``, which
  skips the parser and the service and runs one read-only query
  (:mod:`vmuser_tui.core.completion`): ~33 ms with ``VMUSER_DATA_DIR`` or ``--data-dir``
  on the line, ~60-80 ms when the config file must be read to find the data dir.

The script must be generated again after an upgrade that adds commands (as with every
static completion: ``vmuser completion bash > ~/.local/share/bash-completion/completions/vmuser``).

Which argument gets which values is decided here, from the parser's own names (``dest``
and ``metavar``), so the parser stays a plain argparse definition.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator

SHELLS = ("bash", "zsh", "fish")

# dest (or option) -> the kinds of value it takes (see core.completion.KINDS)
_BY_DEST: dict[str, tuple[str, ...]] = {
    "project": ("projects",), "checkpoint": ("checkpoints",), "checkpoints": ("checkpoints",),
    "from_ref": ("checkpoints",), "to_ref": ("checkpoints",), "at": ("checkpoints",),
    "session": ("sessions",),
}
# positional `target` is PROJECT|SESSION or SESSION|PROJECT: both
_TARGET = ("projects", "sessions")

_BASH = r"""
# vmuser: values from the data dir (project ids and names, checkpoint and session ids).
# --data-dir/--config typed earlier on the line are passed on.
_vmuser_values() {  # $1: projects|checkpoints|sessions|projects,sessions  $2: the word being completed
  local i opts=()
  for ((i=1; i<COMP_CWORD; i++)); do
    case "${COMP_WORDS[i]}" in --data-dir|--config) opts+=("${COMP_WORDS[i]}" "${COMP_WORDS[i+1]}");; esac
  done
  compgen -W "$(command vmuser __complete "$1" "${opts[@]}" -- "$2" 2>/dev/null | cut -f1)" -- "$2"
}
_vmuser_projects() { _vmuser_values projects "$1"; }
_vmuser_checkpoints() { _vmuser_values checkpoints "$1"; }
_vmuser_sessions() { _vmuser_values sessions "$1"; }
_vmuser_targets() { _vmuser_values projects,sessions "$1"; }
"""

_ZSH = r"""
# vmuser: values from the data dir, with a description beside each
_vmuser_values() {  # $1: projects|checkpoints|sessions|projects,sessions
  local -a items
  items=("${(@f)$(command vmuser __complete "$1" --zsh -- "${words[CURRENT]}" 2>/dev/null)}")
  _describe -t vmuser-values "${1%%,*}" items
}
_vmuser_projects() { _vmuser_values projects; }
_vmuser_checkpoints() { _vmuser_values checkpoints; }
_vmuser_sessions() { _vmuser_values sessions; }
_vmuser_targets() { _vmuser_values projects,sessions; }
"""

_FUNC = {"projects": "_vmuser_projects", "checkpoints": "_vmuser_checkpoints", "sessions": "_vmuser_sessions",
         "projects,sessions": "_vmuser_targets"}


def _walk(parser: argparse.ArgumentParser) -> Iterator[argparse.Action]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):  # aliases share a parser
                yield from _walk(sub)
        else:
            yield action


def _kinds(action: argparse.Action) -> str | None:
    if action.dest == "target":
        return ",".join(_TARGET)
    if action.dest in _BY_DEST:
        return ",".join(_BY_DEST[action.dest])
    return None


def attach(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Mark each argument that takes a project, checkpoint or session with shtab's
    ``complete`` attribute (a dict: shell -> what that shell runs); returns ``parser``."""
    for action in _walk(parser):
        kinds = _kinds(action)
        if kinds:
            cmd = f"command vmuser __complete {kinds} -- "
            action.complete = {  # type: ignore[attr-defined]  # shtab reads this attribute
                "bash": _FUNC[kinds], "zsh": _FUNC[kinds],
                # fish: "value<TAB>description" lines are fish's own format
                "fish": f"({cmd}(commandline -ct) 2>/dev/null)",
            }
    return parser


def script(shell: str) -> str:
    """The completion script for ``shell`` (one of :data:`SHELLS`)."""
    import shtab

    from vmuser_tui.cli import parser as parser_mod

    parser = attach(parser_mod.build())
    preamble = {"bash": _BASH, "zsh": _ZSH}.get(shell, "")
    return shtab.complete(parser, shell=shell, preamble=preamble)


def complete_values(argv: list[str]) -> int:
    """``vmuser __complete KIND[,KIND] [--zsh] [--data-dir D] [--config F] [--] WORD``:
    print the candidates, ``value<TAB>description`` per line (zsh: ``value:description``).
    Always exits 0 and prints nothing on stderr for an unreadable data dir: a TAB is no
    place for an error."""
    from vmuser_tui.core.completion import KINDS, candidates

    kinds, zsh, data_dir, config_path, word = "", False, None, None, ""
    rest = list(argv)
    while rest:
        arg = rest.pop(0)
        if arg == "--zsh":
            zsh = True
        elif arg in ("--data-dir", "--config") and rest:
            value = rest.pop(0)
            data_dir, config_path = (value, config_path) if arg == "--data-dir" else (data_dir, value)
        elif arg == "--":
            word = rest[0] if rest else ""
            break
        elif not kinds:
            kinds = arg
        else:
            word = arg
    wanted = [k for k in kinds.split(",") if k in KINDS]
    if not wanted:
        print(f"vmuser __complete: give one of {', '.join(KINDS)}", file=sys.stderr)
        return 2
    for kind in wanted:
        for value, text in candidates(kind, word, config_path=config_path, data_dir=data_dir):
            if zsh:
                print(f"{value.replace(':', chr(92) + ':')}:{text}")
            else:
                print(f"{value}\t{text}")
    return 0
