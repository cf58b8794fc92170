"""Grade counties against declarative, versioned financial-ecology policy files.

The common case lives here: load a policy, read records, evaluate, explain, and the scorer contract for plugins.
Everything else is in a public subpackage: :mod:`~fineco_rules.policy`, :mod:`~fineco_rules.engine`,
:mod:`~fineco_rules.analysis`, :mod:`~fineco_rules.report`, :mod:`~fineco_rules.governance`,
:mod:`~fineco_rules.scale`, :mod:`~fineco_rules.scoring`, :mod:`~fineco_rules.io` and :mod:`~fineco_rules.errors`.
"""

from __future__ import annotations

import typing  # a module, so no public name of ours

from fineco_rules._deprecated import moved as _moved
from fineco_rules._lazy import exports as _exports

if typing.TYPE_CHECKING:
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

    __version__: str

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

#: Each public name and the subpackage that hands it on; nothing loads until a name is used, so that
#: ``import fineco_rules`` stays cheap (no NumPy, jsonschema or cryptography; see ``fineco_rules._lazy``).
_EXPORTS = {
    "AdjustmentResult": "fineco_rules.engine",
    "Better": "fineco_rules.scoring",
    "Check": "fineco_rules.engine",
    "CohortFunction": "fineco_rules.scoring",
    "CompiledPolicy": "fineco_rules.engine",
    "CountyResult": "fineco_rules.engine",
    "DataFileError": "fineco_rules.errors",
    "Evaluation": "fineco_rules.engine",
    "FinecoError": "fineco_rules.errors",
    "Grade": "fineco_rules.policy",
    "IndicatorResult": "fineco_rules.engine",
    "Label": "fineco_rules.scoring",
    "Location": "fineco_rules.errors",
    "ParamError": "fineco_rules.scoring",
    "PluginError": "fineco_rules.errors",
    "PluginHost": "fineco_rules.scoring",
    "Policy": "fineco_rules.policy",
    "PolicyError": "fineco_rules.errors",
    "Problem": "fineco_rules.errors",
    "RecordError": "fineco_rules.errors",
    "RowFunction": "fineco_rules.scoring",
    "Scored": "fineco_rules.scoring",
    "Scorer": "fineco_rules.scoring",
    "VectorFunction": "fineco_rules.scoring",
    "compile_policy": "fineco_rules.engine",
    "evaluate": "fineco_rules.engine",
    "evaluate_columns": "fineco_rules.engine",
    "explain": "fineco_rules.analysis",
    "hookimpl": "fineco_rules.scoring",
    "load_policy": "fineco_rules.policy",
    "make_plugin_host": "fineco_rules.scoring",
    "read_records": "fineco_rules.io",
}

if not typing.TYPE_CHECKING:
    _exported, __dir__ = _exports(__name__, _EXPORTS, globals())

    def __getattr__(name: str) -> typing.Any:
        """Public names load on first use; names that moved to a subpackage still resolve, with a
        ``DeprecationWarning`` (see ``_deprecated``)."""
        if name == "__version__":
            globals()[name] = version = _version()
            return version
        if name in _EXPORTS:
            return _exported(name)
        return _moved(name)


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("fineco-rules")
    except metadata.PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0"
