"""Tools for testing policies and scorers: Hypothesis strategies, ``assert_*`` properties, ``check_policy``.

The stable public home of :mod:`fineco_rules.quality.testing`.
"""

from __future__ import annotations

from fineco_rules.quality.testing import *  # noqa: F403
from fineco_rules.quality.testing import __all__ as __all__
