"""Grade counties against declarative, versioned financial-ecology policy files."""

from __future__ import annotations

from importlib import metadata as _metadata

from ._engine import CompiledPolicy, Progress, compile_policy, evaluate
from ._errors import (
    DataFileError,
    FinecoError,
    Location,
    PluginError,
    PolicyError,
    Problem,
    RecordError,
)
from ._loader import load_policy
from ._plugins import PluginHost, ScorerEntry, make_plugin_host
from ._policy import Grade, Origin, Policy
from ._readers import RawRecord, ReadResult, attach_table, read_records
from ._results import AdjustmentResult, Check, CountyResult, Evaluation, IndicatorResult
from ._schema import policy_schema
from ._scorer import Better, Label, ParamError, Scored, Scorer
from .hookspecs import hookimpl

try:
    __version__ = _metadata.version("fineco-rules")
except _metadata.PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = [
    "AdjustmentResult",
    "Better",
    "Check",
    "CompiledPolicy",
    "CountyResult",
    "DataFileError",
    "Evaluation",
    "FinecoError",
    "Grade",
    "IndicatorResult",
    "Label",
    "Location",
    "Origin",
    "ParamError",
    "PluginError",
    "PluginHost",
    "Policy",
    "PolicyError",
    "Problem",
    "Progress",
    "RawRecord",
    "ReadResult",
    "RecordError",
    "Scored",
    "Scorer",
    "ScorerEntry",
    "__version__",
    "attach_table",
    "compile_policy",
    "evaluate",
    "hookimpl",
    "load_policy",
    "make_plugin_host",
    "policy_schema",
    "read_records",
]
