"""The scriptable command-line adapter: ``vmuser ...`` (argparse). No command opens the TUI."""
