"""Evaluation on a Dask cluster: the same policy and plugins on every worker, one global cohort, identical results.

The driver (the process holding the ``distributed.Client``) fits the :class:`~fineco_rules.Cohort` of the whole
population, checks that every worker resolves the policy's scorers to the same versions as the driver, broadcasts
the policy and the cohort, and grades the partitions on the workers. The :class:`~fineco_rules.Evaluation` it
returns is the one :func:`fineco_rules.evaluate` returns for the same records in one process: the same results in
the same order, the same record locations, the same batch notes. See ``docs/distributed.md``.
"""

from __future__ import annotations

import bisect
import hashlib
import importlib
import math
import pickle
import sys
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Final, cast, final

import attrs

from fineco_rules.engine._engine import Cohort, CompiledPolicy, compile_policy
from fineco_rules.engine._plan import grade_of
from fineco_rules.engine._records import raw_from_mapping
from fineco_rules.engine._results import CountyResult, Evaluation
from fineco_rules.errors import (
    Code,
    DataFileError,
    FinecoError,
    Location,
    Msg,
    PluginError,
    Problem,
    UsageError,
    tr,
)
from fineco_rules.io._readers import RawRecord
from fineco_rules.policy._model import Grade, Policy
from fineco_rules.scoring._host import BUILTIN_NAME, ENTRY_POINT_GROUP, PluginHost, make_plugin_host

try:
    import distributed
    from dask.base import is_dask_collection
    from distributed.diagnostics.plugin import UploadFile
except ImportError as exc:  # pragma: no cover - the dask extra is part of the test install
    raise ImportError(
        "fineco_rules.scale.distributed needs Dask and dask.distributed: pip install 'fineco-rules[dask]'"
    ) from exc

if TYPE_CHECKING:
    import pandas as pd

#: ``distributed``'s classes and Client methods are untyped; calls go through this alias.
_untyped: Any = distributed

__all__ = [
    "DaskGrades",
    "dask_client",
    "evaluate_on_dask",
    "forget_compiled",
    "grade_csv_on_dask",
    "grade_on_dask",
    "ship_plugin",
    "worker_scorers",
]

#: How many compiled policies a worker keeps.
_CACHE_SIZE: Final = 8
#: glibc malloc settings for the worker processes ``dask_client("local:N")`` starts. Dask's nanny sets
#: ``MALLOC_TRIM_THRESHOLD_=65536``, which also turns off glibc's adaptive mmap threshold: every NumPy array
#: above 128 KiB is then mapped afresh and page-faulted in, and ``evaluate_columns`` runs 2-3x slower on a
#: worker than in one process. Freed memory above 128 MiB is still given back.
WORKER_MALLOC: Final = (("MALLOC_TRIM_THRESHOLD_", str(128 << 20)), ("MALLOC_MMAP_THRESHOLD_", str(32 << 20)))
#: Suffixes ``ship_plugin`` accepts: what ``distributed`` can put on a worker's import path.
_SHIPPABLE: Final = (".py", ".zip", ".egg")

# -- what a worker needs to rebuild the driver's plugin host ------------------------------------------


@attrs.frozen
class _HostSpec:
    """The driver's plugin host, as a worker rebuilds it: entry points, blocks and in-process plugins."""

    entry_points: bool
    #: Entry-point names the driver did not load (blocked there): the worker must not load them either.
    block: tuple[str, ...]
    #: The plugins the driver registered in-process, in order: ("module", import name) or ("object", pickle).
    plugins: tuple[tuple[str, str | bytes], ...]

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(pickle.dumps(self)).hexdigest()


#: What a worker reports per scorer: (scorer version, distribution, distribution version, plugin).
_Inventory = dict[str, tuple[str, str, str, str]]


#: Each plugin host's description, with the plugins it held when described (scanning the installed entry points
#: takes about 10 ms, once per call otherwise).
_SPECS: weakref.WeakKeyDictionary[PluginHost, tuple[tuple[tuple[str, int], ...], _HostSpec]] = (
    weakref.WeakKeyDictionary()
)


def _host_spec(host: PluginHost) -> _HostSpec:
    """Describe ``host`` so that a worker can build the same one (again only when its plugins changed)."""
    held = tuple((name, id(plugin)) for name, plugin in host.pm.list_name_plugin())
    known = _SPECS.get(host)
    if known is not None and known[0] == held:
        return known[1]
    spec = _describe_host(host)
    _SPECS[host] = (held, spec)
    return spec


def _describe_host(host: PluginHost) -> _HostSpec:
    """Describe ``host`` so that a worker can build the same one."""
    pm = host.pm
    from_entry_points = {name for name, _ in _entry_point_plugins(host)}
    declared = sorted({ep.name for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)})
    block = [name for name in declared if name not in from_entry_points]
    if pm.is_blocked(BUILTIN_NAME):
        block.append(BUILTIN_NAME)
    plugins: list[tuple[str, str | bytes]] = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None or name in from_entry_points or name == BUILTIN_NAME:
            continue
        if isinstance(plugin, ModuleType):
            plugins.append(("module", plugin.__name__))
            continue
        try:
            plugins.append(("object", pickle.dumps(plugin)))
        except Exception as exc:
            raise PluginError(
                Problem(
                    tr(
                        "the plugin {name!r} registered on the driver cannot be sent to the workers: {reason}",
                        name=name,
                        reason=exc,
                    ),
                    hint=tr(
                        "register a module (make_plugin_host(plugins=[module])), or an object of a class the "
                        "workers can import"
                    ),
                    code=Code.PLUGIN_NOT_PICKLABLE,
                ),
                plugin=name,
            ) from exc
    return _HostSpec(bool(from_entry_points), tuple(block), tuple(plugins))


def _entry_point_plugins(host: PluginHost) -> list[tuple[str, object]]:
    """(name, plugin) of the plugins the host loaded from installed distributions' entry points."""
    loaded = {id(plugin) for plugin, _ in host.pm.list_plugin_distinfo()}
    return [(name, plugin) for name, plugin in host.pm.list_name_plugin() if id(plugin) in loaded]


def _build_host(spec: _HostSpec) -> PluginHost:
    plugins: list[object] = []
    for kind, ref in spec.plugins:
        if kind == "module":
            if not isinstance(ref, str):  # _host_spec pairs "module" with the module's name
                raise TypeError(f"a module plugin is sent by name, not as {type(ref).__name__}")
            try:
                plugins.append(importlib.import_module(ref))
            except ImportError as exc:
                raise _WorkerPluginMissing(ref, f"{type(exc).__name__}: {exc}") from exc
        else:
            if not isinstance(ref, bytes):  # _host_spec pairs "object" with the pickled object
                raise TypeError(f"an object plugin is sent pickled, not as {type(ref).__name__}")
            try:
                plugins.append(pickle.loads(ref))
            except Exception as exc:
                raise _WorkerPluginMissing(None, f"{type(exc).__name__}: {exc}") from exc
    return make_plugin_host(plugins=plugins, block=spec.block, entry_points=spec.entry_points)


class _WorkerPluginMissing(Exception):
    """A plugin the driver registered cannot be loaded on a worker."""

    def __init__(self, module: str | None, reason: str) -> None:
        super().__init__(module, reason)
        self.module = module
        self.reason = reason


def _inventory(host: PluginHost, scorers: Iterable[str]) -> _Inventory:
    found: _Inventory = {}
    for name in scorers:
        entry = host.scorers.get(name)
        if entry is not None:
            found[name] = (entry.version, entry.distribution, entry.distribution_version, entry.plugin)
    return found


# -- the worker side: a cache of hosts and compiled policies ------------------------------------------

_LOCK = threading.Lock()
_HOSTS: OrderedDict[str, PluginHost] = OrderedDict()
_COMPILED: OrderedDict[tuple[str, str], CompiledPolicy] = OrderedDict()


def _remember(cache: OrderedDict[Any, Any], key: object, value: object) -> None:
    cache[key] = value
    while len(cache) > _CACHE_SIZE:
        cache.popitem(last=False)


def _worker_host(spec: _HostSpec) -> PluginHost:
    key = spec.fingerprint
    with _LOCK:
        host = _HOSTS.get(key)
        if host is None:
            host = _build_host(spec)
            _remember(_HOSTS, key, host)
        return host


def _worker_compiled(fingerprint: str, policy: Policy, spec: _HostSpec) -> CompiledPolicy:
    key = (fingerprint, spec.fingerprint)
    host = _worker_host(spec)
    with _LOCK:
        compiled = _COMPILED.get(key)
        if compiled is None:
            compiled = compile_policy(policy, host)
            _remember(_COMPILED, key, compiled)
        return compiled


def _worker_compiled_blob(fingerprint: str, blob: bytes, spec: _HostSpec) -> CompiledPolicy:
    """The policy pickled as ``blob`` compiled on this worker, unpickled and compiled only the first time."""
    with _LOCK:
        compiled = _COMPILED.get((fingerprint, spec.fingerprint))
    if compiled is not None:
        return compiled
    return _worker_compiled(fingerprint, pickle.loads(blob), spec)  # the pickled policy the driver sent


def forget_compiled() -> None:
    """Drop this process's cached plugin hosts and compiled policies (run on workers by :func:`ship_plugin`)."""
    with _LOCK:
        _HOSTS.clear()
        _COMPILED.clear()


def _report_inventory(spec: _HostSpec, scorers: tuple[str, ...]) -> _Inventory | tuple[str | None, str]:
    """Run on each worker: its scorers' versions, or (module, reason) when the host cannot be built."""
    try:
        return _inventory(_worker_host(spec), scorers)
    except _WorkerPluginMissing as exc:
        return exc.module, exc.reason
    except FinecoError as exc:
        return None, str(exc)


def _evaluate_part(
    part: Any,
    kind: str,
    start: int,
    earlier: Sequence[tuple[str, Location]],
    policy: Policy,
    fingerprint: str,
    spec: _HostSpec,
    expected: _Inventory,
    cohort: Cohort | None,
) -> tuple[tuple[CountyResult, ...], tuple[Problem, ...]]:
    """Run on a worker: grade one partition against the global cohort.

    ``earlier`` holds the codes of counties that first appeared in an earlier partition, with the place
    they appeared: they go in front of the partition as stand-ins so that a repeat is reported as a
    duplicate exactly as in one batch, and their own results are dropped.
    """
    compiled = _worker_compiled(fingerprint, policy, spec)
    found = _inventory(compiled.host, expected)
    if found != expected:  # a worker that joined after the driver's check, with other plugins
        address = distributed.get_worker().address
        raise PluginError(_mismatch_problems(policy, expected, {address: found}))
    raws = _part_raws(part, kind, start)
    standins = [RawRecord({policy.unit.key: code}, location) for code, location in earlier]
    evaluation = compiled.evaluate([*standins, *raws], cohort=cohort)
    return evaluation.results[len(standins) :], evaluation.problems


def _grade_part(
    columns: Mapping[str, list[object]],
    earlier: Sequence[str],
    policy: Policy,
    fingerprint: str,
    spec: _HostSpec,
    expected: _Inventory,
    cohort: Cohort | None,
) -> tuple[Any, Any]:
    """Run on a worker: grade codes (int8) and totals (int64 units) of one partition, given as columns.

    The partition is graded by :func:`fineco_rules.evaluate_columns` (which takes the row path itself when the
    policy has no columnar form). ``earlier`` holds keys first met in an earlier partition: they go in front as
    stand-ins, so a repeat is not graded, as in one batch; only the two arrays travel back.
    """
    from fineco_rules.engine._columnar import evaluate_columns

    compiled = _worker_compiled(fingerprint, policy, spec)
    found = _inventory(compiled.host, expected)
    if found != expected:  # a worker that joined after the driver's check, with other plugins
        address = distributed.get_worker().address
        raise PluginError(_mismatch_problems(policy, expected, {address: found}))
    if earlier:
        key = policy.unit.key
        columns = {name: [None] * len(earlier) + column for name, column in columns.items()}
        columns[key] = [*earlier, *columns[key][len(earlier) :]]
    graded = evaluate_columns(compiled, columns, cohort=cohort)
    return graded.grade_codes[len(earlier) :], graded.total_units[len(earlier) :]


def _project(part: Any, kind: str, start: int, fields: tuple[str, ...]) -> list[RawRecord]:
    """Run on a worker: a partition's records cut down to the fields that ``fit`` reads."""
    return [
        attrs.evolve(raw, values={k: v for k, v in raw.values.items() if k in fields})
        for raw in _part_raws(part, kind, start)
    ]


def _part_raws(part: Any, kind: str, start: int) -> list[RawRecord]:
    """A partition as raw records located by their place in the whole input (``[index]`` for mappings)."""
    if kind == "frame":
        return [raw_from_mapping(row, start + i) for i, row in enumerate(_frame_rows(part))]
    return [r if isinstance(r, RawRecord) else raw_from_mapping(r, start + i) for i, r in enumerate(part)]


def _frame_rows(frame: pd.DataFrame) -> list[dict[str, object]]:
    """A pandas DataFrame's rows as mappings, with every missing value (NaN, NA, None, NaT) as ``None``."""
    import pandas as pd

    rows: list[dict[str, object]] = frame.to_dict("records")  # type: ignore[assignment]
    for row in rows:
        for key, value in row.items():
            if value is not None and not isinstance(value, list | tuple | dict) and pd.isna(cast(Any, value)):
                row[key] = None
    return rows


# -- the driver side ------------------------------------------------------------------------------------


def _policy_location(policy: Policy, indicator: str) -> Location:
    origin = policy.origin(("indicators", indicator, "scorer"))
    return Location(origin.file, origin.line, origin.column, f"indicators.{indicator}.scorer")


def _uses(policy: Policy) -> dict[str, str]:
    """Each scorer the policy uses, with the first indicator that uses it."""
    used: dict[str, str] = {}
    for name, indicator in policy.indicators.items():
        used.setdefault(indicator.scorer, name)
    return used


#: What ``_distribution_of`` says of a plugin module that no installed distribution provides.
_NOT_INSTALLED: Final = "not installed"


def _source(found: tuple[str, str, str, str]) -> Msg | str:
    """Where a scorer comes from: its distribution and version, or its module when none is installed."""
    if found[2] == _NOT_INSTALLED:
        return tr("module {module} (not installed)", module=found[1])
    return f"{found[1]} {found[2]}"


def _mismatch_problems(
    policy: Policy, expected: _Inventory, workers: Mapping[str, _Inventory | tuple[str | None, str]]
) -> list[Problem]:
    used = _uses(policy)
    problems: list[Problem] = []
    for address, found in sorted(workers.items()):
        if isinstance(found, tuple):
            module, reason = found
            if module is not None:
                problems.append(
                    Problem(
                        tr(
                            "worker {address} cannot import the plugin module {module!r} that the driver uses "
                            "({reason})",
                            address=address,
                            module=module,
                            reason=reason,
                        ),
                        hint=tr(
                            "install it on every worker, or ship it: "
                            "fineco_rules.scale.distributed.ship_plugin(client, 'path/to/{path}.py')",
                            path=module.replace(".", "/"),
                        ),
                        code=Code.WORKER_PLUGIN_MISSING,
                    )
                )
            else:
                problems.append(
                    Problem(
                        tr(
                            "worker {address} cannot build the driver's plugin host: {reason}",
                            address=address,
                            reason=reason,
                        ),
                        hint=tr("install the same plugins on the driver and every worker"),
                        code=Code.WORKER_PLUGIN_MISSING,
                    )
                )
            continue
        for scorer, indicator in used.items():
            want = expected[scorer]
            got = found.get(scorer)
            where = _policy_location(policy, indicator)
            if got is None:
                problems.append(
                    Problem(
                        tr(
                            "worker {address} has no scorer {scorer!r}; "
                            "the driver has {scorer} {version} from {source}",
                            address=address,
                            scorer=scorer,
                            version=want[0],
                            source=_source(want),
                        ),
                        where,
                        tr(
                            "install {distribution}=={version} on every worker (or ship the plugin module with "
                            "fineco_rules.scale.distributed.ship_plugin)",
                            distribution=want[1],
                            version=want[2],
                        )
                        if want[2] != _NOT_INSTALLED
                        else tr("ship the plugin module with fineco_rules.scale.distributed.ship_plugin"),
                        Code.WORKER_PLUGIN_MISSING,
                    )
                )
            elif got[:3] != want[:3]:
                problems.append(
                    Problem(
                        tr(
                            "worker {address} has scorer {scorer} {version} from {source}, the driver "
                            "{scorer} {wanted} from {wanted_source}: the results would differ",
                            address=address,
                            scorer=scorer,
                            version=got[0],
                            source=_source(got),
                            wanted=want[0],
                            wanted_source=_source(want),
                        ),
                        where,
                        tr(
                            "install {distribution}=={version} on the driver and every worker",
                            distribution=want[1],
                            version=want[2],
                        )
                        if want[2] != _NOT_INSTALLED
                        else tr(
                            "ship the driver's module to the workers (fineco_rules.scale.distributed.ship_plugin) "
                            "or install the same {module} everywhere",
                            module=want[1],
                        ),
                        Code.WORKER_PLUGIN_VERSION,
                    )
                )
    return problems


def worker_scorers(
    client: distributed.Client, policy: Policy, host: PluginHost | None = None
) -> dict[str, dict[str, tuple[str, str, str, str]] | str]:
    """What each worker resolves the policy's scorers to: ``{address: {scorer: (version, distribution,
    distribution version, plugin)}}``, or a string saying why the worker cannot build the driver's host."""
    host = host if host is not None else make_plugin_host()
    spec = _host_spec(host)
    found = client.run(_report_inventory, spec, tuple(_uses(policy)))
    out: dict[str, dict[str, tuple[str, str, str, str]] | str] = {}
    for address, item in found.items():
        out[address] = item if isinstance(item, dict) else f"{item[0] or 'plugin host'}: {item[1]}"
    return out


def _checked(
    policy: Policy | CompiledPolicy, host: PluginHost | None, client: distributed.Client
) -> tuple[CompiledPolicy, _HostSpec, _Inventory]:
    """The policy compiled (unless it is), its plugin host's description, and the inventory every worker matches."""
    compiled = policy if isinstance(policy, CompiledPolicy) else compile_policy(policy, host)
    spec = _host_spec(compiled.host)
    return compiled, spec, _check_workers(client, compiled, spec)


def _check_workers(client: distributed.Client, compiled: CompiledPolicy, spec: _HostSpec) -> _Inventory:
    """The driver's inventory of the policy's scorers, once every worker is known to match it."""
    policy = compiled.policy
    scorers = tuple(_uses(policy))
    expected = _inventory(compiled.host, scorers)
    found: dict[str, _Inventory | tuple[str | None, str]] = client.run(_report_inventory, spec, scorers)
    if not found:
        raise FinecoError(
            Problem(
                tr("the Dask cluster has no workers"),
                hint=tr("start workers (dask worker SCHEDULER_ADDRESS) or wait for them: client.wait_for_workers(n)"),
                code=Code.NO_WORKERS,
            )
        )
    problems = _mismatch_problems(policy, expected, found)
    if problems:
        raise PluginError(problems)
    return expected


def _fingerprint(policy: Policy) -> str:
    return hashlib.sha256(pickle.dumps(policy)).hexdigest()


def _split(count: int, parts: int) -> list[tuple[int, int]]:
    """``count`` items into ``parts`` contiguous, nearly equal ranges (start, stop); no empty range."""
    parts = max(1, min(parts, count))
    size, extra = divmod(count, parts)
    ranges, start = [], 0
    for i in range(parts):
        stop = start + size + (1 if i < extra else 0)
        ranges.append((start, stop))
        start = stop
    return ranges


def _earlier_counties(parts: Sequence[Sequence[RawRecord]], key: str) -> list[list[tuple[str, Location]]]:
    """Per partition: the keys (county codes) that first appeared in an earlier one and appear again in it."""
    first: dict[str, tuple[int, Location]] = {}
    out: list[list[tuple[str, Location]]] = []
    for index, part in enumerate(parts):
        needed: dict[str, Location] = {}
        for raw in part:
            value = raw.values.get(key)
            code = None if value is None else str(value).strip()
            if not code:
                continue
            seen = first.get(code)
            if seen is None:
                first[code] = (index, raw.location)
            elif seen[0] != index:
                needed.setdefault(code, seen[1])
        out.append(list(needed.items()))
    return out


def _merge_notes(notes: Iterable[Problem]) -> list[Problem]:
    """Batch notes of consecutive partitions as one batch has them: an unknown column once, where first met."""
    merged: list[Problem] = []
    seen: set[str | None] = set()
    for note in notes:
        if note.code == Code.UNKNOWN_COLUMN:
            if note.location.field in seen:
                continue
            seen.add(note.location.field)
        merged.append(note)
    return merged


def evaluate_on_dask(
    policy: Policy | CompiledPolicy,
    records: Iterable[Mapping[str, object] | RawRecord] | Any,
    *,
    client: distributed.Client,
    npartitions: int | None = None,
    host: PluginHost | None = None,
) -> Evaluation:
    """Grade ``records`` on the workers of ``client``, exactly as :func:`fineco_rules.evaluate` would in one process.

    ``records`` is a sequence of mappings or :class:`~fineco_rules.RawRecord` (split into ``npartitions``
    contiguous partitions, by default one per worker thread), a ``dask.dataframe.DataFrame`` (one row per
    record, missing values as NaN/None; rows are located as ``[index]`` in the whole frame) or a ``dask.bag.Bag``
    of mappings or raw records. The policy is pickled to the workers, which compile it once each with a plugin
    host built like the driver's (``host``, or the compiled policy's, or ``make_plugin_host()``). Before any
    record is graded, every worker must resolve the policy's scorers to the same versions from the same
    distributions as the driver, or :class:`~fineco_rules.PluginError` says which worker differs and how.
    The cohort (imputation fills and cohort scorers) is fitted on the driver over the whole population.
    """
    compiled, spec, expected = _checked(policy, host, client)
    the_policy = compiled.policy
    cluster: Any = client  # distributed's Client methods are untyped
    fingerprint = _fingerprint(the_policy)

    if is_dask_collection(records):
        kind, part_futures, raws_for_fit, lengths = _collection_parts(client, records, the_policy)
    else:
        raws = [r if isinstance(r, RawRecord) else raw_from_mapping(r, i) for i, r in enumerate(records)]
        threads = sum(cluster.nthreads().values())
        ranges = _split(len(raws), npartitions if npartitions is not None else threads)
        kind = "raw"
        lengths = [stop - start for start, stop in ranges]
        parts = [raws[start:stop] for start, stop in ranges]
        part_futures = cluster.scatter(parts, hash=False) if parts else []
        raws_for_fit = raws
    if not raws_for_fit:
        cluster.cancel(part_futures)
        return Evaluation(the_policy, (), ())

    by_part = _regroup(raws_for_fit, lengths)
    earlier = _earlier_counties(by_part, the_policy.unit.key)
    cohort = compiled.fit(raws_for_fit)
    policy_future = cluster.scatter(the_policy, broadcast=True, hash=False)
    cohort_future = cluster.scatter(cohort, broadcast=True, hash=False)
    starts = [sum(lengths[:i]) for i in range(len(lengths))]
    futures = [
        cluster.submit(
            _evaluate_part,
            part,
            kind,
            start,
            before,
            policy_future,
            fingerprint,
            spec,
            expected,
            cohort_future,
            pure=False,
        )
        for part, start, before in zip(part_futures, starts, earlier, strict=True)
    ]
    try:
        done = cluster.gather(futures)
    finally:
        cluster.cancel([*futures, policy_future, cohort_future, *part_futures])
    results = tuple(result for part_results, _ in done for result in part_results)
    notes = _merge_notes(note for _, part_notes in done for note in part_notes)
    return Evaluation(the_policy, results, tuple(notes))


def _regroup(raws: Sequence[RawRecord], lengths: Sequence[int]) -> list[Sequence[RawRecord]]:
    parts, start = [], 0
    for length in lengths:
        parts.append(raws[start : start + length])
        start += length
    return parts


def _collection_parts(
    client: distributed.Client, collection: Any, policy: Policy
) -> tuple[str, list[Any], list[RawRecord], list[int]]:
    """Partitions of a dask DataFrame or Bag as futures, and what ``fit`` needs of them, on the driver.

    ``fit`` needs the whole population: the key (county code), the city and every declared input of each record
    (a record with a bad value in any input is left out of the cohort), so those columns come to the driver;
    names, notes and undeclared columns stay on the workers.
    """
    import dask.bag as db
    import dask.dataframe as dd

    if isinstance(collection, dd.DataFrame):
        kind = "frame"
    elif isinstance(collection, db.Bag):
        kind = "bag"
    else:
        raise TypeError(
            f"records is a {type(collection).__name__}; give a sequence of mappings or RawRecords, "
            "a dask.dataframe.DataFrame or a dask.bag.Bag"
        )
    cluster: Any = client  # distributed's Client methods are untyped
    part_futures: list[Any] = cluster.compute(collection.to_delayed())
    # The record's key, the city and the unit's parents (for the city of a non-county unit), and every input.
    fields = (policy.unit.key, "city", *policy.unit.parents.values(), *policy.inputs)
    lengths_futures = client.map(_length, part_futures, [kind] * len(part_futures), pure=False)
    lengths: list[int] = cluster.gather(lengths_futures)
    starts = [sum(lengths[:i]) for i in range(len(lengths))]
    projected = client.map(
        _project, part_futures, [kind] * len(part_futures), starts, [fields] * len(part_futures), pure=False
    )
    raws: list[RawRecord] = [raw for part in cluster.gather(projected) for raw in part]
    return kind, part_futures, raws, lengths


def _length(part: Any, kind: str) -> int:
    return len(part)


def ship_plugin(client: distributed.Client, path: str | Path) -> str:
    """Send a plugin module (``.py``) or an archive of plugin packages (``.zip``, ``.egg``) to every worker.

    The file goes onto each worker's import path, now and on workers that join later (a Dask
    ``UploadFile`` worker plugin), and each worker forgets its compiled policies so that the next
    evaluation imports the new code. Register the same module on the driver
    (``make_plugin_host(plugins=[module])``): the workers register what the driver registers. Returns the
    import name of a ``.py`` module, or the archive's file name. Wheels are installed, not shipped: put
    them in the workers' environment (``pip install``) as on the driver.
    """
    file = Path(path)
    if file.suffix not in _SHIPPABLE:
        raise FinecoError(
            Problem(
                tr(
                    "cannot ship {name}: only a module (.py) or an archive of packages (.zip, .egg) goes "
                    "onto the workers' import path",
                    name=file.name,
                ),
                Location(str(file)),
                tr("install a wheel or sdist into every worker's environment with pip, as on the driver"),
                Code.BAD_PLUGIN_FILE,
            )
        )
    if not file.is_file():
        raise FinecoError(
            Problem(
                tr("no such plugin file: {path}", path=file),
                Location(str(file)),
                tr("check the path"),
                Code.MISSING_PLUGIN_FILE,
            )
        )
    client.register_plugin(UploadFile(str(file)), name=f"fineco-rules-plugin:{file.name}")
    client.run(forget_compiled)
    return file.stem if file.suffix == ".py" else file.name


@contextmanager
def _spawn_environ() -> Iterator[None]:
    """Workers spawned here start with :data:`WORKER_MALLOC` in their environment (glibc reads it once, at start).

    Dask's nanny takes a variable from this process's environment before its own configuration, and leaves its
    default in the environment once a cluster has been started, so both are set, and the environment restored.
    """
    import os

    import dask

    before = {name: os.environ.get(name) for name, _ in WORKER_MALLOC}
    os.environ.update(WORKER_MALLOC)
    try:
        with dask.config.set({f"distributed.nanny.pre-spawn-environ.{name}": value for name, value in WORKER_MALLOC}):
            yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def dask_client(address: str) -> Iterator[distributed.Client]:
    """A client for ``address``: ``local:N`` starts a local cluster of N worker processes (one thread each)
    and closes it on exit; anything else is a scheduler address (``tcp://host:8786``) to connect to."""
    if address.startswith("local:"):
        count = address.removeprefix("local:")
        if not count.isdigit() or int(count) < 1:
            raise ValueError(f"{address!r}: write local:N with N at least 1, e.g. local:4")
        with (
            _spawn_environ(),
            _untyped.LocalCluster(
                n_workers=int(count),
                processes=True,
                threads_per_worker=1,
                host="127.0.0.1",
                dashboard_address=":0",  # the scheduler serves HTTP anyway: a free port, never a clash on 8787
                scheduler_kwargs={"dashboard": False},
            ) as cluster,
            _untyped.Client(cluster) as client,
        ):
            client.wait_for_workers(int(count))
            yield client
        return
    with _untyped.Client(address) as client:
        yield client


# -- grades only: the compact form -----------------------------------------------------------------------


@final
class DaskGrades:
    """Grades and totals of a batch graded on Dask, in input order; a record's full result on demand.

    Only ``grade_codes`` (int8: -1 not graded, 0 fail, 1 pass, 2 good) and ``total_units`` (int64: the total
    × 10**precision) come back from the workers. :meth:`explain` grades one record again on the driver, with
    the global cohort and beside the first record of its key, so it is the result :func:`fineco_rules.evaluate`
    gives that record in the whole batch; :meth:`to_evaluation` does so for every record.
    """

    def __init__(
        self,
        compiled: CompiledPolicy,
        records: Sequence[Mapping[str, object] | RawRecord],
        cohort: Cohort | None,
        grade_codes: Any,
        total_units: Any,
        first: Mapping[int, int],
    ) -> None:
        self.compiled = compiled
        self.policy: Policy = compiled.policy
        self.cohort = cohort
        self.grade_codes = grade_codes
        self.total_units = total_units
        self._records = records
        self._first = first

    def __len__(self) -> int:
        return len(self.grade_codes)

    def grade(self, i: int) -> Grade | None:
        return grade_of(int(self.grade_codes[i]))

    def total(self, i: int) -> Decimal | None:
        if self.grade_codes[i] < 0:
            return self.explain(i).score
        return Decimal(int(self.total_units[i])).scaleb(-self.policy.precision)

    def grades(self) -> list[Grade | None]:
        return [grade_of(int(c)) for c in self.grade_codes]

    def totals(self) -> list[Decimal | None]:
        return [self.total(i) for i in range(len(self))]

    def _raw(self, i: int) -> RawRecord:
        record = self._records[i]
        return record if isinstance(record, RawRecord) else raw_from_mapping(record, i)

    def explain(self, i: int) -> CountyResult:
        """Record ``i``'s full result, every number that explains it, graded again here on the driver."""
        first = self._first.get(i) if self.grade_codes[i] < 0 else None  # a repeat is never graded
        raws = [self._raw(i)] if first is None else [self._raw(first), self._raw(i)]
        return self.compiled.evaluate(raws, cohort=self.cohort).results[-1]

    def to_evaluation(self) -> Evaluation:
        """Every record's full result, as :func:`fineco_rules.evaluate` gives them (computed on the driver)."""
        return self.compiled.evaluate([self._raw(i) for i in range(len(self))], cohort=self.cohort)


def _as_columns(records: Sequence[Mapping[str, object] | RawRecord]) -> dict[str, list[object]]:
    """Records as columns: every field any record has, ``None`` where a record lacks it."""
    values = [r.values if isinstance(r, RawRecord) else r for r in records]
    names = list(dict.fromkeys(name for v in values for name in v))
    return {name: [v.get(name) for v in values] for name in names}


def _repeats(keys: Sequence[object], ranges: Sequence[tuple[int, int]]) -> tuple[list[list[str]], dict[int, int]]:
    """Per partition the keys first met in an earlier one; and each repeated record's first record of its key."""
    first: dict[str, int] = {}
    repeats: dict[int, int] = {}
    earlier: list[list[str]] = []
    for start, stop in ranges:
        needed: dict[str, None] = {}
        for i in range(start, stop):
            value = keys[i]
            code = None if value is None else str(value).strip()
            if not code:
                continue
            seen = first.setdefault(code, i)
            if seen != i:
                repeats[i] = seen
                if seen < start:
                    needed.setdefault(code)
        earlier.append(list(needed))
    return earlier, repeats


def grade_on_dask(
    policy: Policy | CompiledPolicy,
    records: Sequence[Mapping[str, object] | RawRecord],
    *,
    client: distributed.Client,
    npartitions: int | None = None,
    host: PluginHost | None = None,
) -> DaskGrades:
    """Grade ``records`` on the workers of ``client`` and bring back grades and totals only.

    The grades and totals are those :func:`fineco_rules.evaluate` gives; each partition travels as columns
    and is graded on its worker by :func:`fineco_rules.evaluate_columns`, so a worker sends back two small
    arrays, never results. Plugins are checked and the cohort fitted as by :func:`evaluate_on_dask`; the
    records stay on the driver for :meth:`DaskGrades.explain`.
    """
    compiled, spec, expected = _checked(policy, host, client)
    the_policy = compiled.policy
    cluster: Any = client  # distributed's Client methods are untyped
    import numpy as np

    records = list(records)
    columns = _as_columns(records)
    for name in (the_policy.unit.key, *the_policy.inputs):  # a field no record has is missing from every one
        columns.setdefault(name, [None] * len(records))
    threads = sum(cluster.nthreads().values())
    ranges = _split(len(records), npartitions if npartitions is not None else threads)
    key = the_policy.unit.key
    earlier, repeats = _repeats(columns[key], ranges)
    cohort = None
    if compiled.plan.needs_cohort and records:
        cohort = compiled.fit(
            [r if isinstance(r, RawRecord) else raw_from_mapping(r, i) for i, r in enumerate(records)]
        )
    if not records:
        empty = np.zeros(0, dtype=np.int8), np.zeros(0, dtype=np.int64)
        return DaskGrades(compiled, records, cohort, *empty, {})
    parts = [{name: column[start:stop] for name, column in columns.items()} for start, stop in ranges]
    part_futures = cluster.scatter(parts, hash=False)
    policy_future = cluster.scatter(the_policy, broadcast=True, hash=False)
    cohort_future = cluster.scatter(cohort, broadcast=True, hash=False)
    fingerprint = _fingerprint(the_policy)
    futures = [
        cluster.submit(_grade_part, part, before, policy_future, fingerprint, spec, expected, cohort_future, pure=False)
        for part, before in zip(part_futures, earlier, strict=True)
    ]
    try:
        done = cluster.gather(futures)
    finally:
        cluster.cancel([*futures, policy_future, cohort_future, *part_futures])
    codes = np.concatenate([c for c, _ in done])
    units = np.concatenate([u for _, u in done])
    return DaskGrades(compiled, records, cohort, codes, units, repeats)


# -- grades only, from CSV files read on the workers ----------------------------------------------------

#: Every character ``str.strip()`` removes: a key is trimmed on the workers exactly as the row path trims it.
_WHITESPACE: Final = "".join(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace())
#: The most bytes of CSV one partition holds when ``blocksize`` is not given.
_MAX_BLOCK: Final = 64 << 20
#: Keys written as at most this many digits without a leading zero travel as int64 (the same text, the same number).
_KEY_DIGITS: Final = 18


@attrs.frozen
class _Block:
    """A run of whole lines of a CSV file (bytes ``start`` to ``stop``), read on a worker under ``header``."""

    path: str
    start: int
    stop: int
    header: bytes
    encoding: str
    names: tuple[str, ...]


def _csv_blocks(paths: Sequence[Path], blocksize: int | None, threads: int) -> list[_Block]:
    """Cut each file into runs of whole lines of about ``blocksize`` bytes (by default one per worker thread)."""
    from fineco_rules.io._csv import SNIFF_BYTES, arrow_encoding

    sizes = [path.stat().st_size for path in paths]
    if blocksize is None:
        blocksize = min(_MAX_BLOCK, max(1, math.ceil(sum(sizes) / max(threads, 1))))
    blocks: list[_Block] = []
    for path, size in zip(paths, sizes, strict=True):
        encoding = arrow_encoding(str(path))
        with path.open("rb") as handle:
            head = handle.read(SNIFF_BYTES)
            handle.seek(0)
            header = handle.readline()
            # as read_csv_columns names the columns: the first line, split at commas
            text = head.decode("utf-8-sig" if encoding == "utf8" else encoding, errors="replace")
            names = tuple(name.strip() for name in text.splitlines()[0].split(",")) if text else ()
            start = len(header)
            while start < size:
                stop = start + blocksize
                if stop < size:
                    handle.seek(stop)
                    handle.readline()  # to the end of the line that holds byte ``stop``
                    stop = handle.tell()
                blocks.append(_Block(str(path), start, min(stop, size), header, encoding, names))
                start = stop
    return blocks


def _read_block(block: _Block) -> Any:
    """Run on a worker: the block's lines as an Arrow table of text cells, as ``read_csv_columns`` reads them."""
    import io

    import pyarrow as pa
    from pyarrow import csv

    with open(block.path, "rb") as handle:
        handle.seek(block.start)
        body = handle.read(block.stop - block.start)
    options = csv.ConvertOptions(
        column_types=dict.fromkeys(block.names, pa.string()), strings_can_be_null=True, null_values=[""]
    )
    return csv.read_csv(
        io.BytesIO(block.header + body),
        read_options=csv.ReadOptions(encoding=block.encoding, block_size=1 << 22),
        convert_options=options,
    )


def _run_keys(table: Any, key: str) -> tuple[Any, Any | None]:
    """A run's keys, read as the row path reads them (trimmed; a missing or blank one never repeats another).

    Either ``(codes, None)``: each row's key as int64, -1 where missing, when every key is digits without a
    leading zero (as county codes are; the same text gives the same number), found without a pass over distinct
    keys; or ``(keys, rows)``: the distinct keys (a list of str) with the run's first row holding each."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if key not in table.column_names or not table.num_rows:
        return np.zeros(0, dtype=np.int64), None
    column = table.column(key).cast(pa.string()).combine_chunks()
    plain = pc.and_(pc.ascii_is_decimal(column), pc.invert(pc.starts_with(column, "0")))
    plain = pc.and_(plain, pc.less_equal(pc.binary_length(column), _KEY_DIGITS))
    if pc.all(plain).as_py() is not False:  # every key digits (or none at all): numbers, one per row
        return pc.fill_null(column.cast(pa.int64()), -1).to_numpy(zero_copy_only=False), None
    cells = pc.utf8_trim(column, characters=_WHITESPACE)
    encoded = cells.dictionary_encode()  # the dictionary in the order the keys first appear
    index = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    before = np.maximum.accumulate(np.concatenate(([-1], index[:-1])))
    rows = np.flatnonzero(index > before)  # the row where each dictionary entry first appears, in order
    kept = pc.not_equal(encoded.dictionary, "").to_numpy(zero_copy_only=False)
    return encoded.dictionary.filter(pa.array(kept)).to_pylist(), rows[kept]


def _distinct(keys: Any, rows: Any | None) -> tuple[list[str], Any]:
    """A run's ``_run_keys`` as distinct keys (text) and the first row holding each."""
    import numpy as np

    if rows is not None:
        return keys, rows
    present = np.flatnonzero(keys >= 0)
    distinct, first = np.unique(keys[present], return_index=True)
    return [str(k) for k in distinct.tolist()], present[first]


def _repeated_rows(found: Sequence[tuple[Any, Any | None]]) -> list[Any]:
    """For each run (its ``_run_keys``), the rows holding a key that an earlier run has: repeats in one batch."""
    import numpy as np

    if all(rows is None for _, rows in found):
        top = max((int(keys.max()) for keys, _ in found if keys.size), default=-1)
        if top < 1 << 24:  # county codes and the like: one flag per possible key
            seen = np.zeros(top + 1, dtype=bool)
            out: list[Any] = []
            for keys, _ in found:
                if keys.size and int(keys.min()) >= 0:  # every row has a key: no copy of the present ones
                    out.append(np.flatnonzero(seen[keys]) if out else np.zeros(0, dtype=np.int64))
                    seen[keys] = True
                    continue
                present = np.flatnonzero(keys >= 0)
                out.append(present[seen[keys[present]]])
                seen[keys[present]] = True
            return out
    known: set[str] = set()
    out = []
    for keys, rows in (_distinct(*item) for item in found):
        out.append(rows[np.fromiter((k in known for k in keys), dtype=bool, count=len(keys))])
        known.update(keys)
    return out


def _narrow(values: Any) -> Any:
    """An int64 array as int32 when every value fits (half the bytes to send back), else as it is."""
    import numpy as np

    small = values.size and int(values.min()) >= -(1 << 31) and int(values.max()) < 1 << 31
    return values.astype(np.int32) if small else values


def _grade_run(
    run: Any,
    unit_key: str,
    blob: bytes,
    fingerprint: str,
    spec: _HostSpec,
    expected: _Inventory,
    cohort: Cohort | None,
    piece_rows: int = 65_536,
) -> list[tuple[Any, Any, Any, Any]]:
    """Run on a worker: read a run of CSV lines (a :class:`_Block`, or the table already read), grade it, and
    send back, for each piece of it in order, its grade codes (int8), total units (int64 or int32), and its
    keys (:func:`_run_keys`).

    The run is graded as a batch of its own; the driver then marks the keys an earlier run has as repeats
    (not graded, total 0), as one batch has them. Locations are not sent back, so none are given here."""
    from fineco_rules.engine._columnar import evaluate_columns

    compiled = _worker_compiled_blob(fingerprint, blob, spec)
    found = _inventory(compiled.host, expected)
    if found != expected:  # a worker that joined after the driver's check, with other plugins
        address = distributed.get_worker().address
        raise PluginError(_mismatch_problems(compiled.policy, expected, {address: found}))
    table = _read_block(run) if isinstance(run, _Block) else run
    parts = []
    # Graded in pieces of piece_rows, as read_csv_columns streams a file: a piece's columns stay in the
    # processor's cache, and the worker spent a third more time on a run of 500,000 rows graded at once. Each
    # piece is a run of its own for the repeat check, so the codes and totals are those of one batch.
    for start in range(0, table.num_rows, piece_rows):
        piece = table.slice(start, piece_rows).combine_chunks()
        graded = evaluate_columns(compiled, piece, cohort=cohort)
        keys, rows = _run_keys(piece, unit_key)
        parts.append((graded.grade_codes, _narrow(graded.total_units), _narrow(keys) if rows is None else keys, rows))
    return parts


def _table_raws(table: Any, source: str, first_line: int, fields: Sequence[str] | None = None) -> list[RawRecord]:
    """A block's rows as raw records located as ``evaluate_columns`` locates them (``fields`` only, if given)."""
    names = [name for name in table.column_names if fields is None or name in fields]
    rows = table.select(names).to_pylist()
    return [
        RawRecord(row, Location(source, first_line + i, path=tr("row {n}", n=first_line - 1 + i)))
        for i, row in enumerate(rows)
    ]


@final
class _CsvRecords(Sequence[RawRecord]):
    """The records of CSV blocks, read on the driver only when asked for (one block kept at a time)."""

    def __init__(self, blocks: Sequence[_Block], starts: Sequence[int], lines: Sequence[int], total: int) -> None:
        self._blocks = blocks
        self._starts = starts
        self._lines = lines
        self._total = total
        self._cached: tuple[int, list[RawRecord]] | None = None

    def __len__(self) -> int:
        return self._total

    def block(self, b: int) -> list[RawRecord]:
        if self._cached is None or self._cached[0] != b:
            block = self._blocks[b]
            self._cached = (b, _table_raws(_read_block(block), block.path, self._lines[b]))
        return self._cached[1]

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self._total))]
        if not 0 <= i < self._total:
            raise IndexError(i)
        b = bisect.bisect_right(self._starts, i) - 1
        return self.block(b)[i - self._starts[b]]


@final
class _CsvFirst(Mapping[int, int]):
    """Each repeated record's first record of its key, found on the driver the first time one is asked for."""

    def __init__(self, records: _CsvRecords, key: str, blocks: int) -> None:
        self._records = records
        self._key = key
        self._blocks = blocks
        self._repeats: dict[int, int] | None = None

    def _find(self) -> dict[int, int]:
        if self._repeats is None:
            first: dict[str, int] = {}
            self._repeats = {}
            i = 0
            for b in range(self._blocks):
                for raw in self._records.block(b):
                    value = raw.values.get(self._key)
                    code = None if value is None else str(value).strip()
                    if code:
                        seen = first.setdefault(code, i)
                        if seen != i:
                            self._repeats[i] = seen
                    i += 1
        return self._repeats

    def __getitem__(self, i: int) -> int:
        return self._find()[i]

    def __iter__(self) -> Iterator[int]:
        return iter(self._find())

    def __len__(self) -> int:
        return len(self._find())


def grade_csv_on_dask(
    policy: Policy | CompiledPolicy,
    paths: str | Path | Sequence[str | Path],
    *,
    client: distributed.Client,
    blocksize: int | None = None,
    host: PluginHost | None = None,
    piece_rows: int = 65_536,
) -> DaskGrades:
    """Grade CSV files on the workers of ``client``: each worker reads its own runs of lines and grades them.

    ``paths`` (one file, a glob pattern, or several files: one batch, in that order) are cut into runs of
    whole lines of about ``blocksize`` bytes (by default the data divided by the worker threads, at most
    64 MiB). A worker reads its run with pyarrow as :func:`fineco_rules.engine.read_csv_columns` reads a file
    (text cells, an empty cell missing) and grades it with :func:`fineco_rules.evaluate_columns`, ``piece_rows``
    rows at a time (as ``read_csv_columns`` streams a file); only the grade codes, totals and keys (for repeats
    across runs) come back. The
    grades and totals equal those of ``evaluate_columns`` on all the files' rows as one batch. A cell must not
    hold a line break (a run is cut at any newline). A policy that needs a cohort brings the records' key,
    city and inputs to the driver to fit it, as :func:`evaluate_on_dask` does for a Dask DataFrame.
    """
    import numpy as np

    if piece_rows < 1:
        raise UsageError(tr("piece_rows must be at least 1, not {count}", count=piece_rows))
    files = _csv_paths(paths)
    compiled, spec, expected = _checked(policy, host, client)
    the_policy = compiled.policy
    cluster: Any = client  # distributed's Client methods are untyped
    blocks = _csv_blocks(files, blocksize, sum(cluster.nthreads().values()))
    key = the_policy.unit.key
    blob = pickle.dumps(the_policy)
    fingerprint = hashlib.sha256(blob).hexdigest()
    job = {"unit_key": key, "blob": blob, "fingerprint": fingerprint, "spec": spec, "expected": expected}
    job["piece_rows"] = piece_rows
    if compiled.plan.needs_cohort:
        done, counts, cohort = _graded_with_cohort(client, compiled, blocks, job)
    else:  # one task per run: read, grade, keys; one gather
        cohort = None
        done = _gathered_runs(client, blocks, job, None)
        counts = [sum(len(codes) for codes, *_ in parts) for parts in done]
    starts = [sum(counts[:b]) for b in range(len(counts))]
    lines = _first_lines(blocks, counts)
    records = _CsvRecords(blocks, starts, lines, sum(counts))
    pieces = [piece for parts in done for piece in parts]  # every run's pieces, in order
    codes = np.concatenate([c for c, *_ in pieces]) if pieces else np.zeros(0, dtype=np.int8)
    units = np.concatenate([u for _, u, *_ in pieces]).astype(np.int64) if pieces else np.zeros(0, dtype=np.int64)
    begins = np.cumsum([0, *(len(c) for c, *_ in pieces)])
    for start, rows in zip(begins, _repeated_rows([(k, r) for *_, k, r in pieces]), strict=False):
        codes[start + rows], units[start + rows] = -1, 0  # a key an earlier piece has: a repeat, never graded
    return DaskGrades(compiled, records, cohort, codes, units, _CsvFirst(records, key, len(blocks)))


def _first_lines(blocks: Sequence[_Block], counts: Sequence[int]) -> list[int]:
    """The file line of each run's first record, given each run's record count."""
    lines: list[int] = []
    line: dict[str, int] = {}
    for block, count in zip(blocks, counts, strict=True):
        lines.append(line.get(block.path, 2))
        line[block.path] = lines[-1] + count
    return lines


def _graded_with_cohort(
    client: distributed.Client,
    compiled: CompiledPolicy,
    blocks: Sequence[_Block],
    job: Mapping[str, Any],
) -> tuple[list[Any], list[int], Cohort | None]:
    """Runs of a policy that needs a cohort: read and kept on the workers, the cohort fitted on the driver from
    the key, city, parents and inputs of every record, then graded against it (see :func:`_grade_run`)."""
    the_policy = compiled.policy
    cluster: Any = client  # distributed's Client methods are untyped
    tables = client.map(_read_block, blocks, pure=False)
    try:
        counts: list[int] = cluster.gather(client.map(_length, tables, ["table"] * len(blocks), pure=False))
        fields = (the_policy.unit.key, "city", *the_policy.unit.parents.values(), *the_policy.inputs)
        lines = _first_lines(blocks, counts)
        projected = cluster.gather(
            client.map(_table_raws, tables, [b.path for b in blocks], lines, [fields] * len(blocks), pure=False)
        )
        raws = [raw for part in projected for raw in part]
        cohort = compiled.fit(raws) if raws else None
        cohort_future = cluster.scatter(cohort, broadcast=True, hash=False)
        done = _gathered_runs(client, tables, job, cohort_future)
    finally:
        cluster.cancel(tables)
    return done, counts, cohort


def _gathered_runs(client: distributed.Client, runs: Sequence[Any], job: Mapping[str, Any], cohort: Any) -> list[Any]:
    """:func:`_grade_run` of each run (a block, or a table future) on the workers, gathered in order; the tasks,
    and the cohort's future if one is given, are cancelled after."""
    cluster: Any = client  # distributed's Client methods are untyped
    futures = client.map(_grade_run, runs, **job, cohort=cohort, pure=False)
    try:
        return list(cluster.gather(futures))
    finally:
        cluster.cancel([*futures, *([cohort] if cohort is not None else [])])


def _csv_paths(paths: str | Path | Sequence[str | Path]) -> list[Path]:
    """The files to read, in order: a glob pattern is expanded (sorted); a missing file is refused."""
    import glob

    given = [paths] if isinstance(paths, str | Path) else list(paths)
    files: list[Path] = []
    for item in given:
        text = str(item)
        matches = sorted(glob.glob(text)) if glob.has_magic(text) else [text]
        if not matches or not all(Path(m).is_file() for m in matches):
            raise DataFileError(
                Problem(
                    tr("the record file does not exist"),
                    Location(text),
                    tr("check the path"),
                    Code.NOT_FOUND,
                )
            )
        files.extend(Path(m) for m in matches)
    return files
