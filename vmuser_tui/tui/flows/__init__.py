"""Actions that several screens share, once (restore and undo, and their reports, in
:mod:`.restore`; issue 12 moves more here). A flow takes a screen and a callback and
imports no screen module but the dialogs it shows."""
