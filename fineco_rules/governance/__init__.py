"""Official standing: the filing registry, signed certification, and the results workflow.

May import :mod:`fineco_rules.analysis` and every layer below it.
"""

from __future__ import annotations

from fineco_rules.governance._filing import (
    FilingError,
    Registry,
    Status,
    generate_keys,
    load_private_key,
    load_public_key,
    policy_fingerprint,
)

__all__ = [
    "FilingError",
    "Registry",
    "Status",
    "generate_keys",
    "load_private_key",
    "load_public_key",
    "policy_fingerprint",
]
