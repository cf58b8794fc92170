"""The plugin host: builds the pluggy manager and hands out scorers."""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Mapping
from types import ModuleType
from typing import Final, final

import attrs
import pluggy

from fineco_rules.errors import Code, PluginError, Problem
from fineco_rules.scoring import _builtin as _generic
from fineco_rules.scoring import hookspecs as hookspecs
from fineco_rules.scoring._scorer import Scorer

__all__ = ["BLOCK_ENV", "ENTRY_POINT_GROUP", "PluginHost", "ScorerEntry", "make_plugin_host"]

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
                provided: Iterable[object] = impl.function() or ()  # type: ignore[assignment]
            except Exception as exc:  # a plugin's bug must name the plugin
                problems.append(
                    Problem(
                        f"plugin {plugin_name!r} failed while listing its scorers: {exc!r}",
                        hint=f"fix or block it ({BLOCK_ENV}={plugin_name})",
                        code=Code.PLUGIN_FAILED,
                    )
                )
                continue
            for scorer in provided:
                if not isinstance(scorer, Scorer):
                    problems.append(
                        Problem(
                            f"plugin {plugin_name!r} returned {type(scorer).__name__}, not a Scorer",
                            hint="return instances of fineco_rules.Scorer subclasses",
                            code=Code.PLUGIN_CONTRACT,
                        )
                    )
                    continue
                if scorer.name in found:
                    other = found[scorer.name].plugin
                    problems.append(
                        Problem(
                            f"scorer {scorer.name!r} is provided by both {other!r} and {plugin_name!r}",
                            hint=f"uninstall or block one of them ({BLOCK_ENV})",
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
    hint = f"did you mean {close[0]!r}?" if close else f"installed scorers: {', '.join(names)}"
    return f"no installed plugin provides the scorer {name!r}", hint, Code.UNKNOWN_SCORER


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
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
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
                    f"plugin {base} is registered twice (it is loaded already as {pm.get_name(plugin)!r})",
                    hint="pass each plugin once; an installed plugin is loaded from its entry point already",
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
