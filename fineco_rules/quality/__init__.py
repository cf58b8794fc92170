"""Rule consistency: ``fineco check``, policy test files (``*.cases.yaml``), Hypothesis strategies, the pytest plugin.

The names users call are in :mod:`fineco_rules.testing`. May import :mod:`fineco_rules.analysis` and every layer
below it.
"""

from __future__ import annotations
