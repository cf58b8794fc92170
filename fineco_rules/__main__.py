"""``python -m fineco_rules``: the same as the ``fineco`` command."""

from ._cli import main

raise SystemExit(main())
