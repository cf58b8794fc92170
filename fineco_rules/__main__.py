"""``python -m fineco_rules``: the same as the ``fineco`` command."""

from fineco_rules.cli._main import main

raise SystemExit(main())
