"""Grade counties against declarative, versioned financial-ecology policy files."""

from __future__ import annotations

from importlib import metadata as _metadata

from ._diff import CountyChange, PolicyChange, PolicyDiff, diff_policies
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
from ._gap import Gap, Step, find_gaps
from ._loader import load_policy
from ._plugins import PluginHost, ScorerEntry, make_plugin_host
from ._policy import Grade, Origin, Policy
from ._readers import RawRecord, ReadResult, attach_table, read_records
from ._report import Report, make_report
from ._results import AdjustmentResult, Check, CountyResult, Evaluation, IndicatorResult
from ._schema import policy_schema
from ._scorer import Better, Label, ParamError, Scored, Scorer
from ._sensitivity import Sensitivity, SensitivityError, sensitivity
from ._targets import AreaSummary, LastYear, PastResult, Summary, TargetResult, read_last_year, summarize
from .hookspecs import hookimpl

try:
    __version__ = _metadata.version("fineco-rules")
except _metadata.PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = [
    "AdjustmentResult",
    "AreaSummary",
    "Better",
    "Check",
    "CompiledPolicy",
    "CountyChange",
    "CountyResult",
    "DataFileError",
    "Evaluation",
    "FinecoError",
    "Gap",
    "Grade",
    "IndicatorResult",
    "Label",
    "LastYear",
    "Location",
    "Origin",
    "ParamError",
    "PastResult",
    "PluginError",
    "PluginHost",
    "Policy",
    "PolicyChange",
    "PolicyDiff",
    "PolicyError",
    "Problem",
    "Progress",
    "RawRecord",
    "ReadResult",
    "RecordError",
    "Report",
    "Scored",
    "Scorer",
    "ScorerEntry",
    "Sensitivity",
    "SensitivityError",
    "Step",
    "Summary",
    "TargetResult",
    "__version__",
    "attach_table",
    "compile_policy",
    "diff_policies",
    "evaluate",
    "find_gaps",
    "hookimpl",
    "load_policy",
    "make_plugin_host",
    "make_report",
    "policy_schema",
    "read_last_year",
    "read_records",
    "sensitivity",
    "summarize",
]
