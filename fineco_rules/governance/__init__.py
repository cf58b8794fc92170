"""Official standing: the filing registry, signed certification, and the results workflow.

May import :mod:`fineco_rules.analysis` and every layer below it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fineco_rules._lazy import exports

if TYPE_CHECKING:
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

#: Each public name and the module that defines it; the module loads on first use (``fineco_rules._lazy``).
_EXPORTS = {
    "FilingError": "fineco_rules.governance._filing",
    "Registry": "fineco_rules.governance._filing",
    "Status": "fineco_rules.governance._filing",
    "generate_keys": "fineco_rules.governance._filing",
    "load_private_key": "fineco_rules.governance._filing",
    "load_public_key": "fineco_rules.governance._filing",
    "policy_fingerprint": "fineco_rules.governance._filing",
}

if not TYPE_CHECKING:
    __getattr__, __dir__ = exports(__name__, _EXPORTS, globals())
