"""The scorer contract: what a plugin's scorer declares and returns."""

from __future__ import annotations

import abc
import enum
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, ClassVar, Final, TypeAlias

import attrs

from fineco_rules.errors import ParamError

__all__ = [
    "NUMBERS",
    "Better",
    "CohortFunction",
    "Goalpost",
    "Goalposts",
    "Label",
    "ParamError",
    "RowFunction",
    "Scored",
    "Scorer",
    "Value",
    "VectorFunction",
]

#: One input value as scorers see it: exact numbers, booleans, text, or a table of rows.
Value: TypeAlias = Decimal | bool | str | tuple[Mapping[str, object], ...]

#: The numeric input types; what a scorer reads unless it says otherwise.
NUMBERS: Final = frozenset({"ratio", "number", "integer"})


class Better(enum.Enum):
    """Which way an input improves a county."""

    HIGHER = "higher"
    LOWER = "lower"
    NONE = "none"

    def flipped(self) -> Better:
        return {Better.HIGHER: Better.LOWER, Better.LOWER: Better.HIGHER}.get(self, Better.NONE)


@attrs.frozen
class Label:
    """A name in Chinese and English."""

    zh: str
    en: str

    def get(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en

    def render(self, lang: str) -> str:
        """The label in ``lang``, so a label can be a value of a message (``tr(..., unit=label)``)."""
        return self.get(lang)

    @classmethod
    def from_mapping(cls, data: Mapping[str, object] | None, fallback: str) -> Label:
        data = data or {}
        # One language is enough: the other falls back to it, then to ``fallback``.
        zh, en = data.get("zh", data.get("en", fallback)), data.get("en", data.get("zh", fallback))
        return cls(zh=str(zh), en=str(en))


@attrs.frozen
class Scored:
    """A scorer's answer for one county.

    ``score`` lies in ``[0, max_score]``; ``normalized`` is the value in ``[0, 1]`` the
    method computed before scaling, where it has one; ``details`` are the facts that
    explain the score, in the order they should be read (values must be JSON-friendly:
    text, Decimal, int, bool, or lists and mappings of them).
    """

    score: Decimal
    normalized: Decimal | None = None
    details: Mapping[str, object] = attrs.field(factory=dict)


RowFunction: TypeAlias = Callable[[Mapping[str, Value]], Scored]
CohortFunction: TypeAlias = Callable[[Sequence[Mapping[str, Value]]], Sequence[Scored]]
#: ``f(columns) -> (scores, error)``: a scorer over whole NumPy columns, for the columnar path.
#: ``columns`` maps each field read to a float64 array (a bool array for boolean inputs), every value
#: present and valid. ``scores`` is a float64 array of the scores exact arithmetic would give, to
#: within ``error`` (an absolute bound, a float or an array); NaN where the scorer cannot decide in
#: floating point (that record is then scored on the row path, exactly).
VectorFunction: TypeAlias = Callable[[Mapping[str, Any]], tuple[Any, Any]]


@attrs.frozen
class Goalpost:
    """One clipped piece of a score: ``weight × clip((x − worst) ÷ (best − worst), 0, 1)``.

    ``x`` is ``Σ coefficient × field`` over ``terms``, or, with ``denominator``, the rate ``field × per ÷
    denominator`` of the one field in ``terms`` (coefficient 1).
    """

    terms: tuple[tuple[str, Decimal], ...]
    worst: Decimal
    best: Decimal
    weight: Decimal
    denominator: str | None = None
    per: Decimal = Decimal(1)


@attrs.frozen
class Goalposts:
    """A scorer's score written as data the engine compiles: ``max_score × Σ piece`` over ``pieces``
    (:class:`Goalpost`). It must be, as a formula in exact rationals, what the scorer's row function
    computes; the engine computes it in binary floats with a proven error bound and calls the row
    function itself wherever a score lies within that bound of a rounding tie or a threshold.

    ``fields`` are the fields the row function reads beyond the pieces' (such as an optional ``table``):
    a record with a value for any of them is scored by the row function.
    """

    pieces: tuple[Goalpost, ...]
    fields: tuple[str, ...] = ()


class Scorer(abc.ABC):
    """A way of turning a county's inputs into an indicator score.

    Subclass it, set the class attributes, implement :meth:`reads` and :meth:`build`,
    and return an instance from your plugin's ``fineco_scorers`` hook.
    """

    #: The name policies use in ``scorer:``.
    name: ClassVar[str]
    #: The scorer's own version; filings record it.
    version: ClassVar[str]
    label: ClassVar[Label]
    #: JSON Schema (draft 2020-12) of ``params``; checked when a policy loads.
    params_schema: ClassVar[Mapping[str, Any]]
    #: True when a county's score depends on the other counties in the batch.
    cohort: ClassVar[bool] = False

    @abc.abstractmethod
    def reads(self, params: Mapping[str, Any]) -> Mapping[str, Better]:
        """The input fields these params read, each with the direction that raises the score."""

    def input_types(self, params: Mapping[str, Any]) -> Mapping[str, frozenset[str]]:
        """For each field read, the declared input types it may have (default: the numeric ones).

        Checked when a policy loads. Override to read booleans or ``table`` inputs.

        .. versionadded:: 0.1
        """
        return dict.fromkeys(self.reads(params), NUMBERS)

    def optional(self, params: Mapping[str, Any]) -> frozenset[str]:
        """Fields this scorer can do without: it then receives ``None`` for them.

        For any other field a missing value applies the indicator's ``missing`` rule.

        .. versionadded:: 0.1
        """
        return frozenset()

    def vectorized(self, params: Mapping[str, Any], max_score: Decimal) -> VectorFunction | None:
        """Optionally, the same scorer over whole columns (see :data:`VectorFunction`); None: row path only.

        The default is the :meth:`compiled` form over columns, when the scorer has one.

        The columnar path rounds the scores itself and sends every record whose score is within
        ``error`` of a rounding tie to the row path, so a vectorised form needs to be close, not
        exact. Compare inputs with constants directly: inputs and constants of at most 15
        significant digits compare in float64 exactly as they do as decimals.

        .. versionadded:: 0.2
        """
        try:
            form = self.compiled(params, max_score)
        except Exception:  # a bug in an optional form: the row function scores every record
            return None
        return goalposts_vector(form, max_score) if isinstance(form, Goalposts) else None

    def compiled(self, params: Mapping[str, Any], max_score: Decimal) -> Goalposts | None:
        """Optionally, the score as :class:`Goalposts` (clipped goalposts, weighted and summed), which the
        engine compiles into the policy's generated code and into a vectorised form; None: no such form.

        The generated code computes it in floats and calls :meth:`build`'s function only for a record
        whose score lies within float error of a rounding tie, so an honest form is as fast as the
        built-in scorers. It must describe exactly what :meth:`build`'s function computes.

        .. versionadded:: 0.3
        """
        return None

    @abc.abstractmethod
    def build(self, params: Mapping[str, Any], max_score: Decimal) -> RowFunction | CohortFunction:
        """Decide everything that can be decided at load time; return the scoring function.

        A row scorer returns ``f(values) -> Scored``; a cohort scorer (``cohort = True``)
        returns ``f([values, ...]) -> [Scored, ...]`` in the same order. Raise
        :class:`ParamError` for parameters that are wrong.
        """


#: Relative error allowance of one float operation in :func:`goalposts_vector`: ≈ 90 × 2**-53 per operation.
_EPS: Final = 1e-14


def goalposts_vector(form: Goalposts, max_score: Decimal) -> VectorFunction:
    """``form`` over NumPy columns: the scores in floats and a bound on their error (NaN for a zero denominator).

    Each piece's ``x`` errs by at most a few ulps of ``Σ |coefficient × field|`` (of the rate, for a rate);
    ``(x − worst) ÷ span`` adds ``(|x| + |worst| + |span|)·ε ÷ |span|``; clipping never adds any.
    """
    top = float(max_score)
    pieces = [
        (
            tuple((field, float(c)) for field, c in piece.terms),
            float(piece.worst),
            float(piece.best - piece.worst),
            float(piece.weight),
            piece.denominator,
            float(piece.per),
        )
        for piece in form.pieces
    ]

    def score(columns: Mapping[str, Any]) -> tuple[Any, Any]:
        import numpy as np  # NumPy loads only on the columnar path

        total: Any = 0.0
        error: Any = 0.0
        for terms, worst, span, weight, denominator, per in pieces:
            if denominator is not None:
                bottom = columns[denominator]
                with np.errstate(divide="ignore", invalid="ignore"):
                    x = np.where(bottom == 0, np.nan, columns[terms[0][0]] * per / bottom)
                x_error = np.abs(x) * 4 * _EPS
            else:
                x = sum(c * columns[field] for field, c in terms)
                size = sum(abs(c) * np.abs(columns[field]) for field, c in terms)
                x_error = size * (len(terms) + 2) * _EPS
            normalized = np.clip((x - worst) / span, 0.0, 1.0)
            total = total + weight * normalized
            error = error + weight * (x_error + (np.abs(x) + abs(worst) + abs(span)) * _EPS) / abs(span)
        return total * top, (error + (len(pieces) + 2) * _EPS) * top

    return score
