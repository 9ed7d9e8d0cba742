"""``vmuser help --man``: the manual page, roff, generated from the argparse parser.

Made with argparse-manpage (the library Fedora and others use to build man pages from an
``ArgumentParser``; kept up, pure Python, no dependencies on Python >= 3.11) rather than a
generator of our own: it walks nested sub-commands and escapes roff for us. It renders
each command's usage, description and options, and the top-level examples (the root
parser's epilog); the sub-commands' own examples stay in their ``--help``.

The page is shipped in the wheel as ``vmuser_tui/share/man/vmuser.1`` (:data:`SHIPPED`),
for packagers (``install -m644 .../vmuser.1 /usr/share/man/man1/``);
tests/cli/test_i16_cli_man.py fails when it is not in step with the parser. Write it again
with ``python -m vmuser_tui.cli.manpage``.
"""

from __future__ import annotations

import re
from pathlib import Path

SHIPPED = Path(__file__).resolve().parents[1] / "share" / "man" / "vmuser.1"
# A fixed date keeps the shipped page reproducible (the .TH line's third field).
_TH = re.compile(r'^\.TH .*$', re.MULTILINE)


def render() -> str:
    """The manual page as roff text (section 1)."""
    from argparse_manpage.manpage import Manpage

    from vmuser_tui import __version__
    from vmuser_tui.cli import parser as parser_mod

    parser = parser_mod.build()
    page = str(Manpage(parser, _data={
        "version": __version__, "project_name": "vmuser", "manual_title": "vmuser manual",
        "manual_section": "1", "date": "", "description": "container-backed dev sessions with checkpoints",
        "url": "",
    }))
    # argparse-manpage puts today's date in .TH; the page describes a version, not a day
    page = _TH.sub(f'.TH VMUSER "1" "" "vmuser {__version__}" "vmuser manual"', page, count=1)
    # the examples are laid out in columns: keep their lines as written (no fill)
    head, sep, tail = page.partition(".SH COMMENTS\n")
    if sep:
        body, nxt, rest = tail.partition("\n.SH ")
        page = f"{head}.SH EXAMPLES\n.nf\n{body.rstrip()}\n.fi\n" + (f".SH {rest}" if nxt else "")
    return page if page.endswith("\n") else page + "\n"


def main() -> None:
    """Write :data:`SHIPPED` (run after changing the parser)."""
    SHIPPED.parent.mkdir(parents=True, exist_ok=True)
    SHIPPED.write_text(render(), encoding="utf-8")
    print(SHIPPED)


if __name__ == "__main__":
    main()
