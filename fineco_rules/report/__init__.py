"""Province- and city-wide reports in HTML, XLSX, CSV and JSON.

May import :mod:`fineco_rules.analysis` and every layer below it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fineco_rules._lazy import exports

if TYPE_CHECKING:
    from fineco_rules.report._report import Report, make_report

__all__ = ["Report", "make_report"]

#: Each public name and the module that defines it; the module loads on first use (``fineco_rules._lazy``).
_EXPORTS = {
    "Report": "fineco_rules.report._report",
    "make_report": "fineco_rules.report._report",
}

if not TYPE_CHECKING:
    __getattr__, __dir__ = exports(__name__, _EXPORTS, globals())
