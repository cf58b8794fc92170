"""Grade counties against declarative, versioned financial-ecology policy files."""

from __future__ import annotations

from importlib import metadata as _metadata

from fineco_rules.analysis._diff import CountyChange, PolicyChange, PolicyDiff, diff_policies
from fineco_rules.analysis._gap import Gap, Step, find_gaps
from fineco_rules.analysis._sensitivity import Sensitivity, SensitivityError, sensitivity
from fineco_rules.analysis._targets import (
    AreaSummary,
    LastYear,
    PastResult,
    Summary,
    TargetResult,
    read_last_year,
    summarize,
)
from fineco_rules.engine._columnar import ColumnarEvaluation, evaluate_columns, read_csv_columns
from fineco_rules.engine._engine import Cohort, CompiledPolicy, Progress, compile_policy, evaluate
from fineco_rules.engine._results import AdjustmentResult, Check, CountyResult, Evaluation, IndicatorResult
from fineco_rules.engine._watchdog import EvaluationTimeout, time_limit
from fineco_rules.errors import (
    DataFileError,
    FinecoError,
    Location,
    PluginError,
    PolicyError,
    Problem,
    RecordError,
)
from fineco_rules.io._readers import RawRecord, ReadResult, attach_table, read_records
from fineco_rules.policy._loader import load_policy
from fineco_rules.policy._model import Grade, Origin, Policy, Unit
from fineco_rules.policy._schema import policy_schema
from fineco_rules.report._report import Report, make_report
from fineco_rules.scale._rollup import CountyRollup, Rollup, rollup
from fineco_rules.scoring._host import PluginHost, ScorerEntry, make_plugin_host
from fineco_rules.scoring._scorer import Better, Label, ParamError, Scored, Scorer, VectorFunction
from fineco_rules.scoring.hookspecs import hookimpl

try:
    __version__ = _metadata.version("fineco-rules")
except _metadata.PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = [
    "AdjustmentResult",
    "AreaSummary",
    "Better",
    "Check",
    "Cohort",
    "ColumnarEvaluation",
    "CompiledPolicy",
    "CountyChange",
    "CountyResult",
    "CountyRollup",
    "DataFileError",
    "Evaluation",
    "EvaluationTimeout",
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
    "Rollup",
    "Scored",
    "Scorer",
    "ScorerEntry",
    "Sensitivity",
    "SensitivityError",
    "Step",
    "Summary",
    "TargetResult",
    "Unit",
    "VectorFunction",
    "__version__",
    "attach_table",
    "compile_policy",
    "diff_policies",
    "evaluate",
    "evaluate_columns",
    "find_gaps",
    "hookimpl",
    "load_policy",
    "make_plugin_host",
    "make_report",
    "policy_schema",
    "read_csv_columns",
    "read_last_year",
    "read_records",
    "rollup",
    "sensitivity",
    "summarize",
    "time_limit",
]
