"""Reading and writing files: safe YAML, record files (CSV, JSON, YAML, XLSX), exact numbers, atomic writes.

Owns everything that touches bytes on disk and the exact reading of numbers from text. May import only
:mod:`fineco_rules.errors` and the standard library or third-party readers.
"""

from __future__ import annotations

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
