"""The embedded service layer: no Textual, no argparse, no printing.

Adapters (CLI, TUI, headless worker) call :class:`vmuser_tui.core.service.Vmuser`.
"""
