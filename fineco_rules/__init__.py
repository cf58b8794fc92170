"""Grade counties against declarative, versioned financial-ecology policy files.

The common case lives here: load a policy, read records, evaluate, explain, and the scorer contract for plugins.
Everything else is in a public subpackage: :mod:`~fineco_rules.policy`, :mod:`~fineco_rules.engine`,
:mod:`~fineco_rules.analysis`, :mod:`~fineco_rules.report`, :mod:`~fineco_rules.governance`,
:mod:`~fineco_rules.scale`, :mod:`~fineco_rules.scoring`, :mod:`~fineco_rules.io` and :mod:`~fineco_rules.errors`.
"""

from __future__ import annotations

from importlib import metadata as _metadata

from fineco_rules._deprecated import moved as _moved
from fineco_rules.analysis import explain
from fineco_rules.engine import (
    AdjustmentResult,
    Check,
    CompiledPolicy,
    CountyResult,
    Evaluation,
    IndicatorResult,
    compile_policy,
    evaluate,
    evaluate_columns,
)
from fineco_rules.errors import (
    DataFileError,
    FinecoError,
    Location,
    PluginError,
    PolicyError,
    Problem,
    RecordError,
)
from fineco_rules.io import read_records
from fineco_rules.policy import Grade, Policy, load_policy
from fineco_rules.scoring import (
    Better,
    CohortFunction,
    Label,
    ParamError,
    PluginHost,
    RowFunction,
    Scored,
    Scorer,
    VectorFunction,
    hookimpl,
    make_plugin_host,
)

try:
    __version__ = _metadata.version("fineco-rules")
except _metadata.PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = [
    "AdjustmentResult",
    "Better",
    "Check",
    "CohortFunction",
    "CompiledPolicy",
    "CountyResult",
    "DataFileError",
    "Evaluation",
    "FinecoError",
    "Grade",
    "IndicatorResult",
    "Label",
    "Location",
    "ParamError",
    "PluginError",
    "PluginHost",
    "Policy",
    "PolicyError",
    "Problem",
    "RecordError",
    "RowFunction",
    "Scored",
    "Scorer",
    "VectorFunction",
    "__version__",
    "compile_policy",
    "evaluate",
    "evaluate_columns",
    "explain",
    "hookimpl",
    "load_policy",
    "make_plugin_host",
    "read_records",
]


def __getattr__(name: str) -> object:
    """Names that moved to a subpackage still resolve, with a ``DeprecationWarning`` (see ``_deprecated``)."""
    return _moved(name)
