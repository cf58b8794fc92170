"""The plugin host: builds the pluggy manager and hands out scorers."""

from __future__ import annotations

import contextlib
import difflib
import functools
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from types import ModuleType
from typing import Any, Final, final

import attrs
import pluggy

from fineco_rules.errors import Code, PluginError, Problem, join, tr
from fineco_rules.io._json import dumps
from fineco_rules.io._limits import quoted
from fineco_rules.scoring import _builtin as _generic
from fineco_rules.scoring import hookspecs as hookspecs
from fineco_rules.scoring._scorer import Scored, Scorer

__all__ = [
    "BLOCK_ENV",
    "ENTRY_POINT_GROUP",
    "PluginHost",
    "ScorerEntry",
    "default_plugin_host",
    "guarded",
    "make_plugin_host",
    "stdout_to_stderr",
]

#: Entry-point group that plugin distributions declare their plugin modules in.
ENTRY_POINT_GROUP: Final = hookspecs.PROJECT
#: Comma-separated plugin (entry-point) names that must not load.
BLOCK_ENV: Final = "FINECO_BLOCK_PLUGINS"
BUILTIN_NAME: Final = "fineco_rules.generic"


@attrs.frozen
class ScorerEntry:
    """A scorer together with the plugin and distribution that provide it."""

    scorer: Scorer
    plugin: str
    distribution: str
    distribution_version: str

    @property
    def name(self) -> str:
        return self.scorer.name

    @property
    def version(self) -> str:
        return self.scorer.version


@final
class PluginHost:
    """Every scorer available, resolved once from a pluggy manager."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm
        self._scorers = self._collect()

    def _collect(self) -> dict[str, ScorerEntry]:
        dists = {id(plugin): (dist.project_name, dist.version) for plugin, dist in self.pm.list_plugin_distinfo()}
        found: dict[str, ScorerEntry] = {}
        problems: list[Problem] = []
        impls = self.pm.hook.fineco_scorers.get_hookimpls()
        for impl in reversed(impls):  # registration order
            plugin_name = impl.plugin_name
            dist_name, dist_version = dists.get(id(impl.plugin)) or _distribution_of(impl.plugin)
            try:
                with stdout_to_stderr():
                    provided = _listed(impl.function())
            except (Exception, SystemExit) as exc:  # a plugin's bug must name the plugin
                problems.append(
                    Problem(
                        tr(
                            "plugin {plugin_name!r} failed while listing its scorers: {exc!r}",
                            plugin_name=plugin_name,
                            exc=exc,
                        ),
                        hint=tr(
                            "fix or block it ({BLOCK_ENV}={plugin_name})", BLOCK_ENV=BLOCK_ENV, plugin_name=plugin_name
                        ),
                        code=Code.PLUGIN_FAILED,
                    )
                )
                continue
            for scorer in provided:
                if not isinstance(scorer, Scorer):
                    problems.append(
                        Problem(
                            tr(
                                "plugin {plugin_name!r} returned {kind}, not a Scorer",
                                plugin_name=plugin_name,
                                kind=type(scorer).__name__,
                            ),
                            hint=tr("return instances of fineco_rules.Scorer subclasses"),
                            code=Code.PLUGIN_CONTRACT,
                        )
                    )
                    continue
                if scorer.name in found:
                    other = found[scorer.name].plugin
                    problems.append(
                        Problem(
                            tr(
                                "scorer {name!r} is provided by both {other!r} and {plugin_name!r}",
                                name=scorer.name,
                                other=other,
                                plugin_name=plugin_name,
                            ),
                            hint=tr("uninstall or block one of them ({BLOCK_ENV})", BLOCK_ENV=BLOCK_ENV),
                            code=Code.DUPLICATE_SCORER,
                        )
                    )
                    continue
                found[scorer.name] = ScorerEntry(scorer, plugin_name, dist_name, dist_version)
        if problems:
            raise PluginError(problems)
        return dict(sorted(found.items()))

    @property
    def scorers(self) -> Mapping[str, ScorerEntry]:
        """Every scorer by name, sorted."""
        return self._scorers

    def scorer(self, name: str) -> ScorerEntry:
        """The scorer called ``name``; ``PluginError`` with a did-you-mean otherwise."""
        try:
            return self._scorers[name]
        except KeyError:
            message, hint, code = unknown_scorer(name, self._scorers)
            raise PluginError(Problem(message, hint=hint, code=code), plugin=name) from None


def unknown_scorer(name: str, known: Iterable[str]) -> tuple[str, str, str]:
    """Message, hint and code for a scorer name nobody provides."""
    names = sorted(known)
    close = difflib.get_close_matches(name, names, n=1)
    hint = tr("did you mean {name!r}?", name=close[0]) if close else tr("installed scorers: {names}", names=join(names))
    return tr("no installed plugin provides the scorer {name!r}", name=name), hint, Code.UNKNOWN_SCORER


def _distribution_of(plugin: object) -> tuple[str, str]:
    """The installed distribution a plugin registered in-process comes from, or its module if none."""
    from importlib import metadata  # loaded when asked, not on import (a cheap `fineco --help`)

    module = plugin.__name__ if isinstance(plugin, ModuleType) else type(plugin).__module__
    top = module.partition(".")[0]
    if top == "fineco_rules":
        # Asked of the metadata, not of ``fineco_rules.__version__``: importing the package's face from
        # the scoring layer would load every layer above it.
        try:
            return "fineco-rules", metadata.version("fineco-rules")
        except metadata.PackageNotFoundError:
            return "fineco-rules", "0.0.0"
    for name in metadata.packages_distributions().get(top, []):
        return name, metadata.version(name)
    return module, "not installed"


def make_plugin_host(
    *,
    plugins: Iterable[object] = (),
    block: Iterable[str] = (),
    entry_points: bool = True,
) -> PluginHost:
    """Build a plugin host: specs, block-list, entry points, built-ins, extra ``plugins``.

    ``block`` names plugins (entry-point names) that must not load, in addition to those
    in the ``FINECO_BLOCK_PLUGINS`` environment variable.
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    blocked = {*block, *(n.strip() for n in os.environ.get(BLOCK_ENV, "").split(",") if n.strip())}
    for name in sorted(blocked):
        pm.set_blocked(name)
    if entry_points:
        _load_entry_points(pm)
    if not pm.is_blocked(BUILTIN_NAME):
        pm.register(_generic, name=BUILTIN_NAME)
    for plugin in plugins:
        # A readable name for messages and filings: the module, or module.Class for an object.
        base = (
            plugin.__name__
            if isinstance(plugin, ModuleType)
            else f"{type(plugin).__module__}.{type(plugin).__qualname__}"
        )
        if pm.is_registered(plugin):
            raise PluginError(
                Problem(
                    tr(
                        "plugin {base} is registered twice (it is loaded already as {value!r})",
                        base=base,
                        value=pm.get_name(plugin),
                    ),
                    hint=tr("pass each plugin once; an installed plugin is loaded from its entry point already"),
                    code=Code.DUPLICATE_PLUGIN,
                ),
                plugin=base,
            )
        name, n = base, 1
        while pm.has_plugin(name):
            n += 1
            name = f"{base}#{n}"
        pm.register(plugin, name=name)
    pm.check_pending()
    return PluginHost(pm)


#: The host :func:`default_plugin_host` built, and what it was built for (``sys.path`` and the block-list).
_DEFAULT: dict[tuple[tuple[str, ...], str], PluginHost] = {}


def default_plugin_host() -> PluginHost:
    """The host the API uses when no ``host=`` is given: :func:`make_plugin_host`, built once per process.

    So loading a policy and evaluating it scan the installed plugins (their entry points) once, not once each.
    It is built again when ``sys.path`` or ``FINECO_BLOCK_PLUGINS`` changed since (a plugin installed into a
    new folder, a plugin blocked); call :func:`make_plugin_host` for a fresh scan anyway.
    """
    key = (tuple(sys.path), os.environ.get(BLOCK_ENV, ""))
    host = _DEFAULT.get(key)
    if host is None:
        host = make_plugin_host()
        _DEFAULT.clear()
        _DEFAULT[key] = host
    return host


def _misbehaved(message: str) -> RuntimeError:
    """Plugin code did what plugin code must not (``sys.exit``, a result that is not plain data).

    A ``RuntimeError``, never a ``ValueError``: the engine reports it as the plugin's bug, not the data's.
    """
    return RuntimeError(message)


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Send what plugin code prints to standard error, so standard output carries only our output."""
    saved = sys.stdout
    sys.stdout = sys.stderr
    try:
        yield
    finally:
        sys.stdout = saved


def _listed(provided: object) -> list[object]:
    """What a ``fineco_scorers`` hook returned, as a list; a ``RuntimeError`` unless it is a list or tuple."""
    if provided is None:
        return []
    if not isinstance(provided, list | tuple):
        raise _misbehaved(
            tr("the fineco_scorers hook returned {kind}, not a list of scorers", kind=type(provided).__name__)
        )
    return list(provided)


def _load_entry_points(pm: pluggy.PluginManager) -> None:
    """Load the installed plugins; one that raises or exits on import is a ``PluginError`` naming it."""
    try:
        with stdout_to_stderr():
            pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        return
    except (Exception, SystemExit):
        pass  # find every plugin that fails, one by one, to name them all
    from importlib import metadata  # only on this failure path: a cheap `fineco --help` never needs it

    problems = []
    for ep in sorted({ep.name for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}):
        if pm.is_blocked(ep) or pm.has_plugin(ep):
            continue
        try:
            with stdout_to_stderr():
                pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP, name=ep)
        except (Exception, SystemExit) as exc:
            problems.append(
                Problem(
                    tr("plugin {ep!r} failed while loading: {value}", ep=ep, value=_what(exc)),
                    hint=tr(
                        "report it to the plugin's authors, or block it ({BLOCK_ENV}={ep})", BLOCK_ENV=BLOCK_ENV, ep=ep
                    ),
                    code=Code.PLUGIN_FAILED,
                )
            )
    if problems:
        raise PluginError(problems)


def _what(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return tr("it called sys.exit({code!r})", code=exc.code)
    return tr("{kind}: {exc}", kind=type(exc).__name__, exc=quoted(exc))


def guarded(function: Callable[..., Any]) -> Callable[..., Any]:
    """A scorer function that cannot write to standard output, exit the process or hand back more than data.

    Around each call standard output goes to standard error; ``sys.exit`` becomes a ``RuntimeError``;
    a result whose score is not exactly a ``Decimal`` (a subclass could lie about its digits) or whose
    details our JSON writer cannot write is a ``RuntimeError`` too. The engine reports each on the
    county (or cohort) it was scoring, names the plugin, and grades the rest of the batch.
    """

    @functools.wraps(function)
    def call(*args: Any) -> Any:
        saved = sys.stdout
        sys.stdout = sys.stderr
        try:
            result = function(*args)
        except SystemExit as exc:
            raise _misbehaved(_what(exc)) from None
        finally:
            sys.stdout = saved
        if isinstance(result, Scored):
            _check_scored(result)
        elif isinstance(result, list | tuple):
            for item in result:
                if isinstance(item, Scored):
                    _check_scored(item)
        return result

    return call


def _check_scored(result: Scored) -> None:
    for field, value in (("score", result.score), ("normalized", result.normalized)):
        if isinstance(value, Decimal) and type(value) is not Decimal:
            raise _misbehaved(
                tr("returned a {field} of type {kind}, a Decimal subclass", field=field, kind=type(value).__name__)
            )
    if result.details:
        _check_details(result.details)


_PLAIN: Final = frozenset({str, int, bool, Decimal, type(None)})


def _check_details(details: object) -> None:
    """Details must be plain data our JSON writer writes: checked cheaply by type, the writer asked otherwise."""
    stack = [details]
    while stack:
        value = stack.pop()
        kind = type(value)
        if kind in _PLAIN:
            continue
        if kind is dict:
            if any(type(key) is not str for key in value):  # type: ignore[attr-defined]
                raise _misbehaved(tr("returned details with a key that is not text"))
            stack.extend(value.values())  # type: ignore[attr-defined]
        elif kind is list or kind is tuple:
            stack.extend(value)  # type: ignore[arg-type]
        elif isinstance(value, Decimal):
            raise _misbehaved(tr("returned details holding a {kind}, a Decimal subclass", kind=kind.__name__))
        else:
            try:
                dumps(value)
            except Exception as exc:  # JSONWriteError, or a to_dict of the plugin's own that fails
                raise _misbehaved(tr("returned details that cannot be written as JSON: {exc}", exc=exc)) from None
