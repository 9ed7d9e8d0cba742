"""Actions that several screens share, once (restore reports now; issue 12 moves more here).
A flow imports no screen."""
