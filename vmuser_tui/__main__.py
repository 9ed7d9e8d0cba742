"""``python -m vmuser_tui``: same as the ``vmuser`` console script."""

from vmuser_tui.cli.main import main

raise SystemExit(main())
