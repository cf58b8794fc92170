"""Province- and city-wide reports in HTML, XLSX, CSV and JSON.

May import :mod:`fineco_rules.analysis` and every layer below it.
"""

from __future__ import annotations

from fineco_rules.report._report import Report, make_report

__all__ = ["Report", "make_report"]
