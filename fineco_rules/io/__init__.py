"""Reading and writing files: safe YAML, record files (CSV, JSON, YAML, XLSX), exact numbers, atomic writes.

Owns everything that touches bytes on disk and the exact reading of numbers from text. May import only
:mod:`fineco_rules.errors` and the standard library or third-party readers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fineco_rules._lazy import exports

if TYPE_CHECKING:
    from fineco_rules.io._atomic import WriteError, append_atomic, write_atomic
    from fineco_rules.io._readers import FORMATS, RawRecord, ReadResult, attach_table, read_records

__all__ = [
    "FORMATS",
    "RawRecord",
    "ReadResult",
    "WriteError",
    "append_atomic",
    "attach_table",
    "read_records",
    "write_atomic",
]

#: Each public name and the module that defines it; the module loads on first use (``fineco_rules._lazy``).
_EXPORTS = {
    "FORMATS": "fineco_rules.io._readers",
    "RawRecord": "fineco_rules.io._readers",
    "ReadResult": "fineco_rules.io._readers",
    "WriteError": "fineco_rules.io._atomic",
    "append_atomic": "fineco_rules.io._atomic",
    "attach_table": "fineco_rules.io._readers",
    "read_records": "fineco_rules.io._readers",
    "write_atomic": "fineco_rules.io._atomic",
}

if not TYPE_CHECKING:
    __getattr__, __dir__ = exports(__name__, _EXPORTS, globals())
