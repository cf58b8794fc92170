"""Finding policy files: versions in a folder, ``extends`` chains, and merging them."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import yaml

from fineco_rules.errors import Code, Lang, Location, Msg, PolicyError, Problem, tr
from fineco_rules.io._limits import MAX_EXTENDS, MAX_EXTENDS_ENV, how_to_raise, limit, quoted
from fineco_rules.io._yaml import DocPath, Document, load_document, parse_yaml
from fineco_rules.policy._constraints import check_child
from fineco_rules.policy._model import Policy
from fineco_rules.policy._schema import schema_problems
from fineco_rules.scoring._host import PluginHost, default_plugin_host

__all__ = ["load_policy", "policy_files"]

_SUFFIXES = (".yaml", ".yml")
#: Set to a folder to let `extends` reach parents anywhere inside it (default: see policy_root).
ROOT_ENV = "FINECO_POLICY_ROOT"
_ABSOLUTE = re.compile(r"^(?:[/\\~]|[A-Za-z]:)")


def policy_root(file: Path) -> Path:
    """The folder every parent that ``file`` extends must lie in.

    ``$FINECO_POLICY_ROOT`` if set; else the nearest folder named ``policies`` that holds the file
    (the shipped layout: ``policies/jiangsu``, ``policies/cities/suzhou``); else the file's own folder.
    """
    if os.environ.get(ROOT_ENV):
        return Path(os.environ[ROOT_ENV]).resolve()
    folder = file.resolve().parent
    return next((f for f in (folder, *folder.parents) if f.name == "policies"), folder)


def policy_files(folder: Path) -> list[Path]:
    """The policy files in ``folder``: YAML files, not test-case files (``*.cases.yaml``)."""
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix in _SUFFIXES and not p.name.endswith((".cases.yaml", ".cases.yml"))
    )


def load_policy(
    path: str | os.PathLike[str] | None = None,
    *,
    text: str | None = None,
    mapping: Mapping[str, Any] | None = None,
    source: str | None = None,
    as_of: dt.date | None = None,
    host: PluginHost | None = None,
) -> Policy:
    """Load, merge and check a policy file, or pick the version in effect from a folder.

    Give exactly one of ``path``, ``text`` (the YAML of a policy) or ``mapping`` (its data, as
    ``yaml.safe_load`` would give it; Decimals and dates are kept). ``source`` names the text or mapping
    in problems (default ``<text>`` / ``<mapping>``), and the parent an ``extends`` names is looked up
    from its folder (the current folder by default), as for a file of that name.

    Raises :class:`PolicyError` listing every problem found, each with its file, line, column and path
    inside the document (for a mapping, the line in it written as YAML, keys in their order).
    """
    if sum(given is not None for given in (path, text, mapping)) != 1:
        raise TypeError("load_policy() takes exactly one of path, text= or mapping=")
    host = host if host is not None else default_plugin_host()
    if path is None:
        name = source or ("<text>" if text is not None else "<mapping>")
        written = text if text is not None else _as_yaml(name, mapping or {})
        doc, owners, chain = _resolve(Path(name), (), _parsed(name, written))
    else:
        target = Path(path)
        if target.is_dir():
            target = _pick_version(target, as_of)
        elif not target.exists():
            raise PolicyError(
                Problem(tr("no such policy file or folder"), Location(str(path)), tr("check the path"), Code.NOT_FOUND)
            )
        doc, owners, chain = _resolve(target, ())
    problems = schema_problems(doc)
    if problems:
        raise PolicyError(problems)
    policy = attrs.evolve(Policy.from_document(doc, owners, host), chain=chain)
    if len(chain) > 1:
        # The constraints a parent declares bind every child with another id (a city's policy).
        parent = load_policy(chain[1][2], host=host)
        breaches = check_child(policy, parent)
        if breaches:
            raise PolicyError(breaches)
    if as_of is not None and not policy.in_effect(as_of):
        until = policy.effective_until or _OPEN
        raise PolicyError(
            Problem(
                tr(
                    "policy {id} {version} is in effect from {effective_from} to {until}, not on {as_of}",
                    id=policy.id,
                    version=policy.version,
                    effective_from=policy.effective_from,
                    until=until,
                    as_of=as_of,
                ),
                doc.location(("effective_from",)),
                tr("leave out the date, or give the folder of versions so the right one is picked"),
                Code.NOT_IN_EFFECT,
            )
        )
    return policy


def _header(doc: Document) -> tuple[str, str] | None:
    data = doc.data
    if isinstance(data, dict) and "id" in data and "version" in data:
        return str(data["id"]), str(data["version"])
    return None


def _period(doc: Document) -> tuple[dt.date, dt.date | None] | None:
    data = doc.data
    if not isinstance(data, dict):
        return None  # not a policy at all: the schema says so when the file is loaded
    try:
        start = dt.date.fromisoformat(str(data["effective_from"]))
        until = data.get("effective_until")
        return start, None if until is None else dt.date.fromisoformat(str(until))
    except (KeyError, ValueError):
        return None


def _pick_version(folder: Path, as_of: dt.date | None) -> Path:
    files = policy_files(folder)
    if not files:
        raise PolicyError(
            Problem(
                tr("the folder holds no policy files (*.yaml)"),
                Location(str(folder)),
                tr("give a policy file or a folder of its versions"),
                Code.NOT_FOUND,
            )
        )
    docs = [load_document(f) for f in files]
    problems: list[Problem] = []
    ids = {h[0] for d in docs if (h := _header(d))}
    if len(ids) > 1:
        raise PolicyError(
            Problem(
                tr("the folder holds more than one policy ({names})", names=", ".join(sorted(ids))),
                Location(str(folder)),
                tr("keep the versions of one policy per folder, or name the file"),
                Code.MIXED_FOLDER,
            )
        )
    periods: list[tuple[dt.date, dt.date | None, Document]] = []
    for doc in docs:
        period = _period(doc)
        if period is None:
            problems.extend(
                schema_problems(doc, partial=True)
                or [
                    Problem(
                        tr("no valid effective period"),
                        doc.location(("effective_from",)),
                        tr("add effective_from"),
                        Code.BAD_PERIOD,
                    )
                ]
            )
            continue
        periods.append((*period, doc))
    periods.sort(key=lambda p: p[0])
    for (start_a, until_a, doc_a), (start_b, _, doc_b) in itertools.pairwise(periods):
        if until_a is None or until_a >= start_b:
            problems.append(
                Problem(
                    tr(
                        "effective periods overlap: this version runs {start_a} to {value}, and {file} starts "
                        "{start_b}",
                        start_a=start_a,
                        value=until_a or _OPEN,
                        file=doc_b.file,
                        start_b=start_b,
                    ),
                    doc_a.location(("effective_until",) if until_a else ("effective_from",)),
                    tr("end this version before {start_b}", start_b=start_b),
                    Code.OVERLAPPING_VERSIONS,
                )
            )
    if problems:
        raise PolicyError(problems)
    if as_of is None:
        if len(periods) == 1:
            return Path(periods[0][2].file)
        listing = _Listing(
            [tr("{file}: {start} to {until}", file=Path(d.file).name, start=s, until=u or _OPEN) for s, u, d in periods]
        )
        raise PolicyError(
            Problem(
                tr("the folder holds {count} versions ({listing})", count=len(periods), listing=listing),
                Location(str(folder)),
                tr("say which applies with --as-of YYYY-MM-DD (as_of= in Python)"),
                Code.AMBIGUOUS_VERSION,
            )
        )
    for start, until, doc in periods:
        if start <= as_of and (until is None or as_of <= until):
            return Path(doc.file)
    raise PolicyError(
        Problem(
            tr("no version in the folder is in effect on {as_of}", as_of=as_of),
            Location(str(folder)),
            tr(
                "pick another date; in effect: {names}",
                names=_Listing([tr("{start} to {until}", start=s, until=u or _OPEN) for s, u, _ in periods]),
            ),
            Code.NO_VERSION,
        )
    )


def _tidy(path: Path) -> Path:
    """``wuxi/../../jiangsu`` written as ``jiangsu``, when that names the same place (no link on the way)."""
    tidy = Path(os.path.normpath(path))
    return tidy if tidy.resolve() == path.resolve() else path


_OPEN = tr("open-ended")


class _Listing:
    """Items separated by ``; `` in English and ``；`` in Chinese."""

    __slots__ = ("items",)

    def __init__(self, items: list[Msg]) -> None:
        self.items = items

    def render(self, lang: Lang) -> str:
        return ("；" if lang == "zh" else "; ").join(item.render(lang) for item in self.items)

    def __str__(self) -> str:
        return self.render("en")


def _parsed(name: str, text: str) -> Document:
    """A policy's YAML text, parsed; empty text is refused as an empty file is."""
    doc = parse_yaml(name, text)
    if doc.data is None:
        raise PolicyError(
            Problem(
                tr("the text holds no policy (it is empty)"),
                Location(name, 1, 1),
                tr("a policy is one mapping starting with `id:`"),
                Code.EMPTY,
            )
        )
    return doc


class _Dumper(yaml.SafeDumper):
    """Writes a policy mapping as YAML: Decimals as the numbers they are, keys in their order."""


_Dumper.add_representer(Decimal, lambda dumper, value: dumper.represent_scalar("tag:yaml.org,2002:float", str(value)))


def _plain(node: object) -> object:
    if isinstance(node, Mapping):
        return {key: _plain(value) for key, value in node.items()}
    if isinstance(node, list | tuple):
        return [_plain(value) for value in node]
    return node


def _as_yaml(name: str, mapping: Mapping[str, Any]) -> str:
    """``mapping`` as YAML text, which is then parsed as any policy is (so it is checked the same way)."""
    try:
        return yaml.dump(_plain(mapping), Dumper=_Dumper, allow_unicode=True, sort_keys=False)
    except yaml.YAMLError as exc:
        raise PolicyError(
            Problem(
                tr("the mapping holds a value a policy cannot: {exc}", exc=quoted(exc)),
                Location(name),
                tr("use only mappings, lists, text, numbers (int, float, Decimal), true/false and dates"),
                Code.WRONG_TYPE,
            )
        ) from None


def _resolve(
    file: Path, seen: tuple[tuple[str, str, str], ...], doc: Document | None = None
) -> tuple[Document, dict[DocPath, tuple[str, str]], tuple[tuple[str, str, str], ...]]:
    """Load ``file`` (or take its parsed ``doc``) and every parent it extends; the merged document and who set what."""
    doc = load_document(file) if doc is None else doc
    if not isinstance(doc.data, dict):
        raise PolicyError(
            Problem(
                tr("a policy is a mapping of keys (id:, version:, …)"),
                doc.location(()),
                tr("start the file with `id: ...`"),
                Code.NOT_A_MAPPING,
            )
        )
    data: dict[str, Any] = doc.data
    extends = data.get("extends")
    # In a child, `key: null` removes what the parent set there; the rest must fit the schema.
    checked = attrs.evolve(doc, data=_without_nulls(data)) if extends is not None else doc
    problems = schema_problems(checked, partial=extends is not None)
    if problems:
        raise PolicyError(problems)
    me = (str(data["id"]), str(data["version"]), str(file))
    owners = dict.fromkeys(doc.values, me[:2])
    if any(s[:2] == me[:2] for s in seen):
        cycle = " -> ".join(f"{i} {v}" for i, v, _ in (*seen, me))
        raise PolicyError(
            Problem(
                tr("`extends` goes round in a circle: {cycle}", cycle=cycle),
                doc.location(("extends",)),
                tr("a policy cannot extend itself or its own children"),
                Code.EXTENDS_CYCLE,
            )
        )
    if extends is None:
        return doc, owners, (me,)
    _check_chain_length(doc, (*seen, me))
    parent_file = _find_parent(doc, file, extends, Path(seen[0][2]) if seen else file)
    parent, parent_owners, chain = _resolve(parent_file, (*seen, me))
    merged = _merge(parent, parent_owners, doc, owners)
    return (*merged, (me, *chain))


def _check_chain_length(doc: Document, chain: tuple[tuple[str, str, str], ...]) -> None:
    """Refuse an `extends` chain longer than the limit before its next parent is read."""
    allowed = limit(MAX_EXTENDS_ENV, MAX_EXTENDS)
    if len(chain) >= allowed:
        shown = " -> ".join(f"{i} {v}" for i, v, _ in chain[:3])
        raise PolicyError(
            Problem(
                tr(
                    "the `extends` chain is longer than {allowed} policies ({shown} -> …)", allowed=allowed, shown=shown
                ),
                doc.location(("extends",)),
                tr(
                    "extend the province's policy directly rather than through a long line of parents; {value}",
                    value=how_to_raise(MAX_EXTENDS_ENV, allowed),
                ),
                Code.EXTENDS_TOO_DEEP,
            )
        )


def _find_parent(doc: Document, file: Path, extends: Mapping[str, Any], first: Path) -> Path:
    want = (str(extends["id"]), str(extends["version"]))
    if _header(doc) == want:
        raise PolicyError(
            Problem(
                tr("policy {want} {want2} extends itself", want=want[0], want2=want[1]),
                doc.location(("extends",)),
                tr("give the id and version of the parent policy under `extends`"),
                Code.EXTENDS_CYCLE,
            )
        )
    if "path" in extends and _ABSOLUTE.match(str(extends["path"])):
        raise PolicyError(
            Problem(
                tr("`extends.path` {extends!r} is an absolute path", extends=extends["path"]),
                doc.location(("extends", "path")),
                tr("write the parent's place relative to this file, e.g. ../../jiangsu"),
                Code.PATH_OUTSIDE,
            )
        )
    where = _tidy(file.parent / extends["path"]) if "path" in extends else file.parent
    root = policy_root(first)
    if not where.resolve().is_relative_to(root):
        raise PolicyError(
            Problem(
                tr(
                    "`extends.path` {extends!r} leads to {value}, outside the policy folder {root}",
                    extends=extends["path"],
                    value=where.resolve(),
                    root=root,
                ),
                doc.location(("extends", "path")),
                tr(
                    "keep parent policies inside {root}, or set {ROOT_ENV} to a folder that holds both",
                    root=root,
                    ROOT_ENV=ROOT_ENV,
                ),
                Code.PATH_OUTSIDE,
            )
        )
    candidates = [where] if where.is_file() else policy_files(where) if where.is_dir() else []
    found = []
    for candidate in candidates:
        if candidate.resolve() == file.resolve():
            continue
        header = _header(load_document(candidate))
        if header == want:
            found.append(candidate)
        elif where.is_file():
            raise PolicyError(
                Problem(
                    tr(
                        "{candidate} is {value}, not {want} {want2}",
                        candidate=candidate,
                        value=header[0] + " " + header[1] if header else "not a policy",
                        want=want[0],
                        want2=want[1],
                    ),
                    doc.location(("extends",)),
                    tr("fix the id, version or path"),
                    Code.BAD_PARENT,
                )
            )
    if not found:
        raise PolicyError(
            Problem(
                tr(
                    "the parent policy {want} {want2} was not found in {where}",
                    want=want[0],
                    want2=want[1],
                    where=where,
                ),
                doc.location(("extends",)),
                tr("check the id and version, or add `path:` pointing at the parent's file or folder"),
                Code.PARENT_NOT_FOUND,
            )
        )
    if len(found) > 1:
        raise PolicyError(
            Problem(
                tr(
                    "{count} files in {where} are {want} {want2}",
                    count=len(found),
                    where=where,
                    want=want[0],
                    want2=want[1],
                ),
                doc.location(("extends",)),
                tr("keep one file per version"),
                Code.DUPLICATE_VERSION,
            )
        )
    if not found[0].resolve().is_relative_to(root):  # a link inside the folder to a file outside it
        raise PolicyError(
            Problem(
                tr(
                    "the parent policy {found} is a link to {value}, outside the policy folder {root}",
                    found=found[0],
                    value=found[0].resolve(),
                    root=root,
                ),
                doc.location(("extends",)),
                tr(
                    "copy the parent into {root} instead of linking it, or set {ROOT_ENV} to a folder that holds both",
                    root=root,
                    ROOT_ENV=ROOT_ENV,
                ),
                Code.PATH_OUTSIDE,
            )
        )
    return found[0]


_OWN = ("id", "version", "label", "description", "effective_from", "effective_until", "extends")


def _merge(
    parent: Document,
    parent_owners: Mapping[DocPath, tuple[str, str]],
    child: Document,
    child_owners: Mapping[DocPath, tuple[str, str]],
) -> tuple[Document, dict[DocPath, tuple[str, str]]]:
    """The child over its parent: mappings merge key by key, anything else is replaced."""
    assert isinstance(parent.data, dict) and isinstance(child.data, dict)  # noqa: S101  # both passed the schema
    base = {k: v for k, v in parent.data.items() if k not in _OWN}
    values = {p: v for p, v in parent.values.items() if not (p and p[0] in _OWN)}
    keys = {p: v for p, v in parent.keys.items() if not (p and p[0] in _OWN)}
    owners = {p: v for p, v in parent_owners.items() if not (p and p[0] in _OWN)}
    replaced = [p for p in _leaf_paths(child.data, ()) if p]
    # An indicator that switches scorer takes its params whole: the old scorer's keys mean nothing to the new.
    for name, spec in child.data.get("indicators", {}).items():
        parent_spec = base.get("indicators", {}).get(name)
        switched = isinstance(spec, dict) and isinstance(parent_spec, dict) and "scorer" in spec
        if switched and spec["scorer"] != parent_spec.get("scorer"):
            base["indicators"] = {
                **base["indicators"],
                name: {k: v for k, v in parent_spec.items() if k not in ("params", "scorer_version")},
            }
            replaced.append(("indicators", name, "params"))

    def stale(path: DocPath) -> bool:
        return any(path[: len(r)] == r and len(path) > len(r) for r in replaced)

    for table in (values, keys, owners):
        for path in [p for p in table if stale(p)]:
            del table[path]
    values.update(child.values)
    keys.update(child.keys)
    owners.update(child_owners)
    for path in _null_paths(child.data, ()):
        for table in (values, keys, owners):
            table.pop(path, None)
    data = _deep_merge(base, child.data)
    return Document(child.file, data, values, keys), owners


def _null_paths(node: object, path: DocPath) -> Iterable[DocPath]:
    if isinstance(node, dict):
        for key, value in node.items():
            if value is None:
                yield (*path, key)
            else:
                yield from _null_paths(value, (*path, key))


def _without_nulls(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_nulls(v) for k, v in node.items() if v is not None}
    return node


def _leaf_paths(node: object, path: DocPath) -> Iterable[DocPath]:
    """Paths whose value the child replaces whole (anything that is not a mapping)."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaf_paths(value, (*path, key))
    else:
        yield path


def _deep_merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out
